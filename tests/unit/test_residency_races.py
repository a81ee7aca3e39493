"""Residency under races and parser tricks: pinned directories, a moved audit log, URLs that
hide their host, and the one-writer lease on a run directory.

Each test uses the small two-region world of test_residency (hk and cn-gba roots in tmp_path)
and real files, symlinks and processes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sovtrain import storage
from sovtrain.core.errors import PolicyRefused, StorageError
from sovtrain.governance import audit
from sovtrain.governance.admission import enforce
from sovtrain.governance.sites import load_site
from sovtrain.recipe import load_recipe
from sovtrain.train.lease import LEASE, RunBusy, RunLease, gone, me
from tests.conftest import private_recipe


@pytest.mark.parametrize(
    ("uri", "region"),
    [
        ("http://127.0.0.1:5000", "hk"),
        ("http://localhost:5000/api", "hk"),
        ("http://[::1]:5000", "hk"),
        ("http://127.0.0.2:5702?@127.0.0.1", None),  # the query is not the host
        ("https://sz-mlflow.gba.example#@localhost", None),  # nor is the fragment
        ("http://localhost@sz-mlflow.gba.example/", None),  # nor the userinfo
    ],
)
def test_service_hosts_are_decided_as_a_url_parser_reads_them(world, uri, region):
    assert load_site("site-hk").storage_region(uri) == region


def test_file_uris_name_the_local_disk_or_are_refused(world):
    hk = world["hk"]
    assert storage.canonical_uri(f"file://localhost{hk}/a") == str(hk / "a")
    assert load_site("site-hk").storage_region(f"file://localhost{hk}/a") == "hk"
    # urllib reads host 127.0.0.1 here, HTTP clients evil.example: refused, never guessed
    bad_uris = (f"file://otherhost{hk}/a", f"{hk}/run\n", f"{hk}/run\x00",
                "http://evil.example\\@127.0.0.1/")  # fmt: skip
    for bad in bad_uris:
        with pytest.raises(StorageError):
            storage.canonical_uri(bad)


def test_tracking_uri_hiding_another_host_is_refused_at_admission(world):
    from tests.unit.test_cli_and_launch import cli

    recipe = str(private_recipe(world))
    for uri in ("http://127.0.0.2:5702?@127.0.0.1", "https://sz-mlflow.gba.example#@localhost"):
        result = cli("residency", "check", recipe, "--cluster", "site-hk",
                     "--set", f"tracking.uri={uri}")  # fmt: skip
        text = " ".join(result.stderr.split())
        assert result.returncode == 3, result.stdout + result.stderr
        assert "mapped-location" in text and "Traceback" not in text


def test_a_pinned_directory_keeps_writes_in_the_admitted_place(world):
    hk, gba = world["hk"], world["gba"]
    enforce(load_recipe(private_recipe(world)).recipe, "site-hk", "test")
    work = hk / "work"
    with storage.pin_dir(str(work / "stage"), purpose="checkpoint") as pinned:
        # the path is swapped for a link into cn-gba after the decision...
        work.rename(hk / "aside")
        work.symlink_to(gba)
        (pinned.path / "weights.pt").write_bytes(b"HK only")
        # ...the bytes still went to the admitted directory, and nothing reached cn-gba
        assert (hk / "aside" / "stage" / "weights.pt").read_bytes() == b"HK only"
        assert list(gba.iterdir()) == []
        pinned.verify()  # moved within hk: still allowed
    # a fresh decision on the path now resolves into cn-gba and is refused
    with pytest.raises(PolicyRefused, match=r"hk-bank-comms@1.*derived-storage-region"):
        storage.pin_dir(str(work / "stage2"), purpose="checkpoint")
    assert list(gba.iterdir()) == []


def test_a_pinned_directory_moved_into_another_region_fails_verification(world):
    hk, gba = world["hk"], world["gba"]
    enforce(load_recipe(private_recipe(world)).recipe, "site-hk", "test")
    with storage.pin_dir(str(hk / "work" / "stage"), purpose="checkpoint") as pinned:
        os.rename(hk / "work" / "stage", gba / "stage")
        with pytest.raises(PolicyRefused, match="cn-gba"):
            pinned.verify()


def test_the_run_directorys_own_mlflow_store_is_never_written_through_a_swapped_path(world):
    """No tracking.uri: the sqlite store and its artifacts live in the run directory. Swapped
    for a link into cn-gba after start-up, nothing more reaches the store (nothing lands in
    cn-gba), every record is kept in the pinned backlog, and `tracking sync` delivers them all
    once the directory is back."""
    from mlflow.tracking import MlflowClient

    from sovtrain.distributed.context import DistContext
    from sovtrain.tracking.sync import sync
    from sovtrain.train.session import make_tracker

    loaded = load_recipe(private_recipe(world))
    enforce(loaded.recipe, "site-hk", "test")
    alone = DistContext(0, 1, 0, "single", torch.device("cpu"), "gloo")
    tracker = make_tracker(loaded, alone, None)
    tracker.log_metrics({"loss": 2.0}, 1)
    tracker.log_dict({"step": 1}, "checkpoints/step_00000001.json")
    assert tracker.flush(30)
    run_dir, aside = Path(loaded.recipe.run.output_uri), world["hk"] / "runs" / "aside"
    run_dir.rename(aside)
    run_dir.symlink_to(world["gba"])
    tracker.log_dict({"step": 2}, "checkpoints/step_00000002.json")
    tracker.log_metrics({"loss": 1.0}, 2)
    tracker.finish("FINISHED")
    assert list(world["gba"].iterdir()) == [], "the embedded store wrote into cn-gba"
    assert (aside / "tracking" / "backlog.jsonl").stat().st_size > 0
    run_dir.unlink()
    aside.rename(run_dir)
    assert sum(r.records for r in sync(str(run_dir))) >= 3
    client = MlflowClient(f"sqlite:///{run_dir / 'mlflow.db'}")
    run = client.get_run(tracker.run_id)
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [1, 2]
    # the store records the real path (mlflow ui finds the artifacts), not the descriptor
    assert run.info.artifact_uri.startswith(str(run_dir / "mlartifacts"))
    for step in (1, 2):
        found = run_dir.glob(f"mlartifacts/*/artifacts/checkpoints/step_0000000{step}.json")
        assert len(list(found)) == 1


def test_a_moved_audit_log_diverts_records_and_stops_the_job(world):
    hk = world["hk"]
    admission = enforce(load_recipe(private_recipe(world)).recipe, "site-hk", "test")
    log = admission.audit
    assert log is not None
    run = hk / "runs" / "tiny"
    storage.write_text_atomic(str(run / "a.txt"), "a", purpose="artifact")
    before = audit.verify(run / "audit.jsonl").records
    run.rename(hk / "runs" / "aside")
    run.mkdir()
    with pytest.raises(PolicyRefused, match="audit-pinned"):
        storage.write_text_atomic(str(run / "b.txt"), "b", purpose="artifact")
    assert not (run / "b.txt").exists()
    assert audit.verify(hk / "runs" / "aside" / "audit.jsonl").records == before
    refusals = audit.verify(world["tmp"] / "cache" / "audit" / "refusals.jsonl")
    assert refusals.ok and refusals.denied >= 2  # the move itself, then the refused write


def test_a_failed_audit_append_is_a_clear_error(tmp_path):
    log = audit.AuditLog(tmp_path / "audit.jsonl", job="j")
    log.close()
    log.path = Path("/dev/full")  # a real device whose every write fails with ENOSPC
    log._fd = os.open(log.path, os.O_WRONLY)
    with pytest.raises(audit.AuditError, match="No space left"):
        log.append({"result": "allow"})


def test_a_short_audit_write_leaves_no_torn_record(tmp_path):
    """A file-size limit (a real kernel limit, like a disk that fills mid-write) lets only part
    of a record out: the append fails and the part is cut back off, so the chain still
    verifies and the next job continues it."""
    import resource
    import signal

    path = tmp_path / "audit.jsonl"
    log = audit.AuditLog(path, job="j")
    log.append({"result": "allow", "uri": "before"})
    size = path.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, hard))
    try:
        with pytest.raises(audit.AuditError, match="cannot append"):
            log.append({"result": "allow", "uri": "x" * 200})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    log.close()
    assert path.stat().st_size == size
    again = audit.AuditLog(path, job="j2")
    again.append({"result": "allow", "uri": "after"})
    again.close()
    assert audit.verify(path).ok and audit.verify(path).records == 2


def test_a_record_torn_by_a_crash_is_set_aside_in_the_chain(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = audit.AuditLog(path, job="j")
    for n in range(3):
        log.append({"result": "allow", "uri": f"u{n}"})
    log.close()
    whole = path.read_bytes()
    torn = b'{"action": "read", "uri": "s3://hk-bank/pri'
    path.write_bytes(whole + torn)  # what a kill -9 in the middle of a write leaves
    resumed = audit.AuditLog(path, job="j2")
    resumed.append({"result": "allow", "uri": "u3"})
    resumed.close()
    checked = audit.verify(path)
    assert checked.ok, checked.problems
    assert checked.records == 5  # three, the repair record, and the new one
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[3]["rule"] == "torn-tail" and lines[3]["fragment"] == torn.decode()
    assert path.read_bytes().startswith(whole)


def test_an_audit_log_ending_in_garbage_is_refused_clearly(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text('{"seq": 0}\nnot a record\n')
    with pytest.raises(audit.AuditError, match=r"line 2.*sovtrain audit verify"):
        audit.AuditLog(path, job="j")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lease_is_taken_over_only_from_a_provably_gone_owner(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    mine, now = me("run", ttl_s=60), time.time()
    alive = dataclasses.replace(mine, token="other")  # this very process: alive
    assert gone(alive, mine, now) is None
    dead = dataclasses.replace(alive, pid=_dead_pid())
    assert "has exited" in (gone(dead, mine, now) or "")
    reused = dataclasses.replace(alive, pid_start="1")  # same pid, another process's start
    assert "has exited" in (gone(reused, mine, now) or "")
    elsewhere = dataclasses.replace(alive, host="other-node")
    assert gone(elsewhere, mine, now) is None
    assert "no heartbeat" in (gone(elsewhere, mine, now + 61) or "")
    requeued = dataclasses.replace(elsewhere, slurm_job_id="42")
    assert "requeued" in (gone(requeued, dataclasses.replace(mine, slurm_job_id="42"), now) or "")


def test_two_leases_on_one_run_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    first = RunLease(str(tmp_path / "run"), "a", ttl_s=60)
    first.acquire()
    second = RunLease(str(tmp_path / "run"), "b", ttl_s=60)
    with pytest.raises(RunBusy, match=f"run 'a': pid {os.getpid()}"):
        second.acquire()
    first.release()
    assert not (tmp_path / "run" / LEASE).exists()
    second.acquire()  # free again
    second.release()
