"""Append-only, hash-chained audit log of residency decisions (JSON lines).

Each record carries `seq` (0, 1, 2, ...), `prev` (the previous record's hash) and `hash`
(sha256 of the record's canonical JSON without `hash`). Editing a record breaks its hash;
deleting or reordering one breaks the `seq`/`prev` chain of the next. Dropping records from
the end leaves a valid shorter chain, so the head (count and last hash) is also published
(the MLflow run's `audit.head` tag) and `verify(..., expect_head=...)` compares against it.

The log is written with plain file appends, not through `sovtrain.storage`: it records the
storage layer's decisions, and its own location was admitted with the run's output directory.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def _hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def principal() -> str:
    """Who acted: the Slurm job's user when there is one, else the OS user."""
    return os.environ.get("SLURM_JOB_USER") or getpass.getuser()


class AuditLog:
    """Appends decision records to one file, continuing the chain already in it."""

    def __init__(self, path: Path, job: str) -> None:
        self.path = path
        self.job = job
        self._lock = threading.Lock()  # the MLflow and prefetch threads may touch storage
        path.parent.mkdir(parents=True, exist_ok=True)
        self._seq, self._prev = _tail(path)

    @property
    def head(self) -> str:
        return f"{self._seq}:{self._prev}"

    def append(self, decision: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            record = {
                "seq": self._seq,
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "principal": principal(),
                "job": self.job,
                **decision,
                "prev": self._prev,
            }
            record["hash"] = _hash(record)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self._seq += 1
            self._prev = record["hash"]
            return record


def _tail(path: Path) -> tuple[int, str]:
    """(next seq, last hash) of an existing log, so a resumed job extends the same chain."""
    if not path.exists():
        return 0, GENESIS
    last = None
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                last = line
    if last is None:
        return 0, GENESIS
    record = json.loads(last)
    return int(record["seq"]) + 1, str(record["hash"])


@dataclass
class Verification:
    records: int = 0
    head: str = f"0:{GENESIS}"
    problems: list[str] = field(default_factory=list)
    denied: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path, expect_head: str | None = None) -> Verification:
    """Check every record's hash and the seq/prev chain; optionally the published head."""
    result = Verification()
    prev, seq = GENESIS, 0
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                result.problems.append(f"line {number}: not JSON")
                continue
            if record.get("hash") != _hash(record):
                result.problems.append(f"line {number}: record seq {record.get('seq')} edited")
            if record.get("seq") != seq:
                result.problems.append(
                    f"line {number}: expected seq {seq}, found {record.get('seq')} "
                    "(records deleted or reordered)"
                )
            if record.get("prev") != prev:
                result.problems.append(f"line {number}: chain broken (prev hash mismatch)")
            result.denied += record.get("result") == "deny"
            prev, seq = str(record.get("hash")), int(record.get("seq", seq)) + 1
            result.records += 1
    result.head = f"{seq}:{prev}"
    if expect_head is not None and expect_head != result.head:
        result.problems.append(
            f"head {result.head[:20]}... differs from the published {expect_head[:20]}... "
            "(records missing at the end?)"
        )
    return result
