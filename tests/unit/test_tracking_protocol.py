"""The tracker Protocol and the fan-out container: every call reaches every tracker."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

from sovtrain.tracking import FanOutTracker, MlflowTracker, NullTracker, Tracker


class Recording(NullTracker):
    """A second sink that keeps every call it gets, in order."""

    def __init__(self, run_id: str | None = None, flushed: bool = True) -> None:
        self.run_id = run_id
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._flushed = flushed

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.calls.append(("log_metrics", (dict(metrics), step)))

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.calls.append(("log_params", (dict(params),)))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.calls.append(("set_tags", (dict(tags),)))

    def log_text(self, text: str, artifact_path: str) -> None:
        self.calls.append(("log_text", (text, artifact_path)))

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> None:
        self.calls.append(("log_dict", (dict(data), artifact_path)))

    def log_datasets(self, datasets: list[Mapping[str, Any]]) -> None:
        self.calls.append(("log_datasets", (datasets,)))

    def log_file(self, path: Path, artifact_path: str | None = None) -> None:
        self.calls.append(("log_file", (path, artifact_path)))

    def flush(self, timeout: float | None = None) -> bool:
        self.calls.append(("flush", (timeout,)))
        return self._flushed

    def finish(self, status: str = "FINISHED") -> None:
        self.calls.append(("finish", (status,)))


class Broken(NullTracker):
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        raise OSError("disk full")


def _session(tracker: Tracker, path: Path) -> None:
    """The calls a training session makes, in its order."""
    tracker.log_params({"train.lr": "0.003"})
    tracker.set_tags({"device": "cpu"})
    tracker.log_datasets([{"name": "cards", "digest": "0" * 8}])
    tracker.log_text("run: {}", "recipe.resolved.yaml")
    tracker.log_dict({"zero": 2}, "deepspeed_config.json")
    tracker.log_metrics({"loss": 2.5}, 1)
    tracker.log_metrics({"loss": 2.0}, 2)
    tracker.log_file(path, "audit")
    tracker.finish("FINISHED")


# checked by mypy (`mypy tests/unit/test_tracking_protocol.py`): the classes fit statically
TRACKERS: tuple[type[Tracker], ...] = (NullTracker, MlflowTracker, FanOutTracker, Recording)


def test_existing_trackers_satisfy_the_protocol():
    assert isinstance(NullTracker(), Tracker)
    assert isinstance(FanOutTracker([NullTracker()]), Tracker)
    assert all(callable(getattr(cls, "finish", None)) for cls in TRACKERS)


def test_every_call_reaches_every_tracker_in_order(tmp_path):
    first, second = Recording("run-1"), Recording()
    fan = FanOutTracker([first, second])
    _session(fan, tmp_path / "audit.jsonl")
    assert first.calls == second.calls
    assert [name for name, _ in first.calls] == [
        "log_params", "set_tags", "log_datasets", "log_text", "log_dict",
        "log_metrics", "log_metrics", "log_file", "finish",
    ]  # fmt: skip
    assert first.calls[5] == ("log_metrics", ({"loss": 2.5}, 1))
    assert fan.run_id == "run-1"


def test_run_id_is_the_first_trackers_that_has_one():
    assert FanOutTracker([NullTracker(), Recording("b"), Recording("c")]).run_id == "b"
    assert FanOutTracker([NullTracker()]).run_id is None


def test_flush_asks_everyone_and_is_true_only_if_all_flushed():
    done, late = Recording(), Recording(flushed=False)
    assert FanOutTracker([done, late]).flush(1.5) is False
    assert done.calls == late.calls == [("flush", (1.5,))]
    assert FanOutTracker([Recording(), Recording()]).flush() is True


def test_a_failing_tracker_neither_stops_the_others_nor_reaches_the_caller(caplog):
    after = Recording()
    fan = FanOutTracker([Broken(), after])
    with caplog.at_level(logging.WARNING, logger="sovtrain.tracking.protocol"):
        fan.log_metrics({"loss": 1.0}, 3)
    assert after.calls == [("log_metrics", ({"loss": 1.0}, 3))]
    assert "Broken.log_metrics failed: disk full" in caplog.text


def test_mlflow_and_a_second_sink_get_the_same_session(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow = MlflowTracker(uri, "unit", "fan", spool=tmp_path / "spool",
                           artifact_location=str(tmp_path / "art"))  # fmt: skip
    sink = Recording()
    fan = FanOutTracker([mlflow, sink])
    assert fan.run_id == mlflow.run_id and fan.tracking_uri == uri
    audit = tmp_path / "audit.jsonl"
    audit.write_text("{}\n")
    _session(fan, audit)
    run = MlflowClient(uri).get_run(mlflow.run_id)
    assert run.info.status == "FINISHED" and run.data.params["train.lr"] == "0.003"
    history = MlflowClient(uri).get_metric_history(mlflow.run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 2.5), (2, 2.0)]
    assert ("log_metrics", ({"loss": 2.0}, 2)) in sink.calls and sink.calls[-1][0] == "finish"
