"""The on-disk backlog: tracking records MLflow has not acknowledged yet.

Layout of a spool directory (`<output_uri>/tracking/` for a local run directory):

    backlog.jsonl   header line, then one record per line, append-only, oldest first
    backlog.ack     {"id": <backlog id>, "offset": N}: the first N bytes were acknowledged
    files/...       snapshots of files queued with `log_file`
    .lock           held (flock) by whoever replays: a training process or `tracking sync`

Why an ack offset instead of rewriting the file: a replay that is interrupted and started
again continues after the last acknowledged batch (no metric point is sent twice), and
acknowledging a batch costs one small atomic write, not a copy of the whole backlog. The
ack names the backlog's id, so a stale ack can never skip records of a newer backlog.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from sovtrain.tracking.records import Record, dumps, joins

log = logging.getLogger(__name__)

BACKLOG = "backlog.jsonl"
_FORMAT = "sovtrain-tracking-backlog/1"


def spool_dir(output_uri: str) -> Path:
    """`<run dir>/tracking` for a local run; this machine's cache for a remote one."""
    from sovtrain import storage

    local = storage.local_path(output_uri)
    if local is not None:
        return local / "tracking"
    from sovtrain.core.paths import cache_root

    digest = hashlib.sha256(output_uri.rstrip("/").encode()).hexdigest()[:12]
    name = output_uri.rstrip("/").rsplit("/", 1)[-1] or "run"
    return cache_root() / "tracking" / f"{name}-{digest}"


def find_backlogs(target: Path) -> list[Path]:
    """Backlog files for `sovtrain tracking sync TARGET`: a backlog file itself, a spool
    directory, or a run directory (its `tracking/`); older (set-aside) ones first."""
    if target.is_file():
        return [target]
    folder = target / "tracking" if (target / "tracking").is_dir() else target
    found = [p for p in folder.glob("backlog*.jsonl") if p.is_file()]
    return sorted(found, key=lambda p: (p.name == BACKLOG, p.stat().st_mtime))


def hold_lock(folder: Path) -> IO[str] | None:
    """Take the spool's lock (non-blocking; None when another process replays it).

    Held by a training process for its lifetime and by `tracking sync` while it replays,
    so two replays of one backlog never race; closing the handle releases it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = (folder / ".lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


class Backlog:
    """One backlog file and its ack; not thread-safe (the sender serialises access)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ack_path = path.with_suffix(".ack")
        self._header: dict[str, Any] | None = None

    @property
    def shown(self) -> str:
        """The file's real path, for messages (it may be reached through a pinned
        `/proc/self/fd/N` directory, see `sovtrain.storage.pinned`)."""
        return os.path.realpath(self.path)

    @property
    def base(self) -> Path:
        """File snapshots are stored relative to this directory."""
        return self.path.parent

    def header(self) -> dict[str, Any] | None:
        if self._header is None and self.path.exists():
            with self.path.open("rb") as handle:
                first = handle.readline()
            if not first.endswith(b"\n"):
                return None  # created, header not fully written yet (or torn)
            try:
                header = json.loads(first)
            except ValueError:
                header = None
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise ValueError(f"{self.path}: not a sovtrain tracking backlog")
            self._header = header
        return self._header

    @property
    def tracking_uri(self) -> str | None:
        header = self.header()
        return header["tracking_uri"] if header else None

    def append(self, records: list[Record], tracking_uri: str) -> None:
        """Spill: records go after everything already in the file (order is kept)."""
        if not records:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="ascii") as handle:
            if handle.tell() == 0:
                self._header = {
                    "format": _FORMAT,
                    "id": uuid.uuid4().hex,
                    "tracking_uri": tracking_uri,
                    "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
                handle.write(dumps(self._header) + "\n")
            handle.write("".join(dumps(r) + "\n" for r in records))

    def start(self) -> int:
        """Offset of the first record (just past the header)."""
        header = self.header()
        return len(dumps(header)) + 1 if header else 0

    def acked(self) -> int:
        """Offset up to which MLflow acknowledged the records (a stale ack is ignored)."""
        header = self.header()
        if header is None:
            return 0
        try:
            ack = json.loads(self.ack_path.read_text())
        except (OSError, ValueError):
            return self.start()
        if ack.get("id") != header["id"]:
            return self.start()
        return max(self.start(), int(ack.get("offset", 0)))

    def ack(self, offset: int) -> None:
        """Atomically record that everything before `offset` reached MLflow."""
        header = self.header()
        if header is None:
            return
        tmp = self.ack_path.with_suffix(".ack.tmp")
        tmp.write_text(json.dumps({"id": header["id"], "offset": offset}))
        os.replace(tmp, self.ack_path)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def pending(self, offset: int | None = None) -> bool:
        return self.size() > (self.acked() if offset is None else offset)

    def read(
        self, offset: int, skip: Callable[[Record], bool] = lambda r: False
    ) -> tuple[list[Record], int, int]:
        """The next batch from `offset` (one MLflow call's worth, see `records.joins`), the
        offset just past it and how many records that consumed; records `skip` says were
        already sent are consumed without being returned."""
        batch: list[Record] = []
        consumed = 0
        with self.path.open("rb") as handle:
            handle.seek(offset)
            while True:
                line = handle.readline()
                if not line.endswith(b"\n"):
                    break  # end of file (or a torn last line: left for `repair`)
                record = json.loads(line)
                if skip(record):
                    offset, consumed = offset + len(line), consumed + 1
                    continue
                if not joins(batch, record):
                    break
                batch.append(record)
                offset, consumed = offset + len(line), consumed + 1
                if record["op"] != "metrics":
                    break
        return batch, offset, consumed

    def records(self, offset: int | None = None) -> Iterator[Record]:
        """Every unacknowledged record, oldest first (for counting and resume checks)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(self.acked() if offset is None else offset)
            for line in handle:
                if line.endswith(b"\n"):
                    yield json.loads(line)

    def count(self) -> int:
        return sum(1 for _ in self.records())

    def repair(self) -> None:
        """Drop a torn last line (a process killed mid-write) so appends stay well-formed."""
        size = self.size()
        if size == 0:
            return
        with self.path.open("rb+") as handle:
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            handle.seek(0)
            keep = handle.read().rfind(b"\n") + 1
            handle.truncate(keep)
        log.warning("%s: dropped a partly written last record", self.path)

    def set_aside(self) -> Path:
        """Rename this backlog out of the way (it belongs to another tracking server)."""
        header = self.header() or {}
        target = self.path.with_name(f"backlog-{header.get('id', uuid.uuid4().hex)[:12]}.jsonl")
        os.replace(self.path, target)
        if self.ack_path.exists():
            os.replace(self.ack_path, target.with_suffix(".ack"))
        self._header = None
        return target

    def clear(self) -> None:
        """Everything was acknowledged: remove the file first, then its (now stale) ack."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.ack_path.unlink()
        self._header = None
        with contextlib.suppress(OSError):
            (self.base / "files").rmdir()  # only when no snapshot is left
