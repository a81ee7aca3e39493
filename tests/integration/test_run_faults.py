"""Faults caused for real on a running `sovtrain train`: a symlink swapped into the run
directory after admission, a second writer on the same run, a full disk during a checkpoint,
a rank frozen with SIGSTOP (the watchdog ends the job).

Each test runs the real CLI in a child process on the tiny HK-only recipe (the hk-bank-comms
card, two local roots standing for the hk and cn-gba file systems), freezes it with SIGSTOP at
a chosen log line, causes the fault, lets it go on with SIGCONT and checks what it did.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import sovtrain_synth as synth
from sovtrain.governance import audit
from sovtrain.train.checkpoint import LATEST, CheckpointStore
from tests.conftest import REPO, private_recipe

pytestmark = pytest.mark.slow


def _raw_data(world) -> None:
    raw = world["hk"] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rows = [{"text": d.text} for d in synth.generate("finance", 3, 600, ["en", "zh-Hant"])]
    (raw / "bank.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _recipe(world, run_dir: Path, **train) -> Path:
    """The private tiny recipe, data prepared outside the run directory, run at `run_dir`."""
    path = private_recipe(world)
    recipe = yaml.safe_load(path.read_text())
    recipe["run"]["output_uri"] = str(run_dir)
    recipe["data"]["prepared_uri"] = str(world["hk"] / "prepared")
    recipe["train"].update(train)
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


class Train:
    """`sovtrain train` in a child process whose log we can wait on."""

    def __init__(self, recipe: Path, log: Path, *args: str, nproc: int = 1) -> None:
        self.log = log
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "sovtrain.cli", "train", str(recipe), "--cluster",
                   "site-hk", "--nproc", str(nproc), *args]  # fmt: skip
        self.handle = log.open("w")
        self.proc = subprocess.Popen(
            command, stdout=self.handle, stderr=subprocess.STDOUT, cwd=REPO, env=env
        )

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"exited {self.proc.returncode} before {text!r}:\n{self.output()}"
                )
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} after {timeout}s:\n{self.output()}")

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def finish(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_run_directory_swapped_for_a_link_after_admission_writes_nothing_there(world, tmp_path):
    """The run directory under hk becomes a symlink to the cn-gba file system at step 2:
    the step-4 checkpoint is refused on its real target (exit 3), nothing lands in cn-gba,
    and the refusal is on record."""
    _raw_data(world)
    run_dir = world["hk"] / "runs" / "swapped"
    recipe = _recipe(world, run_dir, max_steps=8, log_interval=2)
    run = Train(recipe, tmp_path / "train.log", "--set", "checkpoint.interval_steps=4")
    run.wait_for("step 2/8")
    run.pause()
    (world["gba"] / "runs" / "swapped").mkdir(parents=True)
    run_dir.rename(world["hk"] / "runs" / "moved-aside")
    run_dir.symlink_to(world["gba"] / "runs" / "swapped")
    run.resume()
    code = run.finish()
    output = run.output()
    assert code == 3, output
    assert "Traceback" not in output
    assert "hk-bank-comms@1" in output and "cn-gba" in output, output
    assert "derived-storage-region" in output or "audit-pinned" in output, output
    assert _files_under(world["gba"]) == [], "bytes of HK-only data reached cn-gba"
    refusals = Path(world["tmp"] / "cache" / "audit" / "refusals.jsonl")
    kept = audit.verify(refusals)
    assert kept.ok and kept.denied >= 1
    # the log it had before the swap is intact where the directory went (still in hk)
    assert audit.verify(world["hk"] / "runs" / "moved-aside" / "audit.jsonl").ok


def test_a_second_writer_on_the_same_run_is_refused_and_the_first_finishes(world, tmp_path):
    _raw_data(world)
    run_dir = world["hk"] / "runs" / "shared"
    recipe = _recipe(world, run_dir, max_steps=8, log_interval=2)
    first = Train(recipe, tmp_path / "first.log")
    first.wait_for("step 2/8")
    first.pause()
    audit_before = (run_dir / "audit.jsonl").read_bytes()
    second = Train(recipe, tmp_path / "second.log")
    assert second.finish(timeout=120) == 2, second.output()
    text = " ".join(second.output().split())
    assert "being written by run 'tiny'" in text and f"pid {first.proc.pid}" in text, text
    assert "Traceback" not in text
    assert (run_dir / "audit.jsonl").read_bytes() == audit_before  # the second wrote nothing
    first.resume()
    assert first.finish() == 0, first.output()
    assert audit.verify(run_dir / "audit.jsonl").ok
    assert not (run_dir / "writer.lease").exists()  # released on exit
    store = CheckpointStore(str(run_dir / "checkpoints"), 0, 1)
    assert store.newest_verified() == "step_00000008"


def test_a_killed_writer_leaves_a_lease_the_next_run_takes_over(world, tmp_path):
    _raw_data(world)
    run_dir = world["hk"] / "runs" / "crashed"
    recipe = _recipe(world, run_dir, max_steps=8, log_interval=2)
    first = Train(recipe, tmp_path / "first.log", "--set", "checkpoint.interval_steps=4")
    first.wait_for("checkpoint ")
    first.proc.kill()
    first.finish()
    assert (run_dir / "writer.lease").exists()
    again = Train(recipe, tmp_path / "again.log", "--set", "checkpoint.interval_steps=4")
    assert again.finish() == 0, again.output()
    output = again.output()
    assert f"process {first.proc.pid}" in output and "has exited" in output, output
    assert "resumed from checkpoint" in output and "step_00000004" in output, output


def _mount_tmpfs(where: Path, size_mb: int) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
        capture_output=True,
    )
    return done.returncode == 0


@pytest.mark.parametrize("async_save", ["false", "true"], ids=["sync", "async"])
def test_disk_full_during_a_checkpoint_fails_clearly_and_keeps_the_previous(
    world, tmp_path, async_save
):
    """A real tmpfs holds the run directory; it is filled after the first checkpoint is
    published (with `checkpoint.async` the failed write is still the training thread's)."""
    _raw_data(world)
    mount = world["hk"] / "runs"
    if not _mount_tmpfs(mount, 16):
        pytest.skip("needs permission to mount a tmpfs (root)")
    try:
        run_dir = mount / "full"
        recipe = _recipe(world, run_dir, max_steps=8, log_interval=2)
        ckpt = ("--set", "checkpoint.interval_steps=4", "--set", f"checkpoint.async={async_save}")
        run = Train(recipe, tmp_path / "train.log", *ckpt, nproc=2)  # both ranks write
        run.wait_for(" written (")  # step 4 published
        run.pause()
        filler = mount / "filler.bin"
        _fill(filler, keep_free=64 * 1024)
        run.resume()
        code = run.finish()
        output = run.output()
        assert code == 2, output
        assert "Traceback" not in output
        assert "checkpoint step_00000008: no space left in" in output, output
        assert "MB free, needs about" in output
        assert _files_under(run_dir / "checkpoints" / ".staging") == []
        store = CheckpointStore(str(run_dir / "checkpoints"), 0, 1)
        assert store.newest_verified() == "step_00000004"
        assert (run_dir / "checkpoints" / LATEST).read_text() == "step_00000004"
        filler.unlink()
        again = Train(recipe, tmp_path / "again.log", *ckpt, nproc=2)
        assert again.finish() == 0, again.output()
        assert "resumed from checkpoint" in again.output()
        assert store.newest_verified() == "step_00000008"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path, keep_free: int) -> None:
    """Write zeros until only `keep_free` bytes are left on the file system."""
    free = os.statvfs(path.parent)
    left = free.f_bavail * free.f_frsize - keep_free
    with path.open("wb") as handle:
        while left > 0:
            chunk = min(left, 1 << 20)
            handle.write(b"\0" * chunk)
            left -= chunk


