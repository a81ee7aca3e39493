"""One sender thread per tracked run: every MLflow call happens here, in order.

The training thread only calls `put` (a short lock around a deque append). The lock is
never held across a network call: the sender copies a batch out, sends it unlocked, then
takes the lock again to acknowledge it. Records therefore live in exactly two places,
oldest first: the backlog file (what was spilled) and memory (what came after).

While the server is away the sender spills memory to the backlog about once a second (so
memory stays small and a crash loses at most that second), retries with exponential
backoff up to a cap, and replays file then memory, in order, when the server answers.
Metrics keep the timestamps and steps they were made with, so a replay is indistinguishable
from the live run. One warning when the server goes, one when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from sovtrain.tracking.backlog import Backlog
from sovtrain.tracking.records import (
    Outcome,
    Record,
    StoreMoved,
    classify,
    forget_snapshot,
    joins,
    reason,
    send,
)

log = logging.getLogger(__name__)

_SPILL_EVERY_S = 1.0
_ERROR_ATTEMPTS = 5  # an unclassified error is retried this often before the batch is dropped
Source = Literal["memory", "file"]


class Sender:
    """Owns the MLflow client after start-up; `put` from any thread, `close` once."""

    def __init__(
        self,
        client: Any,
        tracking_uri: str,
        backlog: Backlog,
        attempt: str,
        memory_limit: int = 10_000,
        backoff_cap: float = 30.0,
        skip_finish_of: str | None = None,
        precheck: Callable[[], None] | None = None,
    ) -> None:
        self.client, self.tracking_uri, self.backlog = client, tracking_uri, backlog
        self.attempt, self.memory_limit, self.backoff_cap = attempt, memory_limit, backoff_cap
        self.skip_finish_of = skip_finish_of  # an older attempt's "finish" of the run we continue
        self.precheck = precheck  # raises StoreMoved when the store may no longer be written
        self._held = False
        self._memory: deque[Record] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._seq = 0
        self._acked_seq = -1
        self._offset = backlog.acked()
        self._file_records = backlog.count()
        self._busy = False
        self._closing = self._abandoned = False
        self._down_since: float | None = None
        self._next_try = 0.0
        self._backoff = 0.0
        self._errors = 0
        self._last_spill = 0.0
        self._last_error: BaseException = RuntimeError("no error yet")
        self._thread = threading.Thread(target=self._run, name="mlflow-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # ------------------------------------------------------------------ any thread
    def put(self, record: Record) -> None:
        """Queue one record: no network, and a local disk write only when memory is full."""
        with self._cond:
            record["a"], record["s"] = self.attempt, self._seq
            self._seq += 1
            self._memory.append(record)
            if len(self._memory) >= self.memory_limit:
                self._spill()
            self._cond.notify_all()

    def pending(self) -> tuple[int, int]:
        """(records in memory, records in the backlog file) not yet acknowledged."""
        with self._cond:
            return len(self._memory), self._file_records

    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def held(self) -> bool:
        """The store moved out from under the run: nothing more is sent, all is kept."""
        return self._held

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued so far was acknowledged (True) or `timeout` passed."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._idle():
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(timeout=min(left, 0.5))
        return True

    def close(self, timeout: float) -> bool:
        """Send what is left within `timeout`; else spill it to the backlog and give up.

        True when everything reached MLflow. The thread is a daemon: a call still in
        flight when we give up cannot keep the process alive.
        """
        with self._cond:
            self._closing = True
            self._next_try = min(self._next_try, time.monotonic() + 1.0)
            self._cond.notify_all()
        deadline = time.monotonic() + max(0.0, timeout)
        while self._thread.is_alive() and not self._held and time.monotonic() < deadline:
            self._thread.join(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
        with self._cond:
            if self._thread.is_alive() or not self._idle():
                self._abandoned = True
                self._spill()
                self._cond.notify_all()
                return False
        return True

    # ------------------------------------------------------------------ sender thread
    def _run(self) -> None:
        while (taken := self._take()) is not None:
            source, batch = taken
            end = consumed = 0
            if source == "file":  # read unlocked: only this thread reads or truncates it
                batch, end, consumed = self.backlog.read(self._offset, self._already_sent)
            outcome = self._try(batch) if batch else "ok"
            self._settle(batch, source, end, consumed, outcome)

    def _take(self) -> tuple[Source, list[Record]] | None:
        """What to send next (file first, then memory), waiting while there is nothing or
        while backing off; None when closed and done (or abandoned)."""
        with self._cond:
            while not self._abandoned:
                now = time.monotonic()
                if self.down and self._memory and now - self._last_spill >= _SPILL_EVERY_S:
                    self._spill()
                if now < self._next_try:
                    self._cond.wait(timeout=min(_SPILL_EVERY_S, self._next_try - now))
                    continue
                if self.backlog.pending(self._offset):
                    self._offset = max(self._offset, self.backlog.start())
                    self._busy = True
                    return "file", []
                if self._memory:
                    self._busy = True
                    return "memory", self._front()
                if self._closing:
                    return None
                self._cond.notify_all()  # drain() waiters: idle now
                self._cond.wait(timeout=_SPILL_EVERY_S)
            return None

    def _front(self) -> list[Record]:
        batch: list[Record] = []
        for record in self._memory:
            if not joins(batch, record):
                break
            batch.append(record)
            if record["op"] != "metrics":
                break
        return batch

    def _try(self, batch: list[Record]) -> Outcome:
        try:
            if self.precheck is not None:
                self.precheck()
            send(self.client, batch, self.backlog.base)
            return "ok"
        except StoreMoved as err:
            self._last_error = err
            return "held"
        except Exception as err:  # tracking must never kill training
            self._last_error = err
            return classify(err)

    def _settle(
        self, batch: list[Record], source: Source, end: int, consumed: int, outcome: Outcome
    ) -> None:
        if outcome == "down":
            self._went_down()
            return
        if outcome == "held":
            self._hold()
            return
        if outcome == "error" and self._errors + 1 < _ERROR_ATTEMPTS:
            self._retry_later()
            return
        if outcome != "ok":
            log.warning(
                "MLflow did not accept %s for run %s (%s): dropped",
                _describe(batch), batch[0]["run"], reason(self._last_error),
            )  # fmt: skip
        self._acknowledge(batch, source, end, consumed)

    def _acknowledge(self, batch: list[Record], source: Source, end: int, consumed: int) -> None:
        with self._cond:
            if self._abandoned:  # the backlog belongs to `tracking sync` now: hands off
                return
            for record in batch:
                forget_snapshot(record, self.backlog.base)
            mine = [r["s"] for r in batch if r.get("a") == self.attempt]
            self._acked_seq = max([self._acked_seq, *mine])
            if source == "memory":
                while self._memory and self._memory[0]["s"] <= self._acked_seq:
                    self._memory.popleft()
            else:
                self._offset = end
                self._file_records = max(0, self._file_records - consumed)
                self.backlog.ack(end)
                if not self.backlog.pending(end):
                    self.backlog.clear()
                    self._offset, self._file_records = 0, 0
            self._busy, self._errors, self._backoff, self._next_try = False, 0, 0.0, 0.0
            if self._down_since is not None:
                self._came_back()
            self._cond.notify_all()

    def _already_sent(self, record: Record) -> bool:
        """Spilled while in flight and then acknowledged, or an older attempt's "finish"
        of the run this attempt continues (the run is running again)."""
        if record.get("a") == self.attempt:
            return record["s"] <= self._acked_seq
        return record["op"] == "finish" and record["run"] == self.skip_finish_of

    def _went_down(self) -> None:
        with self._cond:
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
                log.warning(
                    "MLflow at %s is unreachable (%s): training continues; tracking records "
                    "are kept (spilled to %s) and retried with backoff up to %.0fs",
                    self.tracking_uri, reason(self._last_error), self.backlog.shown,
                    self.backoff_cap,
                )  # fmt: skip
            self._backoff = min(self.backoff_cap, max(1.0, 2 * self._backoff))
            wait = min(self._backoff, 2.0) if self._closing else self._backoff
            self._next_try = now + wait
            self._busy = False
            if not self._abandoned:
                self._spill()
            self._cond.notify_all()

    def _hold(self) -> None:
        """Stop sending for good (the store is not where it was admitted) and keep every
        record in the backlog, which is pinned in the admitted place."""
        with self._cond:
            if not self._held:
                log.error("%s; tracking records are kept in %s", self._last_error,
                          self.backlog.shown)  # fmt: skip
            self._held = True
            self._down_since = self._down_since or time.monotonic()  # keeps spilling
            self._next_try = float("inf")
            self._busy = False
            self._spill()
            self._cond.notify_all()

    def _retry_later(self) -> None:
        with self._cond:
            self._errors += 1
            self._next_try = time.monotonic() + min(self.backoff_cap, 2.0**self._errors)
            self._busy = False
            self._cond.notify_all()

    def _came_back(self) -> None:
        """Called with the lock held, on the first acknowledged batch after an outage."""
        outage = time.monotonic() - (self._down_since or time.monotonic())
        self._down_since = None
        log.warning(
            "MLflow at %s is reachable again after %.0fs: replaying %d queued records "
            "(%d from %s)",
            self.tracking_uri, outage, len(self._memory) + self._file_records,
            self._file_records, self.backlog.path.name,
        )  # fmt: skip

    def _spill(self) -> None:
        """Move memory to the end of the backlog file (lock held). A failing disk keeps
        the records in memory rather than losing them."""
        self._last_spill = time.monotonic()
        if not self._memory:
            return
        records = list(self._memory)
        try:
            self.backlog.append(records, self.tracking_uri)
        except OSError as err:
            log.warning("could not spill %d tracking records to %s: %s", len(records),
                        self.backlog.shown, err)  # fmt: skip
            return
        self._memory.clear()
        self._file_records += len(records)

    def _idle(self) -> bool:
        return not self._memory and not self._busy and not self.backlog.pending(self._offset)


def _describe(batch: list[Record]) -> str:
    first = batch[0]
    if first["op"] == "metrics":
        steps = sorted({row[3] for record in batch for row in record["m"]})
        return f"metrics at steps {steps[0]}..{steps[-1]}"
    labels = {"text": f"artifact {first.get('path')}", "file": f"file {first.get('file')}"}
    return labels.get(first["op"], str(first["op"]))
