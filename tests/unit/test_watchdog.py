"""The stall watchdog without a training run: which ranks it names, when it fires, disarm.

Heartbeats go through a real c10d TCPStore in this process; the frozen peer in the last test
is a real process stopped with SIGSTOP.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import torch.distributed as dist

from sovtrain.distributed.heartbeat import (
    Beat,
    HeartbeatBoard,
    beat_now,
    find_stalled,
    node_name,
    process_started,
)
from sovtrain.distributed.watchdog import STALLED_EXIT, Watchdog, end_frozen_peers

NOW = 1_000_000.0


def beat(rank: int, seq: int = 10, age: float = 1.0, step: int = 7, **kw) -> Beat:
    operation = kw.pop("operation", f"train step {step + 1} (forward/backward/step)")
    return Beat(rank, step, operation, seq, NOW - age, **kw)


# --- the decision -----------------------------------------------------------------------------


def test_a_rank_whose_heartbeat_stopped_is_named_frozen():
    verdict = find_stalled({0: beat(0), 1: beat(1, age=19)}, 2, NOW, stale_after=10)
    assert verdict.stalled == (1,) and verdict.frozen == (1,)
    assert "no heartbeat for 19s" in verdict.reasons[1]


def test_a_rank_that_never_beat_or_left_the_loop_is_named():
    beats = {0: beat(0), 1: None, 2: beat(2, left=True)}
    verdict = find_stalled(beats, 3, NOW, stale_after=10)
    assert verdict.stalled == (1, 2)
    assert verdict.reasons[1] == "no heartbeat" and "left the training loop" in verdict.reasons[2]


def test_a_live_rank_behind_the_others_is_named_stuck_in_its_read():
    beats = {
        0: beat(0, seq=11),
        1: beat(1, seq=10, operation="train step 8 (reading a batch)"),
        2: beat(2, seq=11),
    }
    verdict = find_stalled(beats, 3, NOW, stale_after=10)
    assert verdict.stalled == (1,) and verdict.frozen == ()
    assert verdict.reasons[1] == "behind the others"


def test_a_frozen_rank_explains_the_stall_even_when_it_is_ahead():
    """Frozen right after its mark: the live ranks are not 'behind' it, they wait for it."""
    verdict = find_stalled({0: beat(0, seq=10), 1: beat(1, seq=11, age=30)}, 2, NOW, 10)
    assert verdict.stalled == (1,)


def test_no_rank_stands_out_when_all_wait_in_the_same_place():
    verdict = find_stalled({0: beat(0), 1: beat(1)}, 2, NOW, stale_after=10)
    assert verdict.stalled == ()


# --- the thread -------------------------------------------------------------------------------


class Fired:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.event = threading.Event()

    def __call__(self, message, beats, verdict) -> None:
        self.messages.append(message)
        self.verdict = verdict
        self.event.set()


def test_fires_after_the_bound_and_not_before_naming_operation_and_step():
    fired = Fired()
    dog = Watchdog(0.6, on_fire=fired)
    with dog.armed():
        dog.mark("checkpoint save step_00000008", 8)
        started = time.monotonic()
        assert not fired.event.wait(0.4)
        assert fired.event.wait(2)
        took = time.monotonic() - started
    assert 0.55 <= took < 1.5, took
    (message,) = fired.messages
    assert "watchdog: rank 0 made no progress for" in message
    assert "in checkpoint save step_00000008, last completed step 8" in message
    assert "rank 0 (this process, alone)" in message
    assert f"exit {STALLED_EXIT}" in message and "\n" not in message


def test_marks_keep_it_quiet_and_disarm_stops_it():
    fired = Fired()
    dog = Watchdog(0.4, on_fire=fired)
    with dog.armed():
        for step in range(12):  # 1.2 s of progress, three times the bound
            dog.mark(f"train step {step + 1} (forward/backward/step)", step)
            time.sleep(0.1)
        thread = dog._thread
    assert thread is not None and not thread.is_alive()
    time.sleep(0.8)
    assert fired.messages == []


def test_disarmed_on_an_exception_too():
    dog = Watchdog(0.3, on_fire=Fired())
    with pytest.raises(RuntimeError), dog.armed():
        thread = dog._thread
        raise RuntimeError("the loop raised")
    assert thread is not None and not thread.is_alive() and dog._thread is None


@pytest.fixture
def store():
    server = dist.TCPStore("127.0.0.1", 0, is_master=True, timeout=timedelta(seconds=5))
    yield server


def test_two_ranks_on_a_real_store_name_the_silent_one(store):
    """Rank 1 beats once, then stops (as a SIGSTOPped process would): rank 0 names it."""
    fired = Fired()
    healthy = Watchdog(1.0, 0, 2, board=lambda: HeartbeatBoard(store.clone(), 2, 0.5),
                       on_fire=fired)  # fmt: skip
    HeartbeatBoard(store.clone(), 2, 0.5).publish(
        Beat(1, 7, "train step 8 (forward/backward/step)", 5, time.time() - 5)
    )
    with healthy.armed():
        healthy.mark("train step 8 (forward/backward/step)", 7)
        assert fired.event.wait(5)
    (message,) = fired.messages
    assert "stalled: rank 1 (no heartbeat for" in message
    assert "last seen in train step 8 (forward/backward/step), step 7" in message
    assert fired.verdict.frozen == (1,)
    left = HeartbeatBoard(store.clone(), 2, 0.5).read()[0]
    assert left is not None and left.rank == 0


def test_a_rank_that_leaves_publishes_it(store):
    dog = Watchdog(5, 0, 2, board=lambda: HeartbeatBoard(store.clone(), 2, 0.5))
    with dog.armed():
        dog.mark("stop agreement after step 3", 3)
    final = HeartbeatBoard(store.clone(), 2, 0.5).read()[0]
    assert final is not None and final.left and final.step == 3


class _DeadStore:
    def set_timeout(self, timeout) -> None:
        pass

    def set(self, key, value) -> None:
        raise TimeoutError("wait timeout after 500ms")

    def check(self, keys) -> bool:
        raise TimeoutError("wait timeout after 500ms")


def test_an_unreachable_store_is_said_and_it_still_fires():
    fired = Fired()
    dog = Watchdog(0.5, 1, 2, board=lambda: HeartbeatBoard(_DeadStore(), 2, 0.5), on_fire=fired)
    with dog.armed():
        assert fired.event.wait(3)
    assert "the heartbeat store did not answer (TimeoutError" in fired.messages[0]
    assert "rank 0 is the likely one" in fired.messages[0]


def test_the_frozen_peer_on_this_node_is_ended():
    """A real process, SIGSTOPped, described by its heartbeat: SIGKILL reaches it."""
    peer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        peer.send_signal(signal.SIGSTOP)
        frozen = Beat(1, 7, "train step 8", 5, NOW - 30, node_name(), peer.pid,
                      process_started(peer.pid))  # fmt: skip
        recycled = Beat(2, 7, "train step 8", 5, NOW - 30, node_name(), peer.pid, "1")
        beats = {0: beat_now(0, 7, "train step 8", 6), 1: frozen, 2: recycled}
        verdict = find_stalled(beats, 3, NOW, stale_after=10)
        assert end_frozen_peers(beats, verdict, own_rank=0) == [1]
        assert peer.wait(timeout=10) == -signal.SIGKILL
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()


_THAWED_SCRIPT = """
import sys, time
from sovtrain.distributed.watchdog import Watchdog
dog = Watchdog(1.0, on_fire=lambda message, beats, verdict: print("FIRED", message, flush=True))
with dog.armed():
    print("ready", flush=True)
    for step in range(40):
        dog.mark("train step", step)
        time.sleep(0.05)
print("done", flush=True)
"""


def test_a_process_stopped_as_a_whole_gets_a_fresh_bound_when_it_resumes():
    """A suspended job (every rank SIGSTOPped, then SIGCONT) must not die on waking: the
    stop was not its loop's fault. A real process, stopped for 2.5x the bound."""
    proc = subprocess.Popen([sys.executable, "-c", _THAWED_SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGSTOP)
        time.sleep(2.5)
        proc.send_signal(signal.SIGCONT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "FIRED" not in out and "done" in out, out + err
    assert "watchdog: rank 0 was frozen for" in err and "a fresh 1s" in err, err
