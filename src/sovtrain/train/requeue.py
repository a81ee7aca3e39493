"""How an invocation that checkpointed on a signal ends: the requeue-marker protocol.

Under the sbatch template (`SOVTRAIN_REQUEUE_FILE` set) every rank exits 0 and rank 0
leaves a requeue marker the batch script reads: a non-zero rank exit would make
`srun --kill-on-bad-exit` kill its peers mid-exit. Elsewhere the invocation raises
`Preempted` (exit 75, "checkpointed, run again"). A run that reached its last step is
finished whatever the signal said, so nothing happens then.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sovtrain.core.errors import Preempted
from sovtrain.train.loop import RunSummary

log = logging.getLogger(__name__)

REQUEUE_FILE_ENV = "SOVTRAIN_REQUEUE_FILE"


def stopped_early(summary: RunSummary, total_steps: int) -> bool:
    """Checkpointed on a signal before the last step: the run is to be continued."""
    return summary.stopped_by is not None and summary.final_step < total_steps


def end_stopped_invocation(summary: RunSummary, total_steps: int, is_main: bool) -> None:
    """Leave the requeue marker or raise `Preempted` when `summary` stopped on a signal
    before `total_steps`; return quietly otherwise."""
    if not stopped_early(summary, total_steps):
        return
    marker = os.environ.get(REQUEUE_FILE_ENV)
    if marker:
        if is_main:
            Path(marker).write_text(f"{summary.stopped_by} step {summary.final_step}\n")
        log.warning(
            "%s: checkpointed at step %d; the job requeues itself", summary.stopped_by,
            summary.final_step,
        )  # fmt: skip
        return
    raise Preempted(
        f"{summary.stopped_by}: checkpointed at step {summary.final_step}; "
        "run the same command (or requeue the job) to continue"
    )
