"""fsspec behind one small API, with URI canonicalisation and pre-I/O guards.

Why canonicalise first: a policy that compares prefixes is only as good as the string it
compares. `runs/../x`, `file:///a//b`, symlinks and `%2e%2e` all have to collapse to the one
real target before a guard sees them.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar, runtime_checkable

import fsspec

from sovtrain.core.errors import StorageError
from sovtrain.storage import retry
from sovtrain.storage.uri import _split, canonical_uri, is_local

T = TypeVar("T")


@dataclass(frozen=True)
class Access:
    """One storage decision's input: what, where, why, and which data lineage it carries."""

    uri: str
    action: str  # "read" | "write" | "delete" | "list"
    purpose: str  # e.g. "raw-data", "shards", "checkpoint", "tokenizer", "artifact"
    lineage: tuple[str, ...] = ()


Guard = Callable[[Access], None]
_GUARDS: list[Guard] = []


@runtime_checkable
class Meter(Protocol):
    """A guard that also wants to know what moved: `after(access, nbytes)` runs once after
    each admitted call succeeded, with the bytes it moved (0 for metadata calls: exists,
    size, list, makedirs, delete). Why a hook and not a wrapper: the guard already holds
    the job's audit log, so the bytes land in the same chain as the decisions."""

    def after(self, access: Access, nbytes: int) -> None: ...


_METERS: list[Meter] = []


def add_guard(guard: Guard) -> None:
    """Register a check that runs before every storage call (it raises to refuse); a guard
    with an `after(access, nbytes)` method (a `Meter`) is also told what each call moved."""
    _GUARDS.append(guard)
    if isinstance(guard, Meter):
        _METERS.append(guard)


def remove_guard(guard: Guard) -> None:
    if guard in _GUARDS:
        _GUARDS.remove(guard)
    if guard in _METERS:
        _METERS.remove(guard)  # type: ignore[arg-type]


def clear_guards() -> None:
    _GUARDS.clear()
    _METERS.clear()


def _admit(uri: str, action: str, purpose: str, lineage: tuple[str, ...]) -> str:
    canonical = canonical_uri(uri)
    access = Access(uri=canonical, action=action, purpose=purpose, lineage=lineage)
    for guard in _GUARDS:
        guard(access)
    return canonical


def _moved(
    canonical: str, action: str, purpose: str, lineage: tuple[str, ...], nbytes: int
) -> None:
    """Tell the meters what an admitted call moved (nothing to build when there are none)."""
    if not _METERS:
        return
    access = Access(uri=canonical, action=action, purpose=purpose, lineage=lineage)
    for meter in list(_METERS):
        meter.after(access, nbytes)


def join(base: str, *parts: str) -> str:
    """Join path parts onto a URI without disturbing its scheme."""
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


_BUCKET_ENDPOINTS: dict[str, str] = {}


def set_endpoints(bucket_endpoints: dict[str, str]) -> None:
    """S3 endpoint per bucket (from the residency policy: each region's object store has
    its own endpoint). Buckets not listed use SOVTRAIN_S3_ENDPOINT / AWS_ENDPOINT_URL."""
    _BUCKET_ENDPOINTS.clear()
    _BUCKET_ENDPOINTS.update(bucket_endpoints)


def _fs(canonical: str) -> tuple[Any, str]:
    protocol, path = _split(canonical)
    options = _storage_options(protocol, path.split("/", 1)[0])
    return fsspec.filesystem(protocol, **options), path


def _call(canonical: str, operation: str, fn: Callable[[Any, str], T]) -> T:
    """`fn(fs, path)`: once on local disk; on remote storage under the retry policy.

    Callers admit first (the guards decide once per logical call, not per attempt). Each
    attempt reuses fsspec's cached filesystem: no need to drop it after a connection error
    (s3fs renews closed sessions and aiohttp discards dead connections; measured: the cached
    client served requests at once after a SeaweedFS restart), and a new client costs ~0.5 s.
    """
    if is_local(canonical):
        return fn(*_fs(canonical))
    return retry.call(lambda: fn(*_fs(canonical)), uri=canonical, operation=operation)


