"""MLflow run lifecycle for rank 0, with metrics shipped off the training thread.

The step loop only appends to a queue (nanoseconds); a daemon thread drains it and sends
`log_batch` calls, so a slow tracking server can never stall a GPU. Other ranks get a
`NullTracker` with the same interface, so the loop has no `if rank == 0` around logging.
"""

from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_MAX_PARAM_LEN = 6000
_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """`{"train": {"lr": 1}}` -> `{"train.lr": "1"}`; lists become JSON; long values are cut."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            flat[name] = text[:_MAX_PARAM_LEN]
    return flat


class NullTracker:
    """What non-zero ranks (and `tracking.enabled: false`) get: every call does nothing."""

    run_id: str | None = None

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        pass

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def set_tags(self, tags: Mapping[str, str]) -> None:
        pass

    def log_text(self, text: str, artifact_path: str) -> None:
        pass

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None:
        pass

    def log_datasets(self, datasets: list[Mapping[str, Any]]) -> None:
        pass

    def log_file(self, path: Path, artifact_path: str | None = None) -> None:
        pass

    def flush(self) -> None:
        pass

    def finish(self, status: str = "FINISHED") -> None:
        pass


class MlflowTracker(NullTracker):
    """One MLflow run; `run_id` given means continue that run (resume, requeue)."""

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        run_id: str | None = None,
        artifact_location: str | None = None,
        queue_size: int = 10_000,
    ) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment_id = self._experiment(experiment, artifact_location)
        run = self._continue(run_id) if run_id else None
        if run is None:
            run = self.client.create_run(self.experiment_id, run_name=run_name)
        self.run_id = run.info.run_id
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="mlflow-logger", daemon=True)
        self._stopping = threading.Event()
        self._thread.start()

    def _continue(self, run_id: str) -> Any:
        """The resumed run, or None when this tracking store never saw it (moved server)."""
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            log.warning(
                "MLflow run %s not found at %s: starting a new run", run_id, self.tracking_uri
            )
            return None
        self.client.update_run(run_id, status="RUNNING")
        return run

    def _experiment(self, name: str, artifact_location: str | None) -> str:
        existing = self.client.get_experiment_by_name(name)
        if existing is not None:
            return existing.experiment_id
        return self.client.create_experiment(name, artifact_location=artifact_location)

    # The hot path: enqueue only.
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        items = [Metric(k, float(v), stamp, step) for k, v in metrics.items()]
        try:
            self._queue.put_nowait(items)
        except queue.Full:
            log.warning("MLflow queue full: dropped %d metrics at step %d", len(items), step)

    def _drain(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            try:
                batch = list(self._queue.get(timeout=0.2))
            except queue.Empty:
                continue
            taken = 1
            while len(batch) < _METRICS_PER_BATCH:
                try:
                    batch.extend(self._queue.get_nowait())
                    taken += 1
                except queue.Empty:
                    break
            self._send(batch)
            for _ in range(taken):
                self._queue.task_done()

    def _send(self, metrics: list[Any]) -> None:
        with self._lock:
            for start in range(0, len(metrics), _METRICS_PER_BATCH):
                try:
                    self.client.log_batch(self.run_id, metrics=metrics[start : start + 1000])
                except Exception as err:  # tracking must never kill training
                    log.warning("MLflow log_batch failed: %s", err)

    # Cold path: synchronous, called a few times per run.
    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        existing = self.client.get_run(self.run_id).data.params
        items = [Param(k, str(v)) for k, v in params.items() if k not in existing]
        with self._lock:
            for start in range(0, len(items), _PARAMS_PER_BATCH):
                chunk = items[start : start + _PARAMS_PER_BATCH]
                self.client.log_batch(self.run_id, params=chunk)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        with self._lock:
            self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_text(self, text: str, artifact_path: str) -> None:
        with self._lock:
            self.client.log_text(self.run_id, text, artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None:
        self.log_text(json.dumps(data, indent=2, sort_keys=True, default=str), artifact_path)

    def log_file(self, path: Path, artifact_path: str | None = None) -> None:
        with self._lock:
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_datasets(self, datasets: list[Mapping[str, Any]]) -> None:
        """MLflow dataset inputs with explicit digests (lineage: cards and shards)."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        inputs = [
            DatasetInput(
                Dataset(d["name"], d["digest"], d["source_type"], d["source"]),
                tags=[InputTag(k, str(v)) for k, v in d.get("tags", {}).items()],
            )
            for d in datasets
        ]
        with self._lock:
            self.client.log_inputs(self.run_id, datasets=inputs)

    def flush(self) -> None:
        """Block until every queued metric has been sent."""
        self._queue.join()

    def finish(self, status: str = "FINISHED") -> None:
        self._stopping.set()
        self._thread.join(timeout=60)
        with self._lock:
            self.client.set_terminated(self.run_id, status=status)


def default_tracking_uri(output_uri: str, local_dir: Path | None) -> str:
    """An embedded sqlite store inside the run directory (or a temp dir for remote runs)."""
    base = local_dir if local_dir is not None else Path(tempfile.mkdtemp(prefix="sovtrain-ml-"))
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(base / 'mlflow.db').resolve()}"


def run_tracking_uri(recipe: Any) -> str:
    """Where a recipe's run is tracked: `tracking.uri`, else the run directory's own store."""
    from sovtrain import storage

    out = recipe.run.output_uri
    return recipe.tracking.uri or default_tracking_uri(out, storage.local_path(out))
