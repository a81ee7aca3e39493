"""One writer per run directory: an exclusive lease on `run.output_uri`.

Two `sovtrain train` on one output directory used to both succeed: they overwrote each
other's checkpoints and broke the audit chain. Rank 0 now takes `<output_uri>/writer.lease`
(create-if-absent: `O_EXCL` locally, a conditional PUT on object storage) before the job
writes anything, refreshes it while it runs, and removes it on exit. A lease is taken over
only from an owner that is provably gone:
    - the same Slurm job id (a requeued job continues its own run),
    - the same host and the owner's process no longer exists (pid and start time checked,
      so a reused pid does not count as alive),
    - a heartbeat older than the lease's time to live (the owner's host is gone),
    - the owner's Slurm job is no longer running (asked of `scontrol`, where there is one).
Anything else is a second writer, refused with who holds the run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import asdict, dataclass

from sovtrain import storage
from sovtrain.core.errors import SovtrainError

log = logging.getLogger(__name__)
LEASE = "writer.lease"
_PURPOSE = "run-output"
_LIVE_SLURM_STATES = {"RUNNING", "COMPLETING", "SUSPENDED", "CONFIGURING", "PENDING", "STOPPED"}


class RunBusy(SovtrainError):
    """Another live process is writing this run directory."""


def default_ttl_s() -> float:
    """Time to live of a lease without heartbeat (SOVTRAIN_LEASE_TTL_S, default 15 min)."""
    return float(os.environ.get("SOVTRAIN_LEASE_TTL_S", "900"))


@dataclass(frozen=True)
class Owner:
    token: str
    run: str
    host: str
    pid: int
    pid_start: str
    slurm_job_id: str
    started: float
    heartbeat: float
    ttl_s: float

    def describe(self) -> str:
        job = f", Slurm job {self.slurm_job_id}" if self.slurm_job_id else ""
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"run {self.run!r}: pid {self.pid} on {self.host}{job}, since {since}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def me(run: str, ttl_s: float) -> Owner:
    now = time.time()
    return Owner(
        token=uuid.uuid4().hex, run=run, host=socket.gethostname(), pid=os.getpid(),
        pid_start=_process_start(os.getpid()), slurm_job_id=os.environ.get("SLURM_JOB_ID", ""),
        started=now, heartbeat=now, ttl_s=ttl_s,
    )  # fmt: skip


def gone(owner: Owner, mine: Owner, now: float) -> str | None:
    """Why `owner` provably no longer writes (None: it may still be alive)."""
    if owner.slurm_job_id and owner.slurm_job_id == mine.slurm_job_id:
        return f"Slurm job {owner.slurm_job_id} was requeued: it continues its own run"
    if owner.host == mine.host and _process_start(owner.pid) != owner.pid_start:
        return f"process {owner.pid} on {owner.host} has exited"
    if now - owner.heartbeat > owner.ttl_s:
        return f"no heartbeat for {now - owner.heartbeat:.0f} s (time to live {owner.ttl_s:.0f} s)"
    if owner.slurm_job_id and _slurm_job_ended(owner.slurm_job_id):
        return f"Slurm job {owner.slurm_job_id} is no longer running"
    return None


class RunLease:
    """The lease of one run directory, held by this process while it trains."""

    def __init__(self, output_uri: str, run: str, ttl_s: float | None = None) -> None:
        self.uri = storage.join(output_uri, LEASE)
        self.owner = me(run, ttl_s or default_ttl_s())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lease or raise RunBusy naming the live owner."""
        data = self.owner.to_json().encode()
        if storage.create_exclusive(self.uri, data, purpose=_PURPOSE):
            return self._start_heartbeat()
        held = self._read()
        why = None if held is None else gone(held, self.owner, time.time())
        if held is not None and why is None:
            raise RunBusy(
                f"{self.uri}: the run directory is being written by {held.describe()}; "
                "wait for it to finish, stop it, or set another run.output_uri"
            )
        if held is not None and self._read() != held:  # it changed while we looked
            raise RunBusy(f"{self.uri}: another process is taking the run over right now")
        storage.remove(self.uri, purpose=_PURPOSE)
        if not storage.create_exclusive(self.uri, data, purpose=_PURPOSE):
            raise RunBusy(f"{self.uri}: another process took the run over first")
        log.info("took over the run directory lease (%s)", why or "unreadable lease")
        self._start_heartbeat()

    def release(self) -> None:
        """Stop the heartbeat and remove the lease if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        held = self._read()
        if held is not None and held.token == self.owner.token:
            storage.remove(self.uri, purpose=_PURPOSE)

    def _read(self) -> Owner | None:
        try:
            return Owner(**json.loads(storage.read_text(self.uri, purpose=_PURPOSE)))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError):
            return None  # a torn or foreign file: treated as an expired lease

    def _start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="run-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        interval = max(1.0, self.owner.ttl_s / 4)
        while not self._stop.wait(interval):
            held = self._read()
            if held is None or held.token != self.owner.token:
                log.error("the run directory lease %s was taken over by %s", self.uri,
                          held.describe() if held else "nobody")  # fmt: skip
                return
            self.owner = Owner(**{**asdict(self.owner), "heartbeat": time.time()})
            try:
                storage.write_text_atomic(self.uri, self.owner.to_json(), purpose=_PURPOSE)
            except (OSError, SovtrainError) as err:
                log.warning("could not refresh the run lease %s: %s", self.uri, err)


def _process_start(pid: int) -> str:
    """The start time of `pid` in clock ticks since boot ("" when no such process)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return ""


def _slurm_job_ended(job_id: str) -> bool:
    if shutil.which("scontrol") is None:
        return False
    try:
        out = subprocess.run(
            ["scontrol", "-o", "show", "job", job_id], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    if "Invalid job id" in out.stderr:
        return True
    state = _field(out.stdout, "JobState")
    return bool(state) and state not in _LIVE_SLURM_STATES


def _field(line: str, name: str) -> str:
    for word in line.split():
        key, _, value = word.partition("=")
        if key == name:
            return value
    return ""


_HELD: RunLease | None = None


def hold(lease: RunLease) -> None:
    """Remember this process's lease so `release_held` can drop it however the run ends."""
    global _HELD
    _HELD = lease


def release_held() -> None:
    """Drop the held lease; never raises (it runs while another error may be propagating,
    and a lease left behind is taken over once this process is gone)."""
    global _HELD
    if _HELD is not None:
        lease, _HELD = _HELD, None
        try:
            lease.release()
        except (OSError, SovtrainError) as err:
            log.warning("run lease %s not released: %s", lease.uri, err)
