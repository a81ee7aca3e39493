"""Submitting a rendered job and reading its state back: Slurm's view and MLflow's.

`sovtrain slurm submit|status` only parse arguments and print; what they do is here. The
MLflow run of a single-task job is created before `sbatch` (see `scheduled_run`), so its
link works while the job waits in the queue and every requeue continues the same run. A
submit record (`slurm-logs/jobs/<job id>.json`) ties the job id to the recipe and the run
for `slurm status`.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sovtrain.core.errors import SovtrainError

if TYPE_CHECKING:  # `slurm status` needs neither the renderer nor MLflow's run helpers
    from sovtrain.slurm.render import JobSpec, Rendered
    from sovtrain.tracking.runs import ScheduledRun

JOBS_DIR = Path("slurm-logs") / "jobs"  # submit-side records: job id -> recipe, MLflow run
STATUS_METRICS = ("loss", "tokens_per_s", "mfu")


@dataclass(frozen=True)
class Submitted:
    job_id: str
    rendered: Rendered
    script: Path
    run: ScheduledRun | None  # None: tracking off, or a job array (one run per task)


def submit(spec: JobSpec) -> Submitted:
    """Check residency, render, create the MLflow run, write the script and `sbatch` it."""
    from sovtrain.governance.admission import enforce
    from sovtrain.slurm.render import render

    rendered = render(spec)  # validates recipe, profile and every option first
    recipe = rendered.loaded.recipe
    enforce(recipe, spec.cluster, recipe.run.name, install=False)
    run = scheduled_run(recipe) if rendered.tasks == 1 else None
    if run is not None:
        spec.extra_env["SOVTRAIN_MLFLOW_RUN_ID"] = run["run_id"]
        rendered = render(spec)
    rendered.log_dir.mkdir(parents=True, exist_ok=True)  # sbatch will not create it
    script = rendered.log_dir / f"{recipe.run.name}-{time.strftime('%Y%m%d-%H%M%S')}.sbatch"
    script.write_text(rendered.script)
    job_id = sbatch(script)
    write_record(job_id, rendered, script, run)
    return Submitted(job_id, rendered, script, run)


def tag_run(submitted: Submitted) -> None:
    """Put the job id and the submitted script on the job's run (if it has one)."""
    from sovtrain.tracking.runs import tag_scheduled_run

    if submitted.run is not None:
        tag_scheduled_run(submitted.run, submitted.job_id, submitted.rendered.script)


def scheduled_run(recipe: Any) -> ScheduledRun | None:
    """Create the job's MLflow run up front (None when tracking is off); a resubmission
    continues the run its checkpoints belong to."""
    if not recipe.tracking.enabled:
        return None
    from sovtrain.tracking import run_tracking_uri
    from sovtrain.tracking.runs import schedule_run

    uri = run_tracking_uri(recipe)
    existing = checkpointed_run_id(recipe.run.output_uri)
    return schedule_run(uri, recipe.tracking.experiment, recipe.run.name, existing)


def checkpointed_run_id(output_uri: str) -> str | None:
    """The MLflow run id the run's newest checkpoint recorded (None: no checkpoint yet)."""
    from sovtrain.train.checkpoint import CheckpointStore, checkpoints_root

    try:
        state = CheckpointStore(checkpoints_root(output_uri), 0, 1).newest_state()
    except FileNotFoundError:
        return None
    return state.get("mlflow_run_id") if state else None


def sbatch(script: Path) -> str:
    """Submit `script`; the job id (of an array: its base id)."""
    try:
        result = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True,
                                text=True, timeout=60)  # fmt: skip
    except FileNotFoundError:
        raise SovtrainError("sbatch not found: run this on a Slurm login node") from None
    if result.returncode != 0:
        raise SovtrainError(f"sbatch failed: {result.stderr.strip()}")
    return result.stdout.strip().split(";")[0]


def write_record(job_id: str, rendered: Rendered, script: Path, run: ScheduledRun | None) -> None:
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


def read_record(job_id: str) -> dict[str, Any] | None:
    """The submit record of `job_id`; None when it was submitted outside `slurm submit`."""
    path = JOBS_DIR / f"{job_id}.json"
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def parse_scontrol(text: str) -> dict[str, str]:
    """`scontrol show job -o` prints one line of Key=Value pairs (values without spaces,
    except a few at the end such as Command=...; those are not needed here)."""
    info: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep:
            info[key] = value
    return info


def job_info(job_id: str) -> dict[str, str]:
    if not job_id.isdigit():
        raise SovtrainError(f"job id must be a number, got {job_id!r}")
    try:
        result = subprocess.run(["scontrol", "show", "job", "-o", job_id],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
    except FileNotFoundError:
        raise SovtrainError("scontrol not found: run this on a Slurm login node") from None
    if result.returncode != 0:
        raise SovtrainError(f"scontrol: {result.stderr.strip() or 'unknown job ' + job_id}")
    return parse_scontrol(result.stdout)


def last_metrics(record: dict[str, Any]) -> dict[str, float]:
    """The newest logged step's loss / throughput / MFU of the job's MLflow run."""
    from sovtrain.tracking.runs import latest_metrics

    return latest_metrics(record["tracking_uri"], record["run_id"], STATUS_METRICS)
