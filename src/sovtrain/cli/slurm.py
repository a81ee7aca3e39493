"""`sovtrain slurm render|submit|status`: recipes become sbatch jobs on a cluster profile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from sovtrain.cli.options import RecipeArg, SetOpt, SlurmClusterOpt
from sovtrain.core.errors import SovtrainError

if TYPE_CHECKING:
    from sovtrain.slurm.render import JobSpec

slurm_app = typer.Typer(help="Render, submit and watch Slurm jobs.", no_args_is_help=True)
out = Console()

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


def _spec(
    recipe: Path,
    cluster: str,
    nodes: int,
    set_: list[str] | None,
    time_: str | None,
    dependency: str | None,
    sweep: list[str] | None,
    template: str | None,
) -> JobSpec:
    from sovtrain.slurm.render import JobSpec

    return JobSpec(recipe, cluster, list(set_ or []), nodes, time_, dependency,
                   list(sweep or []), template, {})  # fmt: skip


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
    from sovtrain.slurm.jobs import submit, tag_run

    job = submit(_spec(recipe, cluster, nodes, set_, time_, dependency, sweep, template))
    # plain echo, not rich: scripts parse these lines, and rich would wrap long URLs
    typer.echo(f"submitted job {job.job_id} ({job.rendered.tasks} task(s)) from {job.script}")
    if job.run is not None:
        tag_run(job)
        typer.echo(f"MLflow run: {job.run['link']}")


@slurm_app.command("status")
def slurm_status(job_id: Annotated[str, typer.Argument(help="Slurm job id.")]) -> None:
    """Job state from Slurm, and the last logged step and throughput from MLflow."""
    from sovtrain.slurm.jobs import job_info, last_metrics, read_record

    info = job_info(job_id)
    typer.echo(
        f"job {job_id}: {info.get('JobState', '?')} (restarts {info.get('Restarts', '0')}), "
        f"nodes {info.get('NodeList', '?')}, run time {info.get('RunTime', '?')}"
    )
    record = read_record(job_id)
    if record is None:
        typer.echo("no submit record (submitted outside `sovtrain slurm submit`)")
        return
    metrics = last_metrics(record) if record.get("run_id") else {}
    if not metrics:
        typer.echo("no metrics logged yet")
        return
    typer.echo(
        f"step {metrics['step']}: loss {metrics.get('loss', float('nan')):.4f}, "
        f"{metrics.get('tokens_per_s', 0):,.0f} tokens/s, MFU {100 * metrics.get('mfu', 0):.1f}%"
        f" | {record.get('link', '')}"
    )
