"""Bytes and calls per (region, purpose, action) that passed the storage door, for the audit.

Why totals and not a record per call: a job makes thousands of storage calls (every shard
mapped, every checkpoint file); the decision records already say what was allowed, and a
reviewer signing the audit report needs how much data went where, and why. Each guarded
job (`ResidencyGuard`) keeps one `IoTotals`; storage tells it what each admitted call moved
(`storage.Meter.after`), and the totals are appended to the job's audit log once, when the
job ends, as records

    {"kind": "io-totals", "region": "hk", "purpose": "shards", "action": "read",
     "bytes": 123, "calls": 4}

(decision records have no "kind"). Counting is one dict update under a lock: the MLflow
and prefetch threads touch storage too, and the step loop must not pay more than that.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sovtrain import storage
from sovtrain.governance.audit import AuditLog
from sovtrain.governance.sites import Site

log = logging.getLogger(__name__)
KIND = "io-totals"
UNMAPPED = "-"  # a location in no region (only reachable by calls no guard refused)


class IoTotals:
    """The tally of one job; `flush` appends it to the job's audit log, once."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, str, str], list[int]] = {}  # key -> [bytes, calls]
        self._regions: dict[str, str] = {}  # canonical uri -> region, memoised
        self.flushed = False

    def count(self, access: storage.Access, nbytes: int) -> None:
        """One admitted call that succeeded and moved `nbytes` (0 for metadata calls)."""
        if self.flushed:
            return
        region = self._regions.get(access.uri)
        if region is None:
            region = self.site.storage_region(access.uri) or UNMAPPED
            if len(self._regions) < 100_000:  # bounded: a job may touch many distinct files
                self._regions[access.uri] = region
        key = (region, access.purpose, access.action)
        with self._lock:
            slot = self._totals.setdefault(key, [0, 0])
            slot[0] += nbytes
            slot[1] += 1

    def records(self) -> list[dict[str, Any]]:
        """The io-totals records, sorted by region, purpose and action."""
        with self._lock:
            items = sorted(self._totals.items())
        return [
            {"kind": KIND, "region": region, "purpose": purpose, "action": action,
             "bytes": totals[0], "calls": totals[1]}
            for (region, purpose, action), totals in items
        ]  # fmt: skip

    def flush(self, audit: AuditLog | None) -> list[dict[str, Any]]:
        """Append the records to `audit` once (later calls do nothing and return []).

        After the flush nothing more is counted: the totals are what the job's head, once
        published, covers. Never raises: a job ending must not fail for its statistics (a
        moved log already refused every access after the move)."""
        with self._lock:
            if self.flushed:
                return []
            self.flushed = True
        records = self.records()
        if audit is None:
            return records
        try:
            if audit.moved_to() is not None:
                log.warning("audit log %s moved: io-totals not recorded", audit.path)
                return records
            for record in records:
                audit.append(record)
        except Exception as err:  # e.g. a full disk at exit: warn, do not mask the outcome
            log.warning("could not append io-totals to %s: %s", audit.path, err)
        return records
