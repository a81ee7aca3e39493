"""A stuck rank ends the job: a per-rank thread that exits when this rank stops progressing.

Why: one rank stuck (a dead NIC, a stuck data read, a SIGSTOPped process) leaves every other
rank blocked in its next collective, and the job burns its allocation in silence. The main
thread cannot notice (it is the one blocked), so a daemon thread watches the progress marks
the training loop leaves (`mark(operation, step)`: an attribute write, never a device read)
and, once none came for `timeout_s`, logs one line naming the stalled rank(s), the last
completed step and the operation, and leaves with `os._exit(5)` (`RankStalled`): the main
thread is inside a collective and would never see an exception. The launcher then ends the
rest: torchrun's agent stops the other workers, `srun --kill-on-bad-exit=1` the step.

The other ranks' state comes from heartbeats in the c10d store (`heartbeat.py`), not from a
collective. A rank whose heartbeat stopped is frozen (SIGSTOP, a hung host); its whole
process, threads included, is stopped, so it cannot exit by itself, and torchrun's agent
would wait 30 s on its SIGTERM before the SIGKILL. The rank that fires therefore ends frozen
peers on its own node (same host and Slurm node, the pid's start time checked) with SIGKILL;
on other nodes Slurm does it (step kill: SIGCONT, SIGTERM, SIGKILL after KillWait).

A process that was itself frozen (its thread wakes long after its last look: SIGSTOP, a
suspended Slurm job, a host freeze) does not fire on waking: the stop was not its loop's
fault, so the loop gets a fresh bound from the thaw (a suspended job resumes; a rank thawed
by the step's kill after its peers fired dies with the step).

Armed only around the training loop (`armed()`): set-up waits (rank 0 preparing data,
verifying checkpoints, loading a base) are long by nature and covered by the process group's
set-up timeout instead. In a world of one it is armed too: a lone process stuck in a data
read burns its allocation as surely as a rank of many.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sovtrain.core.errors import RankStalled
from sovtrain.distributed.heartbeat import (
    Beat,
    HeartbeatBoard,
    Verdict,
    beat_now,
    describe,
    find_stalled,
    node_name,
    process_started,
)
from sovtrain.distributed.launch import record_exit_code

log = logging.getLogger(__name__)

STALLED_EXIT = RankStalled.exit_code


def tick_for(timeout_s: float) -> float:
    """How often the thread looks and beats: a tenth of the bound, at most 5 s."""
    return max(0.05, min(5.0, timeout_s / 10))


class Progress(Protocol):
    """What the loop sees of a watchdog."""

    def mark(self, operation: str, step: int) -> None: ...

    def armed(self) -> AbstractContextManager[object]: ...


class Unwatched:
    """The watchdog of a trainer built without one (bench, unit tests): marks cost nothing."""

    def mark(self, operation: str, step: int) -> None:
        return None

    @contextmanager
    def armed(self) -> Iterator[Unwatched]:
        yield self


UNWATCHED: Progress = Unwatched()


class Watchdog:
    """Marks from the loop, a thread that fires when they stop; `armed()` runs the thread.

    `board` makes the heartbeat board (None in a world of one); `on_fire(message, beats,
    verdict)` replaces the exit in tests.
    """

    def __init__(
        self,
        timeout_s: float,
        rank: int = 0,
        world_size: int = 1,
        board: Callable[[], HeartbeatBoard | None] | None = None,
        setting: str = "train.collective_timeout_s",
        on_fire: Callable[[str, dict[int, Beat | None], Verdict | None], None] | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.rank, self.world_size = rank, world_size
        self.tick_s = tick_for(timeout_s)
        self.setting = setting
        self._make_board = board
        self._board: HeartbeatBoard | None = None
        self._on_fire = on_fire or self._exit
        self._seq = 0
        self._state = (0, 0, "starting", time.monotonic())  # seq, step, operation, when
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired: str | None = None
        self._mute_at = -1  # the progress count at a thaw (no heartbeat until it moves)

    @classmethod
    def for_world(cls, timeout_s: float, rank: int, world_size: int) -> Watchdog:
        """The watchdog of one rank; with peers, its heartbeats go to the process group's
        store (opened when armed)."""
        if world_size == 1:
            return cls(timeout_s, rank, world_size)
        timeout = store_timeout_for(timeout_s)
        return cls(
            timeout_s,
            rank,
            world_size,
            lambda: HeartbeatBoard.of_default_group(world_size, timeout),
        )

    # ------------------------------------------------------------------ the loop's side
    def mark(self, operation: str, step: int) -> None:
        """This rank made progress: it now does `operation`, `step` steps done. One tuple
        assignment (atomic for the watching thread), no I/O, no device read."""
        self._seq += 1
        self._state = (self._seq, step, operation, time.monotonic())

    @contextmanager
    def armed(self) -> Iterator[Watchdog]:
        """Watch for the duration of the block; disarmed however it ends."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._board = self._open_board()
        self.mark("starting the training loop", self._state[1])
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="sovtrain-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Disarm: the thread publishes that this rank left the loop and ends (daemon: it
        never keeps the process alive, and the join is bounded)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=self.tick_s + 2 * self._store_timeout())

    # ------------------------------------------------------------------ the thread
    def _watch(self) -> None:
        self._publish()
        thawed = woke = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now - woke > self._stale_after():  # this whole process was stopped
                if self._thawed_alone(now - woke):
                    return
                thawed, self._mute_at = now, self._state[0]
            woke = now
            seq, _, _, at = self._state
            due_in = max(at, thawed) + self.timeout_s - now
            if due_in <= 0:
                if self._fire(seq):
                    return
                continue
            if self._stop.wait(min(self.tick_s, due_in)):
                break
            self._publish()
        self._publish(left=True)

    def _fire(self, seq: int) -> bool:
        """Decide and act; False when a mark came meanwhile (no stall after all)."""
        beats, trouble = self._read_beats()
        if self._state[0] != seq or self._stop.is_set():
            return False
        verdict = None
        if trouble is None and beats:
            beats[self.rank] = self._own_beat()
            verdict = find_stalled(beats, self.world_size, time.time(), self._stale_after())
        self.fired = self._message(beats, verdict, trouble)
        self._on_fire(self.fired, beats, verdict)
        return True

    def _thawed_alone(self, frozen_s: float) -> bool:
        """Woken after `frozen_s` stopped: if the peers are gone (the store does not answer:
        they fired and the launcher ended them), leave with one line before the collective
        the main thread is in fails with a traceback; else (a suspended job resumed, a
        debugger let go) warn, and the loop gets a fresh bound."""
        _, step, operation, _ = self._state
        frozen = (
            f"watchdog: rank {self.rank} was frozen for {frozen_s:.0f}s (SIGSTOP, a suspended "
            f"job, a host freeze) in {operation}, last completed step {step}"
        )
        _, trouble = self._read_beats() if self._board is not None else ({}, None)
        if trouble is None:
            log.warning("%s; the loop gets a fresh %gs", frozen, self.timeout_s)
            return False
        self.fired = (
            f"{frozen}; its peers have gone (the heartbeat store does not answer: {trouble}); "
            f"stalled: rank {self.rank} (this rank); ending (exit {STALLED_EXIT})"
        )
        self._on_fire(self.fired, {}, None)
        return True

    def _own_beat(self, left: bool = False) -> Beat:
        seq, step, operation, _ = self._state
        return beat_now(self.rank, step, operation, seq, left)

    def _publish(self, left: bool = False) -> None:
        if self._board is None or self._mute_at == self._state[0]:
            return  # after a thaw, silent until the loop moves: the store may be gone with it
        try:
            self._board.publish(self._own_beat(left))
        except Exception as err:  # the store's host may be the stalled one: keep watching
            log.debug("heartbeat not published: %s", err)

    def _read_beats(self) -> tuple[dict[int, Beat | None], str | None]:
        if self._board is None:
            return {}, None
        try:
            return self._board.read(), None
        except Exception as err:
            return {}, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"

    def _open_board(self) -> HeartbeatBoard | None:
        if self._make_board is None:
            return None
        try:
            return self._make_board()
        except Exception as err:  # the watchdog still fires, naming no one
            log.warning("watchdog: no heartbeat store (%s); a stall will not name ranks", err)
            return None

    def _store_timeout(self) -> float:
        return store_timeout_for(self.timeout_s)

    def _stale_after(self) -> float:
        """A heartbeat older than this is a frozen process: half the bound (a frozen peer
        has been silent for about the whole bound when this fires; a live one beats every
        tick), never under three ticks."""
        return max(3 * self.tick_s, self.timeout_s / 2)

    # ------------------------------------------------------------------ the message, the exit
    def _message(
        self, beats: dict[int, Beat | None], verdict: Verdict | None, trouble: str | None
    ) -> str:
        _, step, operation, at = self._state
        idle = time.monotonic() - at  # a thaw restarted the bound, not this figure
        head = (
            f"watchdog: rank {self.rank} made no progress for {idle:.0f}s "
            f"({self.setting}={self.timeout_s:g}) in {operation}, last completed step {step}"
        )
        return f"{head}; stalled: {self._who(beats, verdict, trouble, operation)}; " + (
            f"ending the job (exit {STALLED_EXIT})"
        )

    def _who(
        self,
        beats: dict[int, Beat | None],
        verdict: Verdict | None,
        trouble: str | None,
        operation: str,
    ) -> str:
        if trouble is not None:
            return (
                f"unknown, the heartbeat store did not answer ({trouble}); under srun it "
                "lives in rank 0's process, so rank 0 is the likely one"
            )
        if verdict is None:
            return f"rank {self.rank} (this process, alone)"
        if not verdict.stalled:
            return (
                f"no rank stands out, every rank waits in {operation}: the collective itself "
                "(the network) is stuck"
            )
        return describe(beats, verdict).replace(
            f"rank {self.rank} (", f"rank {self.rank} (this rank; ", 1
        )

    def _exit(self, message: str, beats: dict[int, Beat | None], verdict: Verdict | None) -> None:
        log.error(message)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        if verdict is not None:
            end_frozen_peers(beats, verdict, self.rank)
        record_exit_code(STALLED_EXIT)
        os._exit(STALLED_EXIT)


