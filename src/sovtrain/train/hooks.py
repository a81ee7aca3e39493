"""Step-boundary hooks: what happens between two optimizer steps, outside the loop's body.

Why: eval, checkpoint and logging cadences, the progress bar, and tomorrow harness evals or
an async checkpoint writer, each used to add an `if` to `Trainer.run`. Now the loop calls
four methods on every hook (OLMo-core's `train/callbacks/callback.py` has the same shape):

    pre_train(loop)                     once, before the first step of this invocation
    post_step(loop, end)                after every optimizer step, `end` says where it stands
    post_checkpoint_saved(loop, saved)  after a checkpoint is published (manifest + latest)
    post_train(loop)                    once, always, also when the loop raised

Hooks run in list order; the default order (`cadence.default_hooks`) is what makes the
semantics: metrics first (the non-finite check happens before any checkpoint), then eval,
then checkpoint. A hook reaches the trainer only through `Loop`, the few methods cadences
call, so this module sits below `loop.py` and a hook never imports the trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar

import torch

from sovtrain.distributed.context import DistContext
from sovtrain.recipe.load import LoadedRecipe
from sovtrain.tracking import Tracker
from sovtrain.train.checkpoint import SavedCheckpoint

H = TypeVar("H", bound="Hook")


@dataclass(frozen=True)
class StepEnd:
    """Where the step that just finished stands; every hook reads the same facts."""

    step: int
    last: bool  # the run's final step (`train.total_steps`)
    pause: bool  # `stop_after` steps of this invocation are done
    signal: str | None  # the ranks agreed to stop on this signal (SIGUSR1, SIGTERM, "signal")

    @property
    def stops(self) -> bool:
        """This invocation ends after this step's hooks."""
        return self.last or self.pause or self.signal is not None


class Loop(Protocol):
    """What a hook may ask of the trainer (`train.loop.Trainer` is the one implementation)."""

    tracker: Tracker

    def report(self) -> None:
        """Read the accumulated loss (the one device sync), raise on NaN/inf, log metrics."""

    def evaluate(self, note: str = "") -> float:
        """Held-out loss, logged as `eval_loss` at the current step."""
        ...

    def save_checkpoint(self, reason: str = "interval") -> SavedCheckpoint | None:
        """Write a checkpoint marked `saved_for=reason` (collective: every rank calls); None
        while an async writer publishes it."""
        ...

    def drain_checkpoint(self) -> None:
        """Wait until the checkpoint in flight (if any) is published and reported."""
        ...

    def aside(self, operation: str) -> AbstractContextManager[None]:
        """A block of work that is not training: eval mode, no autograd, out of the
        throughput window, `operation` told to the stall watchdog."""
        ...

    def mark(self, operation: str) -> None:
        """Tell the stall watchdog this rank progressed (long work marks as it goes)."""


class Hook:
    """A no-op at every boundary; subclasses override the ones they need."""

    def pre_train(self, loop: Loop) -> None:
        return None

    def post_step(self, loop: Loop, end: StepEnd) -> None:
        return None

    def post_checkpoint_saved(self, loop: Loop, saved: SavedCheckpoint) -> None:
        return None

    def post_train(self, loop: Loop) -> None:
        return None

    def summary_rows(self) -> list[tuple[str, str]]:
        """(key, value) lines this hook adds to the end-of-run summary (e.g. harness scores)."""
        return []


@dataclass(frozen=True)
class HookContext:
    """What a hook built outside `train/` gets once the engine exists (`HookFactory`): the
    recipe, this rank, the live module (the DeepSpeed engine's, partitioned under ZeRO-3)
    and the run's lineage (the data cards its outputs derive from)."""

    loaded: LoadedRecipe
    ctx: DistContext
    module: torch.nn.Module
    lineage: tuple[str, ...]


# builds a run's extra hooks from its context (none when the recipe does not ask for them)
HookFactory = Callable[[HookContext], Sequence[Hook]]


class Hooks(Hook):
    """Fans every boundary out to its hooks, in order."""

    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self.hooks = list(hooks)

    def find(self, kind: type[H]) -> H | None:
        """The first hook of `kind` (e.g. the eval cadence, whose figures the summary reads)."""
        return next((hook for hook in self.hooks if isinstance(hook, kind)), None)

    def pre_train(self, loop: Loop) -> None:
        for hook in self.hooks:
            hook.pre_train(loop)

    def post_step(self, loop: Loop, end: StepEnd) -> None:
        for hook in self.hooks:
            hook.post_step(loop, end)

    def post_checkpoint_saved(self, loop: Loop, saved: SavedCheckpoint) -> None:
        for hook in self.hooks:
            hook.post_checkpoint_saved(loop, saved)

    def post_train(self, loop: Loop) -> None:
        for hook in self.hooks:
            hook.post_train(loop)
