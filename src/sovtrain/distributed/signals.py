"""Stop requests from the scheduler: checkpoint at the next safe step, then exit for requeue.

Slurm sends USR1 `signal_grace_s` before the time limit (`#SBATCH --signal=USR1@N`), on
`scancel --signal=USR1`, and SIGTERM on preemption or cancel. A handler only sets a flag: the
ranks agree on stopping at every step boundary, in a one-byte collective of their own on a
host (gloo) group (`collectives.any_rank`; a rank that stops alone would hang the others in
their next collective), so a stop never waits for `log_interval` and never syncs the device.
Then all of them write one checkpoint and exit with PREEMPTED_EXIT so the batch script
requeues the job.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

log = logging.getLogger(__name__)

# EX_TEMPFAIL: "try again later". The sbatch template requeues on exactly this code.
PREEMPTED_EXIT = 75
STOP_SIGNALS = (signal.SIGUSR1, signal.SIGTERM)


class StopRequest:
    """Installs the handlers for the duration of a `with` block; `.requested` is the flag.

    One per process (`process_stop_request`), entered as early as the job starts, so a
    signal that lands during data preparation or engine setup is remembered, not fatal.
    """

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
            log.warning("%s received: checkpointing at the next step boundary", self.signal_name)

    def __enter__(self) -> StopRequest:
        self._depth = getattr(self, "_depth", 0) + 1
        if self._depth == 1:
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)  # type: ignore[arg-type]
            self._previous.clear()


_PROCESS_STOP = StopRequest()


def process_stop_request() -> StopRequest:
    return _PROCESS_STOP