def backstop_for(timeout_s: float) -> float:
    """The process group's timeout in the loop: later than the watchdog can fire (a tick,
    a store read), so the watchdog's named line comes first; a backstop if it cannot."""
    return timeout_s + max(15.0, timeout_s / 10)


def store_timeout_for(timeout_s: float) -> float:
    """Store reads and writes give up after this: a tenth of the bound, 0.5 to 5 s."""
    return max(0.5, min(5.0, timeout_s / 10))


def end_frozen_peers(beats: dict[int, Beat | None], verdict: Verdict, own_rank: int) -> list[int]:
    """SIGKILL the frozen stalled ranks that run on this node (their threads are stopped:
    they cannot exit by themselves); the pids of ranks on other nodes mean nothing here."""
    here, ended = node_name(), []
    for rank in verdict.frozen:
        beat = beats.get(rank)
        if beat is None or rank == own_rank or beat.left or beat.node != here or not beat.pid:
            continue
        if not beat.started or process_started(beat.pid) != beat.started:
            continue  # gone, or the pid now belongs to another process
        try:
            os.kill(beat.pid, signal.SIGKILL)
        except OSError:
            continue
        ended.append(rank)
        log.error("watchdog: ended frozen rank %d (pid %d) on this node", rank, beat.pid)
    return ended
