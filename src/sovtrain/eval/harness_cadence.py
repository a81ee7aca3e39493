"""`eval.harness`: lm-evaluation-harness tasks during training, at a step cadence.

Why every rank runs them: under ZeRO-3 each rank holds a slice of every weight, and a
forward gathers the slices layer by layer, which needs all ranks to run the same forwards.
The harness is deterministic (same tasks, same documents, same batches on every rank), so
every rank scores the same requests on the live module: no consolidated copy of the
weights, no second model in memory, the same path for ZeRO 0-3. Under ZeRO 0-2 the other
ranks repeat rank 0's work instead of waiting for it. Rank 0 writes lm-eval's results JSON
(`<output_uri>/eval/harness/step_X/`) and logs `eval/harness/<task>/<metric>` at the step.

Tasks and their files are checked when the hook is built, before step 1: a missing or
malformed file ends the job with the file named, before any GPU-hour is spent.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from sovtrain import storage
from sovtrain.eval.harness import (
    HarnessSpec,
    check_tasks,
    harness_lm,
    lm_eval_limit,
    run_harness,
)
from sovtrain.eval.harness_results import step_dir, write_results
from sovtrain.recipe.schema import HarnessSection
from sovtrain.train.hooks import Hook, HookContext, Loop, StepEnd

log = logging.getLogger(__name__)


def harness_hooks(run: HookContext) -> list[Hook]:
    """`eval.harness`'s cadence for a training run (none without the section); its tasks and
    files are loaded now, before step 1. `sovtrain train` hands this to the session."""
    section = run.loaded.recipe.eval.harness
    if section is None:
        return []
    from sovtrain.data.tokenizer import load_hf

    recipe = run.loaded.recipe
    tokenizer = load_hf(storage.join(recipe.data.prepared_uri, "tokenizer"))
    return [HarnessCadence(section, run.module, tokenizer, recipe.run.output_uri, run.lineage,
                           run.ctx.is_main)]  # fmt: skip


def harness_spec(section: HarnessSection) -> HarnessSpec:
    """The recipe's `eval.harness` as the harness runner's spec."""
    return HarnessSpec(
        tasks=tuple(section.tasks),
        include_path=tuple(section.include_path),
        limit=lm_eval_limit(section.limit),
        num_fewshot=section.num_fewshot,
        batch_size=section.batch_size,
        data_dir=section.data_dir,
    )


class HarnessCadence(Hook):
    """The recipe's harness tasks every `interval_steps` and at the final step (not on a
    signalled stop: the grace time is for the checkpoint)."""

    def __init__(self, section: HarnessSection, module: torch.nn.Module, tokenizer: Any,
                 run_uri: str, lineage: tuple[str, ...], is_main: bool) -> None:  # fmt: skip
        self.spec = harness_spec(section)
        self.interval = section.interval_steps
        self.module, self.tokenizer = module, tokenizer
        self.run_uri, self.lineage, self.is_main = run_uri, lineage, is_main
        self.manager = check_tasks(self.spec)  # before step 1
        self.lm: Any = None  # built on first use, around the live module
        self.step = 0
        self.metrics: dict[str, float] = {}  # the latest, for the run summary

    @property
    def operation(self) -> str:
        return f"harness eval at step {self.step}"

    def post_step(self, loop: Loop, end: StepEnd) -> None:
        if end.signal is None and (end.step % self.interval == 0 or end.last):
            self.evaluate(loop, end.step)

    def summary_rows(self) -> list[tuple[str, str]]:
        """`harness  hkfin_mc_en/acc 0.4250, ... (step N)`: the last scores."""
        return [("harness", f"{self.scores()} (step {self.step})")] if self.metrics else []

    def scores(self) -> str:
        """The latest scores, without their stderr."""
        return ", ".join(f"{key.removeprefix('eval/harness/')} {value:.4f}"
                         for key, value in self.metrics.items()
                         if not key.endswith("_stderr"))  # fmt: skip

    def evaluate(self, loop: Loop, step: int) -> None:
        self.step = step
        with loop.aside(self.operation):
            if self.lm is None:  # every forward is progress to the watchdog
                self.lm = harness_lm(self.module, self.tokenizer, self.spec.batch_size,
                                     on_batch=lambda: loop.mark(self.operation))  # fmt: skip
            run = run_harness(self.lm, self.spec, self.manager)
        self.metrics = run.mlflow_metrics()
        loop.tracker.log_metrics(self.metrics, step)
        if self.is_main:
            write_results(run, step_dir(self.run_uri, step), self.lineage)
            log.info("step %d harness: %s", step, self.scores())
