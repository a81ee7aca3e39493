"""`sovtrain tracking sync`: replay a backlog a training run left behind.

Idempotent by construction: after each batch MLflow acknowledged, the backlog's ack offset
is rewritten atomically, so an interrupted replay started again continues after the last
acknowledged batch instead of sending metric points twice. (SQL-backed MLflow stores also
ignore an exactly repeated point, which covers the one batch in flight when a replay dies.)
The run's final status is a record like any other, so it lands last, once all metrics have.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovtrain.core.errors import SovtrainError
from sovtrain.tracking.backlog import Backlog, find_backlogs, hold_lock, spool_dir
from sovtrain.tracking.records import classify, forget_snapshot, points, reason, send
from sovtrain.tracking.run_start import bound_http_requests

log = logging.getLogger(__name__)

_ERROR_ATTEMPTS = 5


@dataclass
class SyncResult:
    """What one backlog's replay did."""

    backlog: Path
    tracking_uri: str
    records: int = 0
    points: int = 0
    dropped: int = 0
    statuses: dict[str, str] = field(default_factory=dict)  # run id -> final status set
    complete: bool = False


def backlogs_for(target: str) -> list[Path]:
    """RUN_DIR (local path or remote output URI), a spool directory, or a backlog file."""
    from sovtrain import storage

    local = storage.local_path(target)
    if local is not None and not local.exists():
        raise SovtrainError(f"{target}: no such run directory or backlog file")
    return find_backlogs(local if local is not None else spool_dir(target))


def sync(
    target: str, tracking_uri: str | None = None, max_batches: int | None = None
) -> list[SyncResult]:
    """Replay every backlog of `target`, oldest first (none: nothing to do). `max_batches`
    stops early (the rest stays queued, as after an interruption)."""
    bound_http_requests()
    results = []
    for path in backlogs_for(target):
        handle = hold_lock(path.parent)
        if handle is None:
            raise SovtrainError(
                f"{path}: in use by a running training process or another sync (it replays "
                "the backlog itself); try again when it has exited"
            )
        try:
            results.append(replay(Backlog(path), tracking_uri, max_batches))
        finally:
            handle.close()
    return results


def replay(backlog: Backlog, tracking_uri: str | None, max_batches: int | None) -> SyncResult:
    """Send the backlog's unacknowledged records in order, acknowledging batch by batch."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri or backlog.tracking_uri
    if uri is None:
        raise SovtrainError(f"{backlog.path}: empty backlog (nothing to sync)")
    result = SyncResult(backlog.path, uri)
    client = MlflowClient(tracking_uri=uri)
    offset, sent_batches = backlog.acked(), 0
    while max_batches is None or sent_batches < max_batches:
        batch, end, consumed = backlog.read(offset)
        if consumed == 0:
            break
        if not _deliver(client, batch, backlog, result):
            result.dropped += len(batch)
        for record in batch:
            forget_snapshot(record, backlog.base)
            if record["op"] == "finish":
                result.statuses[record["run"]] = record["status"]
        result.records += len(batch)
        result.points += sum(map(points, batch))
        offset = end
        backlog.ack(offset)
        sent_batches += 1
    if not backlog.pending(offset):
        backlog.clear()
        result.complete = True
    return result


def _deliver(
    client: Any, batch: list[dict[str, Any]], backlog: Backlog, result: SyncResult
) -> bool:
    """True when MLflow took the batch; False when it refused it (dropped, with a warning).
    An unreachable server stops the replay with a SovtrainError: run it again later."""
    for attempt in range(1, _ERROR_ATTEMPTS + 1):
        try:
            send(client, batch, backlog.base)
            return True
        except Exception as err:
            kind = classify(err)
            if kind == "down":
                raise SovtrainError(
                    f"MLflow at {result.tracking_uri} is unreachable ({reason(err)}): replayed "
                    f"{result.records} records, the rest stay in {backlog.path}; run the same "
                    "command again to continue"
                ) from None
            if kind == "error" and attempt < _ERROR_ATTEMPTS:
                time.sleep(min(8.0, 2.0**attempt))
                continue
            log.warning("MLflow did not accept a %s record for run %s (%s): dropped",
                        batch[0]["op"], batch[0]["run"], reason(err))  # fmt: skip
            return False
    return False
