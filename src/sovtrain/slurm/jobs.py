"""Reading a submitted job's state back: Slurm's view and MLflow's."""

from __future__ import annotations

import subprocess
from typing import Any

from sovtrain.core.errors import SovtrainError


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
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=record["tracking_uri"])
    run = client.get_run(record["run_id"])
    latest: dict[str, float] = {}
    step = -1
    for key in ("loss", "tokens_per_s", "mfu"):
        history = client.get_metric_history(run.info.run_id, key)
        if history:
            newest = max(history, key=lambda m: m.step)
            latest[key] = newest.value
            step = max(step, newest.step)
    if step >= 0:
        latest["step"] = step
    return latest
