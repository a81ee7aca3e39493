"""Residency under races and parser tricks: pinned directories, a moved audit log, URLs that
hide their host, and the one-writer lease on a run directory.

Each test uses the small two-region world of test_residency (hk and cn-gba roots in tmp_path)
and real files, symlinks and processes.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sovtrain import storage
from sovtrain.errors import PolicyRefused, StorageError
from sovtrain.governance import audit
from sovtrain.governance.admission import enforce
from sovtrain.governance.policy import load_site
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