def _storage_options(protocol: str, bucket: str) -> dict[str, Any]:
    """Endpoints come from the policy or the environment, never from recipes; credentials
    only from the environment (no secrets in YAML)."""
    if protocol != "s3":
        return {}
    endpoint = (
        _BUCKET_ENDPOINTS.get(bucket)
        or os.environ.get("SOVTRAIN_S3_ENDPOINT")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    options: dict[str, Any] = {"config_kwargs": {"retries": dict(_BOTOCORE_RETRIES)}}
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    return options


# botocore's own retries off: a refused connection otherwise costs 5-10 s of silent random
# back-off inside each of our attempts. The policy in retry.py is then the whole story
# (s3fs keeps its quick in-request retries of dropped connections, timeouts and SlowDown).
_BOTOCORE_RETRIES = {"mode": "standard", "total_max_attempts": 1}


@contextlib.contextmanager
def open_uri(
    uri: str, mode: str = "rb", *, purpose: str, lineage: tuple[str, ...] = ()
) -> Iterator[IO[Any]]:
    """Open a file for reading or writing through the guards (admitted once).

    Local: the file itself; writes are not atomic. Remote reads: the open and every read
    are retried on transient errors. Remote writes go to a local temporary file, uploaded
    by one retried `put_file` only when the block ends without an error: a failed write
    (ours or the store's) never leaves a partial object that looks complete. That costs
    local temporary disk the size of the file.
    """
    action = "read" if "r" in mode else "write"
    canonical = _admit(uri, action, purpose, lineage)
    moved = [-1]  # bytes once open: a read counts the file's size at open, a write what
    done = False  # it left; a write counts only when the block ended without an error
    try:
        if not is_local(canonical):
            opener = _remote_reader if action == "read" else _remote_writer
            with opener(canonical, mode, moved) as handle:
                yield handle
        else:
            yield from _local_open(canonical, mode, action, moved)
        done = True
    finally:  # a read stopped early (its generator closed) still had the file open
        if moved[0] >= 0 and (done or action == "read"):
            _moved(canonical, action, purpose, lineage, moved[0])


def _local_open(canonical: str, mode: str, action: str, moved: list[int]) -> Iterator[IO[Any]]:
    fs, path = _fs(canonical)
    if action == "write":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    before = _local_size(path) if action == "write" else 0  # "a": only what was added
    with fs.open(path, mode) as handle:
        moved[0] = _local_size(path) if action == "read" else 0
        yield handle
    if action == "write":
        moved[0] = max(_local_size(path) - before, 0) if "a" in mode else _local_size(path)


def _local_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


@contextlib.contextmanager
def _remote_reader(canonical: str, mode: str, moved: list[int]) -> Iterator[IO[Any]]:
    raw = _call(canonical, "open", lambda fs, path: fs.open(path, "rb"))
    moved[0] = int(getattr(raw, "size", 0) or 0)
    _retry_reads(raw, canonical)
    with raw:
        yield raw if "b" in mode else io.TextIOWrapper(raw, encoding="utf-8")


def _retry_reads(raw: Any, canonical: str) -> None:
    """Retry `raw.read` in place (also under readline, iteration, TextIOWrapper, pyarrow).

    Only for fsspec's own buffered read: it moves the position after a block has arrived,
    so a read that failed can simply be asked again. A checkpoint hashed while the store
    blips must not be judged corrupt for it.
    """
    if type(raw).read is not fsspec.spec.AbstractBufferedFile.read:
        return
    read = raw.read

    def retried(*args: Any) -> bytes:
        return retry.call(lambda: read(*args), uri=canonical, operation="read")

    raw.read = retried


@contextlib.contextmanager
def _remote_writer(canonical: str, mode: str, moved: list[int]) -> Iterator[IO[Any]]:
    if any(flag in mode for flag in "ax+"):
        raise StorageError(f"{canonical}: mode {mode!r} on object storage (write with 'w'/'wb')")
    with tempfile.TemporaryDirectory(prefix="sovtrain-upload-") as tmp:
        spool = Path(tmp) / "upload"
        with spool.open(mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
        moved[0] = spool.stat().st_size
        _call(canonical, "put_file", lambda fs, path: fs.put_file(str(spool), path))


def read_bytes(uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> bytes:
    canonical = _admit(uri, "read", purpose, lineage)
    data: bytes = _call(canonical, "read", lambda fs, path: fs.cat_file(path))
    _moved(canonical, "read", purpose, lineage, len(data))
    return data


def read_text(uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> str:
    return read_bytes(uri, purpose=purpose, lineage=lineage).decode("utf-8")


def write_bytes_atomic(
    uri: str, data: bytes, *, purpose: str, lineage: tuple[str, ...] = ()
) -> None:
    """Write so that readers see the old content or the new, never a torn file.

    Local: temp file in the same directory, fsync, rename. Object stores: a single PUT is
    already atomic.
    """
    canonical = _admit(uri, "write", purpose, lineage)
    if not is_local(canonical):
        _call(canonical, "pipe_file", lambda fs, path: fs.pipe_file(path, data))
        _moved(canonical, "write", purpose, lineage, len(data))
        return
    target = Path(canonical)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _moved(canonical, "write", purpose, lineage, len(data))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text_atomic(uri: str, text: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    write_bytes_atomic(uri, text.encode("utf-8"), purpose=purpose, lineage=lineage)


def exists(uri: str, *, purpose: str) -> bool:
    canonical = _admit(uri, "read", purpose, ())
    found = _call(canonical, "exists", lambda fs, path: bool(fs.exists(path)))
    _moved(canonical, "read", purpose, (), 0)
    return found


def size(uri: str, *, purpose: str) -> int:
    canonical = _admit(uri, "read", purpose, ())
    nbytes = _call(canonical, "size", lambda fs, path: int(fs.size(path)))
    _moved(canonical, "read", purpose, (), 0)
    return nbytes


def mapped(uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> Path:
    """A local file admitted as a read for use in place (memory-mapped shards): counted as
    its whole size once, since the reads from the map never pass this door again."""
    canonical = _admit(uri, "read", purpose, lineage)
    if not is_local(canonical):
        raise StorageError(f"{canonical}: only a local file can be used in place")
    path = Path(canonical)
    nbytes = path.stat().st_size
    _moved(canonical, "read", purpose, lineage, nbytes)
    return path


def fingerprint(uri: str, *, purpose: str) -> str:
    """A cheap change detector: path, size and modification time or ETag."""
    canonical = _admit(uri, "read", purpose, ())
    info = _call(canonical, "info", lambda fs, path: fs.info(path))
    _moved(canonical, "read", purpose, (), 0)
    stamp = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
    return f"{canonical}:{info.get('size')}:{stamp}"


def listdir(uri: str, *, purpose: str) -> list[str]:
    """Names (not paths) directly under `uri`; empty if it does not exist."""
    canonical = _admit(uri, "list", purpose, ())
    names = _call(canonical, "ls", _names)
    _moved(canonical, "list", purpose, (), 0)
    return names


def _names(fs: Any, path: str) -> list[str]:
    if not fs.exists(path):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))


def makedirs(uri: str, *, purpose: str) -> None:
    canonical = _admit(uri, "write", purpose, ())
    _call(canonical, "makedirs", lambda fs, path: fs.makedirs(path, exist_ok=True))
    _moved(canonical, "write", purpose, (), 0)


def remove(uri: str, *, purpose: str, recursive: bool = False) -> None:
    canonical = _admit(uri, "delete", purpose, ())
    _call(canonical, "rm", lambda fs, path: _remove(fs, path, recursive))
    _moved(canonical, "delete", purpose, (), 0)


def _remove(fs: Any, path: str, recursive: bool) -> None:
    """Gone is done: a retry after a delete that half-happened finds fewer (or no) keys."""
    with contextlib.suppress(FileNotFoundError):
        if fs.exists(path):
            fs.rm(path, recursive=recursive)
