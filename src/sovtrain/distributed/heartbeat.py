"""Heartbeats: what each rank is doing, readable by the others without a collective.

When one rank stops, the healthy ones are blocked in a collective waiting for it, so they
cannot ask it anything through the process group. Instead every rank's watchdog thread
publishes a small record (`Beat`: step, operation, a progress counter, wall time, host and
pid) every few seconds to the c10d key-value store the process group was built on (under
torchrun it lives in the agent, under srun in rank 0's process). A clone of that store with a
short timeout is used, so a read or write never blocks the exit for long, even when the
store's host is the stalled one.

`find_stalled` is the decision, kept pure so it is tested without processes.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

KEY_PREFIX = "sovtrain/heartbeat/"


@dataclass(frozen=True)
class Beat:
    """One rank's state at `at` (wall time, seconds)."""

    rank: int
    step: int  # last completed optimizer step
    operation: str  # what the rank is doing now, e.g. "train step 8 (forward/backward/step)"
    seq: int  # progress marks passed so far: every rank passes the same marks in the same order
    at: float  # when this beat was published (time.time())
    node: str = ""  # host (and Slurm node): who can see this rank's pid
    pid: int = 0
    started: str = ""  # the process start time (/proc), so a recycled pid is never mistaken
    left: bool = False  # the rank left the training loop (finished, raised or was stopped)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Beat:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Verdict:
    """Which ranks hold the others up, and why (`reasons[rank]`, a few words)."""

    stalled: tuple[int, ...]
    reasons: dict[int, str]
    frozen: tuple[int, ...] = ()  # stalled ranks whose heartbeat stopped: their whole process


def find_stalled(
    beats: dict[int, Beat | None], world_size: int, now: float, stale_after: float
) -> Verdict:
    """The stalled ranks among `world_size`, from their latest `beats` (None: none seen).

    1. a rank with no beat, a stale beat (older than `stale_after`: SIGSTOP, a frozen host,
       a process gone) or one that left the loop holds up everyone still inside it;
    2. otherwise the live ranks behind the furthest one (fewer progress marks passed: stuck
       in a data read, say, while the others wait for it in the next collective);
    3. otherwise no rank stands out: all wait in the same operation, the collective itself
       (the network) is stuck. Nobody is named.
    """
    reasons: dict[int, str] = {}
    for rank in range(world_size):
        beat = beats.get(rank)
        if beat is None:
            reasons[rank] = "no heartbeat"
        elif beat.left:
            reasons[rank] = f"left the training loop after step {beat.step}"
        elif now - beat.at > stale_after:
            reasons[rank] = f"no heartbeat for {now - beat.at:.0f}s: stopped or frozen"
    frozen = tuple(sorted(reasons))
    if not reasons:
        live = [b for b in beats.values() if b is not None]
        furthest = max(b.seq for b in live)
        for beat in live:
            if beat.seq < furthest:
                reasons[beat.rank] = "behind the others"
    return Verdict(tuple(sorted(reasons)), reasons, frozen)


def describe(beats: dict[int, Beat | None], verdict: Verdict) -> str:
    """`rank 1 (no heartbeat for 18s: stopped or frozen; last seen in train step 8, step 7)`."""
    parts = []
    for rank in verdict.stalled:
        beat = beats.get(rank)
        seen = f"; last seen in {beat.operation}, step {beat.step}" if beat else ""
        parts.append(f"rank {rank} ({verdict.reasons[rank]}{seen})")
    return ", ".join(parts)


def node_name() -> str:
    """This host, and the Slurm node when there is one (two `nodes` may share a host)."""
    slurm = os.environ.get("SLURMD_NODENAME")
    host = socket.gethostname()
    return f"{host}/{slurm}" if slurm else host


def process_started(pid: int) -> str:
    """The start time of `pid` in clock ticks since boot ('' when unreadable)."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - a one-line read
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


class HeartbeatBoard:
    """Beats in a c10d store, every operation bounded by `timeout_s`."""

    def __init__(self, store: Any, world_size: int, timeout_s: float) -> None:
        self.store = store
        self.world_size = world_size
        store.set_timeout(timedelta(seconds=timeout_s))

    @classmethod
    def of_default_group(cls, world_size: int, timeout_s: float) -> HeartbeatBoard:
        """A board on a clone of the default process group's store (its own connection and
        timeout: the group's own store keeps its long timeout)."""
        from torch.distributed.distributed_c10d import _get_default_store

        store: Any = _get_default_store()  # `clone` is missing from torch's stubs
        return cls(store.clone(), world_size, timeout_s)

    def publish(self, beat: Beat) -> None:
        self.store.set(f"{KEY_PREFIX}{beat.rank}", beat.to_json())

    def read(self) -> dict[int, Beat | None]:
        """Every rank's latest beat (None for a rank that never published); raises the
        store's error when it cannot be reached in time."""
        keys = [f"{KEY_PREFIX}{rank}" for rank in range(self.world_size)]
        present = [key for key in keys if self.store.check([key])]
        values = dict(zip(present, self.store.multi_get(present), strict=True)) if present else {}
        return {
            rank: Beat.from_json(values[key]) if key in values else None
            for rank, key in enumerate(keys)
        }


def beat_now(rank: int, step: int, operation: str, seq: int, left: bool = False) -> Beat:
    """This process's beat, published now."""
    pid = os.getpid()
    return Beat(rank, step, operation, seq, time.time(), node_name(), pid, _started(pid), left)


@functools.cache
def _started(pid: int) -> str:
    return process_started(pid)
