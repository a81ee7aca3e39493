"""sha256 of a base's files: streamed, hashed on one rank, cached by file identity.

Why all three: a 7B base is 15 GB, a 72B one 145 GB, and admission runs on every start of a
job, including each requeue after preemption, on every rank.

- Streamed in 8 MiB chunks through `sovtrain.storage` (so remote bases work and guards see
  the reads); up to four files hash in parallel threads (hashlib releases the GIL).
- In a distributed job (torch.distributed initialised, world size > 1) only rank 0 hashes;
  the verdicts are broadcast, so 64 ranks do not read 145 GB each.
- Verified digests are cached in the site cache (`$SOVTRAIN_CACHE/base-digests/`), keyed by
  the file's identity: for a local file (path, size, mtime_ns, inode, device, ctime_ns),
  for an object its storage fingerprint (URI, size, ETag). ctime is in the key because
  mtime can be set back (`touch -d`, `cp -p`, `rsync -t`) to make an edited file look
  unchanged; ctime cannot be set by a user. A false miss only costs a rehash.
  A file whose identity changes while it is hashed is reported, never cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sovtrain import storage
from sovtrain.core.errors import SovtrainError

CHUNK = 8 << 20
WORKERS = 4
_PURPOSE = "base-model"
T = TypeVar("T")


@dataclass(frozen=True)
class FileDigest:
    path: str  # relative to the base directory
    size: int | None  # None: missing or unreadable
    sha256: str | None
    cached: bool = False
    error: str = ""


def cache_dir() -> Path:
    from sovtrain.core.paths import cache_root

    return cache_root() / "base-digests"


def _identity(uri: str) -> tuple[str, int]:
    """(cache key, size) of one file; OSError / FileNotFoundError when it is not there."""
    local = storage.local_path(uri)
    if local is not None:
        st = os.stat(local)
        fields = (local, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, st.st_ctime_ns)
        return "file|" + "|".join(map(str, fields)), st.st_size
    if not storage.exists(uri, purpose=_PURPOSE):
        raise FileNotFoundError(uri)
    return "object|" + storage.fingerprint(uri, purpose=_PURPOSE), storage.size(
        uri, purpose=_PURPOSE
    )


def _entry(key: str) -> Path:
    name = hashlib.sha256(key.encode()).hexdigest()
    return cache_dir() / name[:2] / f"{name}.json"


def cached_digest(key: str) -> str | None:
    """The digest recorded for exactly this identity; a torn or foreign entry is a miss."""
    try:
        record = json.loads(_entry(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    digest = record.get("sha256")
    return digest if isinstance(digest, str) and len(digest) == 64 else None


def _remember(key: str, digest: str) -> None:
    """Atomic write (temp file + rename): concurrent jobs never read half an entry. A cache
    that cannot be written only costs the next admission a rehash."""
    target = _entry(key)
    record = {"key": key, "sha256": digest, "hashed_at": dt.datetime.now(dt.UTC).isoformat()}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".entry.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(tmp, target)
    except OSError:
        pass


def _hash(uri: str) -> str:
    digest = hashlib.sha256()
    with storage.open_uri(uri, "rb", purpose=_PURPOSE) as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def digest_file(base_uri: str, rel: str, expect_size: int | None = None) -> FileDigest:
    """One file's digest: from the cache when its identity is unchanged, else hashed.

    A size that differs from `expect_size` is reported without hashing (the cheap check).
    """
    uri = storage.join(base_uri, rel)
    try:
        key, size = _identity(uri)
        if expect_size is not None and size != expect_size:
            return FileDigest(rel, size, None)
        known = cached_digest(key)
        if known is not None:
            return FileDigest(rel, size, known, cached=True)
        digest = _hash(uri)
        if _identity(uri)[0] != key:
            return FileDigest(rel, size, None, error="changed while it was being hashed")
    except FileNotFoundError:
        return FileDigest(rel, None, None, error="missing")
    except OSError as err:
        return FileDigest(rel, None, None, error=f"unreadable ({err.strerror or err})")
    _remember(key, digest)
    return FileDigest(rel, size, digest)


def digest_files(base_uri: str, files: list[tuple[str, int | None]]) -> list[FileDigest]:
    """Digests of (relative path, expected size or None) under `base_uri`, in order."""
    if not files:
        return []
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(files))) as pool:
        return list(pool.map(lambda f: digest_file(base_uri, f[0], f[1]), files))


def on_rank0(compute: Callable[[], T]) -> T:
    """`compute()` on rank 0 only, its result broadcast to every rank of an initialised
    process group; otherwise just `compute()`. Every rank must call this at the same point
    (admission does, in lockstep). A failure on rank 0 is raised on every rank, never left
    as a broadcast the others wait on forever."""
    # A process that never imported torch has no process group; and the compliance CLI
    # runs on laptops without torch, so this module never imports it itself.
    if "torch" not in sys.modules:
        return compute()
    from sovtrain.distributed import collectives

    if not collectives.is_distributed():
        return compute()
    verdict: tuple[str, Any] = ("error", "no verdict from rank 0")
    failure: Exception | None = None
    if collectives.get_rank() == 0:
        try:
            verdict = ("ok", compute())
        except Exception as err:
            failure, verdict = err, ("error", f"{type(err).__name__}: {err}")
    status, value = collectives.broadcast_object(verdict, src=0)
    if failure is not None:
        raise failure
    if status == "error":
        raise SovtrainError(f"hashing the base on rank 0 failed: {value}")
    return value


def directory_files(root: Path) -> list[str]:
    """Regular files directly in `root`, sorted, hidden ones (.cache/, .gitattributes) left
    out: what transformers reads from an HF directory is at its top level."""
    if not root.is_dir():
        raise SovtrainError(f"{root}: not a directory")
    return sorted(p.name for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
