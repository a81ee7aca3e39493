"""Step-boundary behaviour of the loop: a signalled stop, the requeue protocol, the cadences.

The stop test runs a real single-process DeepSpeed run in a child process and delivers a real
SIGUSR1 to it right after step 3, with `log_interval` far beyond the run's end: the stop is
agreed at that very step boundary, not at the next logging step.
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path

import pytest

from sovtrain.core.errors import Preempted
from sovtrain.distributed.collectives import ALONE, all_gather_object, any_rank, broadcast_object
from sovtrain.train.cadence import CheckpointCadence
from sovtrain.train.hooks import StepEnd
from sovtrain.train.loop import RunSummary
from sovtrain.train.requeue import end_stopped_invocation
from tests.conftest import TINY_RECIPE, run_python, write_recipe

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from sovtrain.recipe import load_recipe
    from sovtrain.train.loop import Trainer
    from sovtrain.train.session import run_training

    take_step = Trainer.train_step

    def step_then_signal(self):  # the scheduler's USR1 lands while step 3 runs
        take_step(self)
        if self.state.step == 3:
            os.kill(os.getpid(), signal.SIGUSR1)

    Trainer.train_step = step_then_signal
    session, summary = run_training(load_recipe(sys.argv[1]), resume="never")
    print(json.dumps({"final_step": summary.final_step, "stopped_by": summary.stopped_by,
                      "logged": [step for step, _ in summary.losses]}))
    """
)


def test_a_signal_stops_the_run_at_the_next_step_whatever_the_log_interval(tmp_path: Path):
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    recipe["train"].update(max_steps=12, log_interval=1000, eval_interval=1000)
    recipe["checkpoint"]["interval_steps"] = 1000  # only the signal's checkpoint
    recipe["tracking"]["enabled"] = False
    path = write_recipe(tmp_path / "tiny.yaml", recipe)
    result = run_python(CHILD, str(path))
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"final_step": 3, "stopped_by": "SIGUSR1", "logged": []}
    checkpoints = sorted((tmp_path / "run" / "checkpoints").glob("step_*"))
    assert [c.name for c in checkpoints] == ["step_00000003"]
    state = json.loads((checkpoints[0] / "sovtrain_state.json").read_text())
    assert state["saved_for"] == "SIGUSR1" and state["step"] == 3


def _summary(final_step: int, stopped_by: str | None) -> RunSummary:
    return RunSummary(final_step=final_step, tokens_seen=0, train_loss=1.0, eval_loss=1.0,
                      tokens_per_s=1.0, mfu=0.1, last_checkpoint=None,
                      stopped_by=stopped_by)  # fmt: skip


def test_a_signalled_stop_before_the_end_exits_75_or_leaves_the_requeue_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("SOVTRAIN_REQUEUE_FILE", raising=False)
    with pytest.raises(Preempted, match=r"SIGUSR1: checkpointed at step 5"):
        end_stopped_invocation(_summary(5, "SIGUSR1"), total_steps=12, is_main=True)
    end_stopped_invocation(_summary(12, "SIGUSR1"), total_steps=12, is_main=True)  # finished
    end_stopped_invocation(_summary(5, None), total_steps=12, is_main=True)  # a pause
    marker = tmp_path / ".requeue-1"
    monkeypatch.setenv("SOVTRAIN_REQUEUE_FILE", str(marker))
    end_stopped_invocation(_summary(5, "SIGTERM"), total_steps=12, is_main=False)
    assert not marker.exists()  # rank 0 writes it, the others only exit 0
    end_stopped_invocation(_summary(5, "SIGTERM"), total_steps=12, is_main=True)
    assert marker.read_text() == "SIGTERM step 5\n"


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        (StepEnd(4, last=False, pause=False, signal=None), "interval"),
        (StepEnd(5, last=False, pause=False, signal=None), None),
        (StepEnd(5, last=False, pause=True, signal=None), "pause"),
        (StepEnd(6, last=True, pause=False, signal=None), "final"),
        (StepEnd(8, last=True, pause=True, signal=None), "final"),
        (StepEnd(8, last=False, pause=True, signal="SIGUSR1"), "SIGUSR1"),
    ],
)
def test_checkpoint_cadence_writes_for_the_same_reasons(end: StepEnd, reason: str | None):
    assert CheckpointCadence(interval=4, save_final=True).reason(end) == reason


def test_without_save_final_the_last_step_is_saved_only_on_the_interval():
    cadence = CheckpointCadence(interval=4, save_final=False)
    assert cadence.reason(StepEnd(6, last=True, pause=False, signal=None)) is None
    assert cadence.reason(StepEnd(8, last=True, pause=False, signal=None)) == "final"


def test_collectives_are_no_ops_alone():
    assert any_rank(True) and not any_rank(False, group=ALONE)
    assert broadcast_object({"a": 1}, group=ALONE) == {"a": 1}
    assert all_gather_object("x") == ["x"]


RAISING_CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    from pathlib import Path
    from sovtrain.recipe import load_recipe
    from sovtrain.train import checkpoint as ck
    from sovtrain.train.loop import Trainer
    from sovtrain.train.session import run_training

    hashed, real_hash = threading.Event(), ck.sha256_file
    def slow_hash(path):  # the publish of step 4 is still running when step 5 raises
        time.sleep(0.5)
        hashed.set()
        return real_hash(path)
    ck.sha256_file = slow_hash

    take_step, seen = Trainer.train_step, {"reported": []}
    def step_then_raise(self):
        take_step(self)
        if self.state.step == 5:
            seen["in_flight"] = self.store.in_flight and not hashed.is_set()
            raise RuntimeError("boom at step 5")
    Trainer.train_step = step_then_raise
    publish = Trainer._published
    def published(self, saved):
        if saved is not None:
            seen["reported"].append(saved.step)
        publish(self, saved)
    Trainer._published = published
    try:
        run_training(load_recipe(sys.argv[1]), resume="never")
    except RuntimeError as err:
        seen["raised"] = str(err)
    print(json.dumps(seen))
    """
)


def test_a_loop_that_raises_still_publishes_the_async_checkpoint_in_flight(tmp_path: Path):
    from sovtrain.train.checkpoint import CheckpointStore

    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    recipe["train"].update(max_steps=12, log_interval=1000, eval_interval=1000)
    recipe["checkpoint"].update({"interval_steps": 4, "async": True})
    recipe["tracking"]["enabled"] = False
    path = write_recipe(tmp_path / "tiny.yaml", recipe)
    result = run_python(RAISING_CHILD, str(path))
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"in_flight": True, "raised": "boom at step 5", "reported": [4]}
    root = tmp_path / "run" / "checkpoints"
    assert (root / "latest").read_text() == "step_00000004"
    assert CheckpointStore(str(root), 0, 1).newest_verified() == "step_00000004"