STALL_BOUND_S = 15  # train.collective_timeout_s for the stall test


def test_a_stopped_rank_ends_the_job_within_the_bound_and_names_the_rank(world, tmp_path):
    """Rank 1 of two is frozen with SIGSTOP mid-run: rank 0's watchdog fires after
    `train.collective_timeout_s` with one line naming rank 1, the last step and the
    operation; the launcher exits 5 with no rank left (the stopped one included); the last
    verified checkpoint is intact and a rerun resumes from it."""
    _raw_data(world)
    run_dir = world["hk"] / "runs" / "stalled"
    recipe = _recipe(world, run_dir, max_steps=400, log_interval=2)
    sets = ("--set", "checkpoint.interval_steps=4",
            "--set", f"train.collective_timeout_s={STALL_BOUND_S}")  # fmt: skip
    run = Train(recipe, tmp_path / "train.log", *sets, nproc=2)
    workers: list[int] = []
    try:
        run.wait_for(" written (")  # step 4 published
        run.wait_for("step 8/400")
        workers = _workers(run.proc.pid)
        (rank1,) = [pid for pid, rank in workers if rank == 1]
        os.kill(rank1, signal.SIGSTOP)
        stopped = time.monotonic()
        code = run.finish(timeout=STALL_BOUND_S + 120)
        took = time.monotonic() - stopped
        output = run.output()
        assert code == 5, output
        # the bound, less the step rank 0 may already have waited in, plus launcher slack
        assert STALL_BOUND_S - 3 <= took <= STALL_BOUND_S + 20, (took, output)
        (line,) = [ln for ln in output.splitlines() if "watchdog: rank 0 made no progress" in ln]
        assert f"train.collective_timeout_s={STALL_BOUND_S}" in line, line
        assert "stalled: rank 1 (no heartbeat for" in line and "last completed step" in line
        operation = r" in (train step \d+ \(\w|stop agreement|checkpoint |eval |reading the loss)"
        assert re.search(operation, line), line
        assert "Traceback" not in output
        assert [pid for pid, _ in workers if _alive(pid)] == []
        print(f"SIGSTOP to every rank gone: {took:.1f}s (bound {STALL_BOUND_S}s)")
    finally:
        for pid, _ in workers:
            _end(pid)
        if run.proc.poll() is None:
            run.proc.kill()
            run.finish()
    store = CheckpointStore(str(run_dir / "checkpoints"), 0, 1)
    newest = store.newest_verified()
    assert newest is not None and newest >= "step_00000004"
    assert (run_dir / "checkpoints" / LATEST).read_text() == newest
    again = Train(recipe, tmp_path / "again.log", *sets, "--stop-after", "2", nproc=2)
    assert again.finish() == 0, again.output()
    assert "resumed from checkpoint" in again.output() and newest in again.output()


def _workers(launcher: int) -> list[tuple[int, int]]:
    """(pid, RANK) of the training processes under `launcher` (the torchrun workers)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"sovtrain.cli" not in cmdline or not _descends(int(proc.name), launcher):
            continue
        ranks = [int(v[5:]) for v in environ if v.startswith(b"RANK=")]
        if ranks and any(v.startswith(b"TORCHELASTIC_RUN_ID=") for v in environ):
            found.append((int(proc.name), ranks[0]))
    assert sorted(rank for _, rank in found) == [0, 1], found
    return found


def _descends(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def _alive(pid: int) -> bool:
    """Running or stopped (a zombie is gone: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _end(pid: int) -> None:
    for sig in (signal.SIGCONT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except OSError:
            return
