"""Append-only, hash-chained audit log of residency decisions (JSON lines).

Each record carries `seq` (0, 1, 2, ...), `prev` (the previous record's hash) and `hash`
(sha256 of the record's canonical JSON without `hash`). Editing a record breaks its hash;
deleting or reordering one breaks the `seq`/`prev` chain of the next. Dropping records from
the end leaves a valid shorter chain, so the head (count and last hash) is also published
(the MLflow run's `audit.head` tag) and `verify(..., expect_head=...)` compares against it.

The log is written with plain appends on a pinned descriptor, not through `sovtrain.storage`:
it records the storage layer's decisions, and its own location was admitted with the run's
output directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import getpass
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovtrain.core.errors import PolicyRefused, SovtrainError
from sovtrain.storage import canonical_uri
from sovtrain.storage.pinned import open_append_nofollow

GENESIS = "0" * 64


class AuditError(SovtrainError):
    """The audit log cannot be written: nothing may happen without its record."""


def _hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def principal() -> str:
    """Who acted: the Slurm job's user when there is one, else the OS user."""
    return os.environ.get("SLURM_JOB_USER") or getpass.getuser()


class AuditLog:
    """Appends decision records to one file, continuing the chain already in it.

    The file is opened once, without following symlinks, and records are written through that
    descriptor: a run directory swapped for a link after admission cannot redirect them. If
    the file is no longer where it was admitted (moved, replaced, or its directory swapped),
    records go to `fallback` (the site's refusals log) and any further allowed access is
    refused: a job whose audit trail moved does not keep working unaudited.
    """

    def __init__(self, path: Path, job: str, fallback: Path | None = None) -> None:
        self.path = Path(canonical_uri(str(path)))
        self.job = job
        self.fallback = fallback
        self._lock = threading.Lock()  # the MLflow and prefetch threads may touch storage
        self._fd = open_append_nofollow(self.path)
        self._diverted: AuditLog | None = None
        self._seq, self._prev, torn = _tail(self.path)
        if torn is not None:
            self._set_aside(*torn)

    @property
    def head(self) -> str:
        return f"{self._seq}:{self._prev}"

    def append(self, decision: dict[str, Any]) -> dict[str, Any]:
        moved = self.moved_to()
        if moved is not None:
            return self._divert(decision, moved)
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
            line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
            try:
                _append_whole(self._fd, line.encode("utf-8"))
            except OSError as err:  # e.g. a full disk: no action goes unaudited
                raise AuditError(
                    f"audit log {self.path}: cannot append ({err.strerror}); the job stops "
                    "rather than act without a record"
                ) from None
            self._seq += 1
            self._prev = record["hash"]
            return record

    def _set_aside(self, offset: int, fragment: bytes) -> None:
        """A record cut short by a crash is cut off the file, and its bytes are kept in the
        chain's next record: the log stays verifiable and nothing is silently dropped."""
        os.ftruncate(self._fd, offset)
        self.append({
            "action": "audit-repair", "uri": str(self.path), "result": "allow",
            "rule": "torn-tail", "fragment": fragment.decode("utf-8", "replace"),
            "reason": f"a record cut short at byte {offset} (a crash mid-write) was removed "
                      "from the end of the log; its bytes are kept in `fragment`",
        })  # fmt: skip

    def moved_to(self) -> str | None:
        """Where the file is now, if that is no longer the admitted path (None: unmoved)."""
        now = os.readlink(f"/proc/self/fd/{self._fd}")
        try:
            same = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return now
        mine = os.fstat(self._fd)
        unmoved = (same.st_dev, same.st_ino) == (mine.st_dev, mine.st_ino) and now == str(self.path)
        return None if unmoved else now

    def _divert(self, decision: dict[str, Any], moved: str) -> dict[str, Any]:
        """Record in the fallback log; refuse anything but the record of a refusal."""
        if self.fallback is None:
            raise PolicyRefused(_moved_message(self.path, moved))
        if self._diverted is None:
            self._diverted = AuditLog(self.fallback, self.job)
            self._diverted.append(
                {"action": "audit", "uri": str(self.path), "result": "deny",
                 "rule": "audit-pinned", "reason": _moved_message(self.path, moved)}
            )  # fmt: skip
        record = self._diverted.append(decision)
        if decision.get("result") != "deny":
            raise PolicyRefused(_moved_message(self.path, moved))
        return record

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _moved_message(path: Path, moved: str) -> str:
    return (
        f"residency: the audit log {path} is no longer where it was admitted (now {moved}); "
        "its run directory was moved or replaced after admission, so the job stops "
        "(rule audit-pinned; records continue in the site's refusals log)"
    )


def _append_whole(fd: int, data: bytes) -> None:
    """One record, all or nothing: a short write (a full disk) is cut back off the file."""
    size = os.fstat(fd).st_size
    try:
        if os.write(fd, data) != len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise


def _tail(path: Path) -> tuple[int, str, tuple[int, bytes] | None]:
    """(next seq, last hash, torn tail) of an existing log, so a resumed job extends the same
    chain. The torn tail (offset, bytes) is a last record without its newline that does not
    parse: what a crash in the middle of a write leaves."""
    data = path.read_bytes() if path.exists() else b""
    torn = None
    if data and not data.endswith(b"\n"):
        start = data.rfind(b"\n") + 1
        try:
            json.loads(data[start:])
        except ValueError:
            torn, data = (start, data[start:]), data[:start]
    lines = [line for line in data.splitlines() if line.strip()]
    if not lines:
        return 0, GENESIS, torn
    try:
        record = json.loads(lines[-1])
        return int(record["seq"]) + 1, str(record["hash"]), torn
    except (ValueError, KeyError, TypeError):
        raise AuditError(
            f"audit log {path}: its last record (line {len(lines)}) is not a valid record; "
            f"check it with `sovtrain audit verify {path}` before any job writes to it again"
        ) from None


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
