"""fsspec behind one small API, with URI canonicalisation and pre-I/O guards.

Why canonicalise first: a policy that compares prefixes is only as good as the string it
compares. `runs/../x`, `file:///a//b`, symlinks and `%2e%2e` all have to collapse to the one
real target before a guard sees them.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

import fsspec

from sovtrain.errors import StorageError


@dataclass(frozen=True)
class Access:
    """One storage decision's input: what, where, why, and which data lineage it carries."""

    uri: str
    action: str  # "read" | "write" | "delete" | "list"
    purpose: str  # e.g. "raw-data", "shards", "checkpoint", "tokenizer", "artifact"
    lineage: tuple[str, ...] = ()


Guard = Callable[[Access], None]
_GUARDS: list[Guard] = []


def add_guard(guard: Guard) -> None:
    """Register a check that runs before every storage call (it raises to refuse)."""
    _GUARDS.append(guard)


def remove_guard(guard: Guard) -> None:
    if guard in _GUARDS:
        _GUARDS.remove(guard)


def clear_guards() -> None:
    _GUARDS.clear()


def _admit(uri: str, action: str, purpose: str, lineage: tuple[str, ...]) -> str:
    canonical = canonical_uri(uri)
    access = Access(uri=canonical, action=action, purpose=purpose, lineage=lineage)
    for guard in _GUARDS:
        guard(access)
    return canonical


def canonical_uri(uri: str) -> str:
    """Resolve a path or URI to the one spelling of its real target.

    Local paths (plain or `file://`) become absolute with symlinks and `..` resolved;
    remote URIs get their path percent-decoded and normalised. Chained URLs (`a::b`) are
    refused: we never let a cache layer hide the real target from a guard.
    """
    if "::" in uri:
        raise StorageError(f"chained URLs are refused by sovtrain storage: {uri!r}")
    protocol, path = _split(uri)
    if protocol == "file":
        return str(Path(unquote(path)).expanduser().resolve())
    path = posixpath.normpath("/" + unquote(path).lstrip("/")).lstrip("/")
    return f"{protocol}://{path}"


def _split(uri: str) -> tuple[str, str]:
    if "://" not in uri:
        return "file", uri
    protocol, path = uri.split("://", 1)
    protocol = protocol.lower()
    if protocol in ("file", "local"):
        return "file", path
    if protocol == "s3a":
        protocol = "s3"
    return protocol, path


def is_local(uri: str) -> bool:
    return _split(uri)[0] == "file"


def local_path(uri: str) -> Path | None:
    """The local filesystem path of `uri`, or None when it lives on remote storage."""
    return Path(canonical_uri(uri)) if is_local(uri) else None


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
    return {"client_kwargs": {"endpoint_url": endpoint}} if endpoint else {}


@contextlib.contextmanager
def open_uri(
    uri: str, mode: str = "rb", *, purpose: str, lineage: tuple[str, ...] = ()
) -> Iterator[IO[Any]]:
    """Open a file for reading or (non-atomic) writing through the guards."""
    action = "read" if "r" in mode else "write"
    canonical = _admit(uri, action, purpose, lineage)
    fs, path = _fs(canonical)
    if action == "write" and is_local(canonical):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with fs.open(path, mode) as handle:
        yield handle


def read_bytes(uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> bytes:
    with open_uri(uri, "rb", purpose=purpose, lineage=lineage) as handle:
        return handle.read()


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
    fs, path = _fs(canonical)
    if not is_local(canonical):
        fs.pipe_file(path, data)
        return
    target = Path(path)
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


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text_atomic(uri: str, text: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    write_bytes_atomic(uri, text.encode("utf-8"), purpose=purpose, lineage=lineage)


def exists(uri: str, *, purpose: str) -> bool:
    canonical = _admit(uri, "read", purpose, ())
    fs, path = _fs(canonical)
    return bool(fs.exists(path))


def size(uri: str, *, purpose: str) -> int:
    canonical = _admit(uri, "read", purpose, ())
    fs, path = _fs(canonical)
    return int(fs.size(path))


def fingerprint(uri: str, *, purpose: str) -> str:
    """A cheap change detector: path, size and modification time or ETag."""
    canonical = _admit(uri, "read", purpose, ())
    fs, path = _fs(canonical)
    info = fs.info(path)
    stamp = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
    return f"{canonical}:{info.get('size')}:{stamp}"


def listdir(uri: str, *, purpose: str) -> list[str]:
    """Names (not paths) directly under `uri`; empty if it does not exist."""
    canonical = _admit(uri, "list", purpose, ())
    fs, path = _fs(canonical)
    if not fs.exists(path):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))


def makedirs(uri: str, *, purpose: str) -> None:
    canonical = _admit(uri, "write", purpose, ())
    fs, path = _fs(canonical)
    fs.makedirs(path, exist_ok=True)


def remove(uri: str, *, purpose: str, recursive: bool = False) -> None:
    canonical = _admit(uri, "delete", purpose, ())
    fs, path = _fs(canonical)
    if fs.exists(path):
        fs.rm(path, recursive=recursive)


def rename(src: str, dst: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    """Move `src` to `dst`. Atomic for local directories on one filesystem."""
    source = _admit(src, "read", purpose, lineage)
    target = _admit(dst, "write", purpose, lineage)
    if is_local(source) and is_local(target):
        os.replace(source, target)
        return
    fs, src_path = _fs(source)
    _, dst_path = _fs(target)
    fs.mv(src_path, dst_path, recursive=True)


def put_dir(local_dir: Path, uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    """Upload every file under `local_dir` to `uri`, keeping relative paths."""
    for file in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        rel = file.relative_to(local_dir).as_posix()
        target = _admit(join(uri, rel), "write", purpose, lineage)
        fs, path = _fs(target)
        if is_local(target):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        fs.put_file(str(file), path)


@contextlib.contextmanager
def local_dir(uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> Iterator[Path]:
    """A local directory with the files under `uri`, for libraries that only read paths
    (transformers, DeepSpeed's zero_to_fp32): the directory itself when it is local, else a
    temporary copy (same last path part, so checkpoint tags still match) removed afterwards.

    Why admit the in-place case too: reading a local checkpoint directly must be decided and
    audited like any other read, not slip past the guards because no copy was needed.
    """
    canonical = _admit(uri, "read", purpose, lineage)
    if is_local(canonical):
        yield Path(canonical)
        return
    with tempfile.TemporaryDirectory(prefix="sovtrain-") as tmp:
        copy = Path(tmp) / (canonical.rstrip("/").rsplit("/", 1)[-1] or "dir")
        _download(canonical, copy)
        yield copy


def get_dir(uri: str, local_dir: Path, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    """Download every file under `uri` into `local_dir`, keeping relative paths."""
    _download(_admit(uri, "read", purpose, lineage), local_dir)


def _download(canonical: str, local_dir: Path) -> None:
    fs, root = _fs(canonical)
    for remote, info in sorted(fs.find(root, detail=True).items()):
        if info.get("type") == "directory":  # emptied prefixes / folder placeholder keys
            continue
        rel = posixpath.relpath(remote, root)
        dest = local_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(remote, str(dest))
