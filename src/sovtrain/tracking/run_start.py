"""Opening the MLflow run: the one moment a training job needs the tracking server.

A run id must exist before the first checkpoint records it, so start-up is synchronous,
but bounded: MLflow's own HTTP client would retry for many minutes, so its per-request
timeout and retries are capped here (for this process, unless the user set them), and the
whole start-up has a deadline. An unreachable server is a clear one-line error, not a hang.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sovtrain.core.errors import SovtrainError
from sovtrain.tracking.records import classify, reason

log = logging.getLogger(__name__)
T = TypeVar("T")

# MLflow 3 names (mlflow/environment_variables.py); its defaults are 120 s x 7 retries.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}


def bound_http_requests() -> None:
    """Short MLflow HTTP requests with few retries; our sender does the patient retrying.

    urllib3 logs a warning per retried request, dozens a minute during an outage; the
    sender reports an outage once instead, so those lines are filtered out."""
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    pool = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _NoRetryNoise) for f in pool.filters):
        pool.addFilter(_NoRetryNoise())
    # the embedded (sqlite) store logs every failed write with a full traceback before
    # raising it to us; the sender reports the same failure in one line
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


class _NoRetryNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Retrying ")


def seconds_from_env(name: str, default: float) -> float:
    """A duration knob such as SOVTRAIN_TRACKING_FINISH_TIMEOUT (bad values: the default)."""
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        log.warning("%s=%r is not a number of seconds: using %s", name, os.environ[name], default)
        return default


@dataclass(frozen=True)
class OpenedRun:
    experiment_id: str
    run_id: str
    continued: bool
    last_step: int  # highest step of "loss" already in MLflow (-1: none, or a new run)


def open_run(
    client: Any,
    experiment: str,
    run_name: str,
    run_id: str | None,
    artifact_location: str | None,
) -> OpenedRun:
    """Continue `run_id` when this store knows it (resume, requeue), else create a run."""
    experiment_id = _experiment(client, experiment, artifact_location)
    if run_id and _continue(client, run_id):
        history = client.get_metric_history(run_id, "loss")
        last = max((m.step for m in history), default=-1)
        return OpenedRun(experiment_id, run_id, True, last)
    run = client.create_run(experiment_id, run_name=run_name)
    return OpenedRun(experiment_id, run.info.run_id, False, -1)


def _continue(client: Any, run_id: str) -> bool:
    """Mark the run running again; False when this store never saw it (a moved server)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(run_id)
    except MlflowException as err:
        if err.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        log.warning("MLflow run %s not found: starting a new run", run_id)
        return False
    client.update_run(run_id, status="RUNNING")
    return True


def _experiment(client: Any, name: str, artifact_location: str | None) -> str:
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except MlflowException as err:  # another job created it a moment ago
        found = client.get_experiment_by_name(name)
        if found is None:
            raise err from None
        return found.experiment_id


def within(seconds: float, tracking_uri: str, start: Callable[[], T]) -> T:
    """Run `start` with a deadline; tracking failures become one clear SovtrainError."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = start()
        except BaseException as err:
            outcome["error"] = err

    thread = threading.Thread(target=target, name="mlflow-start", daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    hint = "start the tracking server, fix tracking.uri, or set tracking.enabled=false"
    if thread.is_alive():
        raise SovtrainError(
            f"MLflow at {tracking_uri} did not answer within {seconds:.0f}s: cannot start the "
            f"run ({hint})"
        )
    err = outcome.get("error")
    if err is None:
        return outcome["value"]
    if _is_tracking_error(err):
        what = "is unreachable" if classify(err) == "down" else "refused to start the run"
        raise SovtrainError(
            f"MLflow at {tracking_uri} {what} ({reason(err)}): cannot start the run ({hint})"
        ) from None
    raise err


def _is_tracking_error(err: BaseException) -> bool:
    import requests
    from mlflow.exceptions import MlflowException

    return isinstance(err, (MlflowException, requests.RequestException, OSError))
