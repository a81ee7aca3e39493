"""The tracking backlog, sender and replay against real MLflow stores (sqlite, and a real
HTTP client pointed at a port nobody listens on for "server down")."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from sovtrain.core.errors import SovtrainError
from sovtrain.tracking import MlflowTracker
from sovtrain.tracking.backlog import Backlog, find_backlogs
from sovtrain.tracking.records import metrics_record
from sovtrain.tracking.sender import Sender
from sovtrain.tracking.sync import sync
from tests.integration.servers import free_port


@pytest.fixture
def fast_http(monkeypatch):
    """No urllib3 retries: a refused connection fails at once (the sender retries)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")


@pytest.fixture
def store(tmp_path) -> tuple[str, MlflowClient, str]:
    """A sqlite MLflow store with one run in it: (uri, client, run id)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("unit", artifact_location=str(tmp_path / "art"))
    return uri, client, client.create_run(experiment).info.run_id


def _loss_steps(client: MlflowClient, run_id: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, "loss"))


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # bound once, then released: nobody listens


def _spill_while_down(spool: Path, run_id: str, steps: int, limit: int) -> Sender:
    """A real MLflow client, a server that is not there: everything must end up on disk."""
    url = _dead_url()
    sender = Sender(MlflowClient(url), url, Backlog(spool / "backlog.jsonl"), "att1",
                    memory_limit=limit, backoff_cap=0.5)  # fmt: skip
    sender.start()
    for step in range(1, steps + 1):
        sender.put(metrics_record(run_id, {"loss": 1 / step, "lr": 0.1}, step, 1000 + step))
        assert sender.pending()[0] <= limit  # bounded memory, whatever the outage length
        if step == steps // 2:
            sender.put({"op": "tags", "run": run_id, "t": {"half": "yes"}})
    sender.put({"op": "finish", "run": run_id, "status": "FINISHED", "end": 99_999})
    return sender


def test_backlog_batches_acks_and_repairs(tmp_path):
    backlog = Backlog(tmp_path / "backlog.jsonl")
    records = [metrics_record("r", {"loss": 1.0}, s, s) for s in range(1, 4)]
    records.insert(2, {"op": "tags", "run": "r", "t": {"k": "v"}})
    backlog.append(records, "http://mlflow")
    start = backlog.acked()
    batch, end, consumed = backlog.read(start)
    assert [r["op"] for r in batch] == ["metrics", "metrics"] and consumed == 2  # one call
    batch, end2, _ = backlog.read(end)
    assert [r["op"] for r in batch] == ["tags"]  # order kept: metrics never jump ahead
    backlog.ack(end2)
    assert Backlog(backlog.path).acked() == end2  # persisted, for an interrupted replay
    with backlog.path.open("a") as handle:
        handle.write('{"op": "metr')  # a process killed mid-write
    backlog.repair()
    assert [r["m"][0][3] for r in backlog.records()] == [3]
    backlog.path.unlink()
    backlog.append(records, "http://mlflow")  # a new backlog: the old ack must not apply
    assert Backlog(backlog.path).acked() == Backlog(backlog.path).start()


def test_sender_spills_everything_when_the_server_is_down_and_gives_up_in_time(
    tmp_path, fast_http, caplog
):
    caplog.set_level(logging.WARNING, logger="sovtrain.tracking")
    sender = _spill_while_down(tmp_path, "run-1", steps=300, limit=16)
    started = time.monotonic()
    assert sender.close(timeout=1.0) is False
    assert time.monotonic() - started < 5  # finish never hangs on tracking
    records = list(Backlog(tmp_path / "backlog.jsonl").records())
    steps = [r["m"][0][3] for r in records if r["op"] == "metrics"]
    assert steps == list(range(1, 301))  # nothing lost, nothing reordered
    assert records[-1]["op"] == "finish" and [r["s"] for r in records] == sorted(
        r["s"] for r in records
    )
    outages = [r for r in caplog.records if "is unreachable" in r.getMessage()]
    assert len(outages) == 1  # one warning per outage, not one per failed call


def test_sync_replays_idempotently_even_when_interrupted(tmp_path, store, fast_http):
    uri, client, run_id = store
    spool = tmp_path / "run" / "tracking"
    _spill_while_down(spool, run_id, steps=2500, limit=64).close(timeout=1.0)
    backlog = Backlog(spool / "backlog.jsonl")
    assert backlog.tracking_uri.startswith("http://127.0.0.1:")
    first = sync(str(tmp_path / "run"), tracking_uri=uri, max_batches=2)  # interrupted
    assert not first[0].complete and first[0].points == 2000
    assert _loss_steps(client, run_id) == list(range(1, 1001))
    # a crash after MLflow took a batch but before its ack was written: sent again
    ack = json.loads(backlog.ack_path.read_text())
    backlog.ack_path.write_text(json.dumps({**ack, "offset": backlog.start()}))
    rest = sync(str(tmp_path / "run"), tracking_uri=uri)
    assert rest[0].complete and rest[0].statuses == {run_id: "FINISHED"}
    assert _loss_steps(client, run_id) == list(range(1, 2501))  # each step once
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.end_time == 99_999
    assert run.data.tags["half"] == "yes"
    assert find_backlogs(tmp_path / "run") == [] and sync(str(tmp_path / "run"), uri) == []


def test_resumed_tracker_logs_no_step_twice(tmp_path, caplog):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = MlflowTracker(uri, "unit", "r", spool=tmp_path / "tracking")
    for step in range(1, 15):
        first.log_metrics({"loss": 10.0 - step * 0.1}, step)
    first.finish("KILLED")
    caplog.set_level(logging.INFO, logger="sovtrain.tracking")
    second = MlflowTracker(uri, "unit", "r", run_id=first.run_id, spool=tmp_path / "tracking")
    for step in range(13, 20):  # resumed from the step-12 checkpoint
        second.log_metrics({"loss": 0.5}, step)
    second.set_tags({"after": "resume"})  # non-metric calls are unaffected
    second.finish()
    client = MlflowClient(uri)
    assert _loss_steps(client, first.run_id) == list(range(1, 20))
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["after"] == "resume"
    assert "MLflow already has steps up to 14: steps 13..14 are not logged again" in caplog.text


def test_an_earlier_attempts_backlog_is_replayed_first_and_counts_as_logged(tmp_path, store):
    uri, client, run_id = store
    spool = tmp_path / "tracking"
    old = [metrics_record(run_id, {"loss": 1.0}, s, 500 + s) for s in range(1, 11)]
    old.append({"op": "finish", "run": run_id, "status": "KILLED", "end": 1, "a": "x", "s": 0})
    Backlog(spool / "backlog.jsonl").append(old, uri)
    tracker = MlflowTracker(uri, "unit", "r", run_id=run_id, spool=spool)
    for step in range(9, 13):  # resumed from step 8: 9 and 10 wait in the backlog already
        tracker.log_metrics({"loss": 2.0}, step)
    tracker.finish()
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(1, 13))
    assert {m.step: m.value for m in history}[10] == 1.0
    assert client.get_run(run_id).info.status == "FINISHED"  # the old KILLED was not replayed
    assert not (spool / "backlog.jsonl").exists()


def test_log_file_sends_the_file_as_it_was_when_logged(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = MlflowTracker(uri, "unit", "r", spool=tmp_path / "tracking",
                            artifact_location=str(tmp_path / "art"))  # fmt: skip
    audit = tmp_path / "audit.jsonl"
    audit.write_text("record 1\n")
    tracker.log_file(audit, "audit")
    audit.write_text("record 1\nrecord 2\n")  # the log keeps growing after the call
    tracker.finish()
    client = MlflowClient(uri)
    local = client.download_artifacts(tracker.run_id, "audit/audit.jsonl", str(tmp_path / "dl"))
    assert Path(local).read_text() == "record 1\n"
    assert not (tmp_path / "tracking" / "files").exists()  # snapshots are removed once sent


def test_unreachable_server_at_start_is_one_clear_error_in_bounded_time(tmp_path):
    url = _dead_url()
    started = time.monotonic()
    with pytest.raises(SovtrainError) as err:
        MlflowTracker(url, "unit", "r", spool=tmp_path / "tracking", start_timeout=20)
    assert time.monotonic() - started < 20
    message = str(err.value)
    assert url in message and "unreachable" in message and "\n" not in message


def test_backlog_for_another_server_is_set_aside_not_sent(tmp_path, store):
    uri, client, run_id = store
    spool = tmp_path / "tracking"
    Backlog(spool / "backlog.jsonl").append([metrics_record(run_id, {"loss": 1}, 1, 1)],
                                            "http://elsewhere:5000")  # fmt: skip
    MlflowTracker(uri, "unit", "r", spool=spool).finish()
    assert _loss_steps(client, run_id) == []
    (aside,) = spool.glob("backlog-*.jsonl")
    assert Backlog(aside).tracking_uri == "http://elsewhere:5000"
