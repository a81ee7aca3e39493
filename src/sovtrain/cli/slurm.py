"""`sovtrain slurm render|submit|status`: recipes become sbatch jobs on a cluster profile."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sovtrain.cli.options import RecipeArg, SetOpt, SlurmClusterOpt
from sovtrain.core.errors import SovtrainError

slurm_app = typer.Typer(help="Render, submit and watch Slurm jobs.", no_args_is_help=True)
out = Console()
JOBS_DIR = Path("slurm-logs") / "jobs"  # submit-side records: job id -> recipe, MLflow run

NodesOpt = Annotated[int, typer.Option(help="Nodes (tasks per node = GPUs per node).")]
TimeOpt = Annotated[str | None, typer.Option("--time", help="Wall time (default: profile).")]
DependencyOpt = Annotated[
    str | None, typer.Option(help="Start after other jobs, e.g. afterok:12345.")
]
SweepOpt = Annotated[
    list[str] | None,
    typer.Option(help="Job array over values: --sweep train.optimizer.lr=1e-4,3e-4."),
]
TemplateOpt = Annotated[
    str | None,
    typer.Option(
        help="pretrain or finetune (default: finetune when the recipe has a finetune section)."
    ),
]


def _spec(recipe, cluster, nodes, set_, time_, dependency, sweep, template, env=None):
    from sovtrain.slurm.render import JobSpec

    return JobSpec(recipe, cluster, list(set_ or []), nodes, time_, dependency,
                   list(sweep or []), template, dict(env or {}))  # fmt: skip


@slurm_app.command("render")
def slurm_render(
    recipe: RecipeArg,
    cluster: SlurmClusterOpt = "local-ci",
    nodes: NodesOpt = 1,
    set_: SetOpt = None,
    time_: TimeOpt = None,
    dependency: DependencyOpt = None,
    sweep: SweepOpt = None,
    template: TemplateOpt = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
) -> None:
    """Print (or write) the sbatch script for RECIPE on CLUSTER, for review."""
    from sovtrain.slurm.render import render

    rendered = render(_spec(recipe, cluster, nodes, set_, time_, dependency, sweep, template))
    if output is None:
        typer.echo(rendered.script, nl=False)
        return
    try:
        output.write_text(rendered.script)
    except OSError as err:
        raise SovtrainError(f"-o {output}: cannot write the script: {err.strerror}") from None
    out.print(f"wrote {output}", highlight=False)
    _ensure_log_dir(rendered.log_dir)


def _ensure_log_dir(log_dir: Path) -> None:
    """Create the directory of the script's #SBATCH --output/--error files: Slurm does not,
    and a job whose output file cannot be opened fails before running a line. Rendering is
    also for review on machines without that path (a laptop): then say what to create."""
    if log_dir.is_dir():
        return
    try:
        log_dir.mkdir(parents=True)
    except OSError as err:
        out.print(f"note: could not create the log directory {log_dir} ({err.strerror}): "
                  "create it on the cluster before `sbatch`", highlight=False)  # fmt: skip
        return
    out.print(f"created the log directory {log_dir} (sbatch does not)", highlight=False)


@slurm_app.command("submit")
def slurm_submit(
    recipe: RecipeArg,
    cluster: SlurmClusterOpt = "local-ci",
    nodes: NodesOpt = 1,
    set_: SetOpt = None,
    time_: TimeOpt = None,
    dependency: DependencyOpt = None,
    sweep: SweepOpt = None,
    template: TemplateOpt = None,
) -> None:
    """Check residency, render, and sbatch; print the job id and the MLflow run.

    The MLflow run is created now (state SCHEDULED) and handed to the job, so the link works
    before the job starts and every requeue of the job continues the same run.
    """
    from sovtrain.governance.admission import enforce
    from sovtrain.slurm.render import render

    spec = _spec(recipe, cluster, nodes, set_, time_, dependency, sweep, template)
    rendered = render(spec)  # validates recipe, profile and every option first
    enforce(rendered.loaded.recipe, cluster, rendered.loaded.recipe.run.name, install=False)
    run = _scheduled_run(rendered) if rendered.tasks == 1 else None
    if run is not None:
        spec.extra_env["SOVTRAIN_MLFLOW_RUN_ID"] = run["run_id"]
        rendered = render(spec)
    rendered.log_dir.mkdir(parents=True, exist_ok=True)  # sbatch will not create it
    script = (
        rendered.log_dir
        / f"{rendered.loaded.recipe.run.name}-{time.strftime('%Y%m%d-%H%M%S')}.sbatch"
    )
    script.write_text(rendered.script)
    job_id = _sbatch(script)
    _record(job_id, rendered, script, run)
    # plain echo, not rich: scripts parse these lines, and rich would wrap long URLs
    typer.echo(f"submitted job {job_id} ({rendered.tasks} task(s)) from {script}")
    if run is not None:
        _tag_run(run, job_id, rendered.script)
        typer.echo(f"MLflow run: {run['link']}")


def _sbatch(script: Path) -> str:
    try:
        result = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True,
                                text=True, timeout=60)  # fmt: skip
    except FileNotFoundError:
        raise SovtrainError("sbatch not found: run this on a Slurm login node") from None
    if result.returncode != 0:
        raise SovtrainError(f"sbatch failed: {result.stderr.strip()}")
    return result.stdout.strip().split(";")[0]


def _tracking_uri(rendered) -> str:
    from sovtrain.tracking import run_tracking_uri

    return run_tracking_uri(rendered.loaded.recipe)


def _scheduled_run(rendered) -> dict[str, str] | None:
    """Create the job's MLflow run up front (None when tracking is off)."""
    recipe = rendered.loaded.recipe
    if not recipe.tracking.enabled:
        return None
    from mlflow.tracking import MlflowClient

    uri = _tracking_uri(rendered)
    client = MlflowClient(tracking_uri=uri)
    existing = _checkpointed_run_id(recipe.run.output_uri)
    if existing is not None:  # a resubmission continues the run its checkpoints belong to
        run = client.get_run(existing)
        eid = run.info.experiment_id
    else:
        experiment = client.get_experiment_by_name(recipe.tracking.experiment)
        eid = experiment.experiment_id if experiment else client.create_experiment(
            recipe.tracking.experiment
        )  # fmt: skip
        run = client.create_run(eid, run_name=recipe.run.name)
        client.update_run(run.info.run_id, status="SCHEDULED")
    base = uri if uri.startswith("http") else f"mlflow ui --backend-store-uri {uri}"
    link = f"{base}/#/experiments/{eid}/runs/{run.info.run_id}"
    return {"run_id": run.info.run_id, "tracking_uri": uri, "link": link}


