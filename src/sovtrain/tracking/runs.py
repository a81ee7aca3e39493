"""MLflow runs outside the training process: scheduled before a job, read and extended after.

Training itself talks to MLflow through `MlflowTracker` (queued, never blocking). The calls
here are the other moments a run is touched, each a short synchronous request made by a
command a person is waiting on:
  - `slurm submit` creates the job's run up front (state SCHEDULED) so the link works before
    the job starts and every requeue continues the same run, then tags it with the job id;
  - `slurm status` reads the newest loss / throughput / MFU;
  - `export` reads the run's metrics, params and times for the model card;
  - `eval` logs its metrics into the training run, next to the loss curve.
Errors are not caught here: each caller decides what an unreachable server means for it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict


class ScheduledRun(TypedDict):
    """A run created for a job before it starts; also the MLflow part of the submit record."""

    run_id: str
    tracking_uri: str
    link: str


def _client(tracking_uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def schedule_run(
    tracking_uri: str, experiment: str, run_name: str, existing_run_id: str | None
) -> ScheduledRun:
    """Create run `run_name` in `experiment` in state SCHEDULED, or, given the id of the run
    a job's checkpoints belong to, continue that one (a resubmission is the same run)."""
    client = _client(tracking_uri)
    if existing_run_id is not None:
        run = client.get_run(existing_run_id)
        eid = run.info.experiment_id
    else:
        found = client.get_experiment_by_name(experiment)
        eid = found.experiment_id if found else client.create_experiment(experiment)
        run = client.create_run(eid, run_name=run_name)
        client.update_run(run.info.run_id, status="SCHEDULED")
    return {
        "run_id": run.info.run_id,
        "tracking_uri": tracking_uri,
        "link": run_link(tracking_uri, eid, run.info.run_id),
    }


def run_link(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The run's page on a server, or for a local store the `mlflow ui` command to view it."""
    base = (
        tracking_uri
        if tracking_uri.startswith("http")
        else f"mlflow ui --backend-store-uri {tracking_uri}"
    )
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def tag_scheduled_run(run: ScheduledRun, job_id: str, script: str) -> None:
    """Record the Slurm job id and the exact sbatch script on the run."""
    client = _client(run["tracking_uri"])
    client.set_tag(run["run_id"], "slurm_job_id", job_id)
    client.log_text(run["run_id"], script, "slurm/job.sbatch")


def latest_metrics(tracking_uri: str, run_id: str, keys: Sequence[str]) -> dict[str, float]:
    """The newest logged value of each of `keys`, plus `step`: the highest step among them
    (absent when none was logged yet)."""
    client = _client(tracking_uri)
    run = client.get_run(run_id)
    latest: dict[str, float] = {}
    step = -1
    for key in keys:
        history = client.get_metric_history(run.info.run_id, key)
        if history:
            newest = max(history, key=lambda m: m.step)
            latest[key] = newest.value
            step = max(step, newest.step)
    if step >= 0:
        latest["step"] = step
    return latest


@dataclass(frozen=True)
class RunRecord:
    """What a finished run recorded: last metric values, params, tags, times (ms)."""

    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    start_time: int | None
    end_time: int | None


@contextlib.contextmanager
def quick_requests() -> Iterator[None]:
    """A down tracking server must cost seconds, not MLflow's minutes of retries (for the
    duration of the block, unless the user set these variables)."""
    saved = {
        k: os.environ.get(k)
        for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")
    }
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def read_run(tracking_uri: str, run_id: str) -> RunRecord:
    """The run's record, with short HTTP timeouts and no retries (see `quick_requests`)."""
    with quick_requests():
        run = _client(tracking_uri).get_run(run_id)
    return RunRecord(
        dict(run.data.metrics), dict(run.data.params), dict(run.data.tags),
        run.info.start_time, run.info.end_time,
    )  # fmt: skip


def log_eval(
    tracking_uri: str,
    run_id: str,
    step: int,
    metrics: Mapping[str, float],
    table: str,
    artifact: str = "eval/eval.md",
) -> None:
    """Eval metrics at `step` and their report (`artifact`: the Markdown table of
    `sovtrain eval`, lm-eval's results JSON of a harness run) into an existing run."""
    from mlflow.entities import Metric

    client = _client(tracking_uri)
    stamp = int(time.time() * 1000)
    values = [Metric(key, value, stamp, step) for key, value in metrics.items()]
    client.log_batch(run_id, metrics=values)
    client.log_text(run_id, table, artifact)
