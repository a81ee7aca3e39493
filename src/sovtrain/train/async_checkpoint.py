"""`checkpoint.async: true`: the training thread writes, a background thread publishes.

On the training thread every rank writes its DeepSpeed files, RNG and state into the
pinned staging directory and the ranks agree on write failures, exactly as the synchronous
`CheckpointStore.save` does. Then `save` returns; rank 0 hashes the staged files, writes the
manifest, renames the directory into place, moves `latest` and prunes in a background
thread. That thread runs no collective (one interleaved with the training thread's would
deadlock or mis-order): the ranks learn its outcome together in `drain`, which the trainer
calls before staging the next checkpoint (so at most one is in flight) and in `post_train`
(end of run, pause, signalled stop, and after a raise, where rank 0 only finishes the
publish and nothing is agreed: a peer may be gone).

Atomicity is the synchronous one: the publish steps run in the same order, so a process
killed while the thread works leaves `latest` on the previous verified checkpoint and a
staging directory that is never resumed. Nothing is reported (hooks, MLflow, the run
summary) before `drain` says it is published.

Object-store roots (no local path: files are uploaded per rank, which is collective) stay
synchronous.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import SovtrainError
from sovtrain.train.checkpoint import CheckpointStore, SavedCheckpoint, step_name

log = logging.getLogger(__name__)


class AsyncCheckpointWriter:
    """A `CheckpointWriter` that stages and returns; rank 0 publishes in the background."""

    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self._thread: threading.Thread | None = None
        self._pins = contextlib.ExitStack()
        self._outcome: SavedCheckpoint | SovtrainError | None = None
        self._settled: SavedCheckpoint | None = None  # drained inside `save`, not yet reported
        self.background_s: list[float] = []  # seconds each publish took on its thread

    @property
    def in_flight(self) -> bool:
        return self._thread is not None

    def save(self, engine: Any, state: dict[str, Any]) -> SavedCheckpoint | None:
        """Stage a checkpoint of `engine` + `state` (all ranks call); None: it is being
        published, `drain` tells. Object stores: the synchronous save, published on return."""
        if self.store._local_root is None:
            return self.store.save(engine, state)
        if self.in_flight:  # at most one in flight; its outcome waits for the next drain
            self._settled = self.drain()
        store, step = self.store, int(state["step"])
        name = step_name(step)
        pins = contextlib.ExitStack()
        try:
            parent = pins.enter_context(store.pin_staging())
            if store.rank == 0:
                parent.clear()  # a crashed save's leftovers would make this one fail too
            store._barrier()
            stage = pins.enter_context(storage.child_dir(parent, name))
            failure = store._write(engine, parent, stage, name, state)
            store._agree(failure, parent, name, engine)  # raises on every rank if one failed
        except BaseException:
            pins.close()
            raise
        if store.rank != 0:  # nothing left to do here: rank 0 publishes
            pins.close()
            self._thread = threading.current_thread()  # marks "in flight" for the drain
            return None
        self._pins = pins
        self._thread = threading.Thread(
            target=self._publish, args=(parent, stage, name, step),
            name=f"sovtrain-checkpoint-{name}", daemon=False,  # the interpreter waits for it
        )  # fmt: skip
        self._thread.start()
        log.info("checkpoint %s staged; publishing in the background", name)
        return None

    def _publish(
        self, parent: storage.PinnedDir, stage: storage.PinnedDir, name: str, step: int
    ) -> None:
        started = time.perf_counter()
        try:
            self._outcome = self.store.publish_staged(parent, stage, name, step)
        except BaseException as err:  # anything else: reported by the drain, never lost
            self._outcome = SovtrainError(f"checkpoint {name}: publishing failed: {err!r}")
        self.background_s.append(time.perf_counter() - started)

    def drain(self, agree: bool = True) -> SavedCheckpoint | None:
        """Wait for the checkpoint in flight. `agree` (all ranks call): every rank gets its
        outcome, the published checkpoint (or None when none was in flight), or raises its
        failure. Not `agree` (after a raise): rank 0 only waits; nothing is collective."""
        thread, self._thread = self._thread, None
        if thread is None:
            settled, self._settled = self._settled, None
            return settled
        outcome: SavedCheckpoint | SovtrainError | None = None
        if self.store.rank == 0:
            if thread is not threading.current_thread():
                thread.join()
            self._pins.close()
            outcome, self._outcome = self._outcome, None
        if agree:
            outcome = self.store._broadcast(outcome)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