def _checkpointed_run_id(output_uri: str) -> str | None:
    from sovtrain.train.checkpoint import CheckpointStore, checkpoints_root

    try:
        state = CheckpointStore(checkpoints_root(output_uri), 0, 1).newest_state()
    except FileNotFoundError:
        return None
    return state.get("mlflow_run_id") if state else None


def _tag_run(run: dict[str, str], job_id: str, script: str) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=run["tracking_uri"])
    client.set_tag(run["run_id"], "slurm_job_id", job_id)
    client.log_text(run["run_id"], script, "slurm/job.sbatch")


def _record(job_id: str, rendered, script: Path, run: dict[str, str] | None) -> None:
    JOBS_DIR.mkdir(parents=True, exist_ok=True)
    record = {
        "job_id": job_id,
        "recipe": str(rendered.loaded.path.resolve()),
        "run_name": rendered.loaded.recipe.run.name,
        "cluster": rendered.profile.name,
        "script": str(script.resolve()),
        "output": str(rendered.log_dir / f"{rendered.loaded.recipe.run.name}-{job_id}.out"),
        **(run or {}),
    }
    (JOBS_DIR / f"{job_id}.json").write_text(json.dumps(record, indent=2))


@slurm_app.command("status")
def slurm_status(job_id: Annotated[str, typer.Argument(help="Slurm job id.")]) -> None:
    """Job state from Slurm, and the last logged step and throughput from MLflow."""
    from sovtrain.slurm.jobs import job_info, last_metrics

    info = job_info(job_id)
    typer.echo(
        f"job {job_id}: {info.get('JobState', '?')} (restarts {info.get('Restarts', '0')}), "
        f"nodes {info.get('NodeList', '?')}, run time {info.get('RunTime', '?')}"
    )
    record_path = JOBS_DIR / f"{job_id}.json"
    if not record_path.is_file():
        typer.echo("no submit record (submitted outside `sovtrain slurm submit`)")
        return
    record = json.loads(record_path.read_text())
    metrics = last_metrics(record) if record.get("run_id") else {}
    if not metrics:
        typer.echo("no metrics logged yet")
        return
    typer.echo(
        f"step {metrics['step']}: loss {metrics.get('loss', float('nan')):.4f}, "
        f"{metrics.get('tokens_per_s', 0):,.0f} tokens/s, MFU {100 * metrics.get('mfu', 0):.1f}%"
        f" | {record.get('link', '')}"
    )
