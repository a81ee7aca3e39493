"""The cadences of a run, as hooks: progress bar, metrics, eval, checkpoints.

Each reads the recipe's interval once and decides at every step boundary whether its turn
has come; none reads a device value except through the trainer call it makes on its turn.
Their order in `default_hooks` is part of the contract:

  1. progress   advances the terminal bar (no device read)
  2. metrics    every `train.log_interval` steps, at the end and at a pause: the loss is
                read, NaN/inf raises before anything is written. Not at a signalled stop
                between two logging steps: the loss curve keeps its cadence across a
                requeue, and the checkpoint refuses weights that saw a NaN by itself
                (`Trainer.refuse_if_diverged`)
  3. eval       every `train.eval_interval` steps and at the end, not on a signalled stop
                (the grace time is for the checkpoint); for `model.init_from` runs also
                the base itself, at step 0, before any update
  4. checkpoint every `checkpoint.interval_steps`, at the end (`checkpoint.save_final`), at
                a pause (`--stop-after`), and on a signal (then marked with its name)
  5. drain      in `post_train`: waits for a checkpoint still being published
                (`checkpoint.async`), before the invocation ends however it ends

`CheckpointCadence` only decides *when* and *why*; the write is `Trainer.save_checkpoint` ->
`CheckpointWriter.save` (loop.py). The async writer (`async_checkpoint.py`, issue 14) stages
and returns, publishing in the background; the trainer drains it before the next save and
`CheckpointDrain` at the end; records of a checkpoint live in `post_checkpoint_saved`, which
runs only once it is published.
"""

from __future__ import annotations

import math
import sys
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sovtrain.recipe.schema import Recipe
from sovtrain.train.checkpoint import SavedCheckpoint
from sovtrain.train.hooks import Hook, Loop, StepEnd

BASE_EVAL_NOTE = "the base on this run's held-out data"


class ProgressBar(Hook):
    """A step bar on rank 0 in a terminal (Slurm logs get the periodic log lines instead).

    Advancing it reads no device value, so it costs the hot loop nothing.
    """

    def __init__(self, is_main: bool, start: int, total: int) -> None:
        self.enabled = is_main and sys.stderr.isatty()
        self.start, self.total = start, total
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def pre_train(self, loop: Loop) -> None:
        self.progress = Progress(
            TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), disable=not self.enabled, console=Console(stderr=True),
            transient=True,
        )  # fmt: skip
        self.task = self.progress.add_task("steps", total=self.total, completed=self.start)
        self.progress.start()

    def post_step(self, loop: Loop, end: StepEnd) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=end.step)

    def post_train(self, loop: Loop) -> None:
        if self.progress is not None:
            self.progress.stop()


class MetricsCadence(Hook):
    """Training metrics every `log_interval` steps, at the end and at a pause; checkpoint
    records."""

    def __init__(self, interval: int) -> None:
        self.interval = interval

    def post_step(self, loop: Loop, end: StepEnd) -> None:
        if end.step % self.interval == 0 or end.last or end.pause:
            loop.report()

    def post_checkpoint_saved(self, loop: Loop, saved: SavedCheckpoint) -> None:
        loop.tracker.log_metrics({"checkpoint_bytes": float(saved.bytes)}, saved.step)
        loop.tracker.log_dict(
            {
                "step": saved.step,
                "uri": saved.uri,
                "bytes": saved.bytes,
                "manifest_sha256": saved.manifest_digest,
                "time": time.time(),
            },
            f"checkpoints/{saved.uri.rstrip('/').rsplit('/', 1)[-1]}.json",
        )


class EvalCadence(Hook):
    """Held-out loss every `interval` steps and at the end; the base's own at step 0.

    Keeps what it measured for the run summary: `before` (the base, NaN unless measured in
    this invocation) and the latest cadence eval (`loss` at `step`).
    """

    def __init__(self, interval: int, base_first: bool) -> None:
        self.interval, self.base_first = interval, base_first
        self.before = math.nan
        self.loss = math.nan
        self.step: int | None = None

    def pre_train(self, loop: Loop) -> None:
        if self.base_first:  # the baseline every later eval_loss is read against
            self.before = loop.evaluate(BASE_EVAL_NOTE)

    def post_step(self, loop: Loop, end: StepEnd) -> None:
        if end.signal is None and (end.step % self.interval == 0 or end.last):
            self.loss, self.step = loop.evaluate(), end.step


class CheckpointCadence(Hook):
    """Checkpoints on the interval, at the end, at a pause, and on an agreed signal."""

    def __init__(self, interval: int, save_final: bool) -> None:
        self.interval, self.save_final = interval, save_final

    def post_step(self, loop: Loop, end: StepEnd) -> None:
        reason = self.reason(end)
        if reason is not None:
            loop.save_checkpoint(reason)

    def reason(self, end: StepEnd) -> str | None:
        """`saved_for` of the checkpoint this step writes, or None for no checkpoint."""
        if end.signal is not None:
            return end.signal
        due = end.step % self.interval == 0 or (end.last and self.save_final) or end.pause
        if not due:
            return None
        return "final" if end.last else "pause" if end.pause else "interval"


class CheckpointDrain(Hook):
    """At the end of every invocation (the end, a pause, a signalled stop, a raise): wait for
    the checkpoint an async writer still publishes, so the process never exits before it."""

    def post_train(self, loop: Loop) -> None:
        loop.drain_checkpoint()


def default_hooks(recipe: Recipe, is_main: bool, start_step: int, total_steps: int) -> list[Hook]:
    """The cadences of `recipe`, in the order that makes their semantics (module docstring)."""
    train, ckpt = recipe.train, recipe.checkpoint
    # not again on resume: step 0 is long past
    base_first = bool(recipe.model.init_from) and start_step == 0
    hooks: list[Hook] = [
        ProgressBar(is_main, start_step, total_steps),
        MetricsCadence(train.log_interval),
        EvalCadence(train.eval_interval, base_first),
        CheckpointCadence(ckpt.interval_steps, ckpt.save_final),
    ]
    if ckpt.async_save:  # a synchronous save has published before it returned
        hooks.append(CheckpointDrain())
    return hooks
