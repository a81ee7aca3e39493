"""What a tracker is to the trainer: one Protocol, and a container that fans calls out.

Why a Protocol and not a base class: the step loop and the session only need these calls,
and a tracker for another sink (energy readings, a JSONL file next to the run) should not
have to inherit MLflow's run lifecycle to be accepted. `NullTracker` and `MlflowTracker`
satisfy it as they are. `FanOutTracker` forwards every call to several trackers, so adding
a second sink is one new class plus one entry in the list (the shape of torchtitan's
`BaseLogger` + logger container in `components/metrics.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger(__name__)


@runtime_checkable
class Tracker(Protocol):
    """The calls training makes on its tracker. None of them may block or raise for long:
    tracking must never stall or kill training (see `mlflow_run.py`)."""

    @property
    def run_id(self) -> str | None:
        """The tracked run's id (None when nothing is tracked)."""
        ...

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def set_tags(self, tags: Mapping[str, str]) -> None: ...

    def log_text(self, text: str, artifact_path: str) -> None: ...

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None: ...

    def log_datasets(self, datasets: list[Mapping[str, Any]]) -> None: ...

    def log_file(self, path: Path, artifact_path: str | None = None) -> None: ...

    def flush(self, timeout: float | None = None) -> bool:
        """Wait (bounded) until what was logged so far was delivered; True if it was."""
        ...

    def finish(self, status: str = "FINISHED") -> None:
        """End the run with `status`; never raises, never hangs."""
        ...


class FanOutTracker:
    """Forwards each call to every tracker, in order.

    A tracker that raises does not keep the others from getting the call, and does not
    reach the caller: a failing secondary sink (a full disk under a JSONL file) must not cost
    the MLflow record or the training run. The failure is logged as a warning.
    The first tracker is the primary one: its `run_id` (and `tracking_uri`, if it has one)
    is what the container reports, so checkpoints keep naming the MLflow run.
    """

    def __init__(self, trackers: Sequence[Tracker]) -> None:
        if not trackers:
            raise ValueError("FanOutTracker needs at least one tracker")
        self.trackers: tuple[Tracker, ...] = tuple(trackers)

    @property
    def run_id(self) -> str | None:
        return next((t.run_id for t in self.trackers if t.run_id is not None), None)

    @property
    def tracking_uri(self) -> str | None:
        """The primary tracker's store (the run report prints it); None if none has one."""
        uris = (getattr(t, "tracking_uri", None) for t in self.trackers)
        return next((uri for uri in uris if uri is not None), None)

    def _each(self, method: str, *args: Any, **kwargs: Any) -> list[Any]:
        results = []
        for tracker in self.trackers:
            try:
                results.append(getattr(tracker, method)(*args, **kwargs))
            except Exception as err:  # one sink failing must not silence the others
                log.warning("%s.%s failed: %s", type(tracker).__name__, method, err)
                results.append(None)
        return results

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._each("log_metrics", metrics, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._each("log_params", params)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self._each("set_tags", tags)

    def log_text(self, text: str, artifact_path: str) -> None:
        self._each("log_text", text, artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None:
        self._each("log_dict", data, artifact_path)

    def log_datasets(self, datasets: list[Mapping[str, Any]]) -> None:
        self._each("log_datasets", datasets)

    def log_file(self, path: Path, artifact_path: str | None = None) -> None:
        self._each("log_file", path, artifact_path)

    def flush(self, timeout: float | None = None) -> bool:
        """Every tracker is flushed (each with the same bound); True only if all were."""
        return all(done is True for done in self._each("flush", timeout))

    def finish(self, status: str = "FINISHED") -> None:
        self._each("finish", status)
