"""Directory-level storage calls: moves, uploads and downloads of whole trees.

Split from core.py (same door: every file is admitted through `_admit` and what it moved
is told to the meters via `_moved`) to keep each module readable.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sovtrain.storage.core import _METERS, _admit, _call, _fs, _moved, join
from sovtrain.storage.uri import _split, is_local


def rename(src: str, dst: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    """Move `src` to `dst`. Atomic for local directories on one filesystem.

    Counted: a local move as the write of the files' sizes at `dst` (a checkpoint staged
    by DeepSpeed outside this door is published here); a remote `mv` with 0 bytes."""
    source = _admit(src, "read", purpose, lineage)
    target = _admit(dst, "write", purpose, lineage)
    if is_local(source) and is_local(target):
        os.replace(source, target)
        _moved(source, "read", purpose, lineage, 0)
        _moved(target, "write", purpose, lineage, _tree_bytes(Path(target)) if _METERS else 0)
        return
    _, dst_path = _fs(target)
    _call(source, "mv", lambda fs, src_path: fs.mv(src_path, dst_path, recursive=True))
    _moved(source, "read", purpose, lineage, 0)
    _moved(target, "write", purpose, lineage, 0)


def put_dir(local_dir: Path, uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    """Upload every file under `local_dir` to `uri`, keeping relative paths."""
    for file in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        rel = file.relative_to(local_dir).as_posix()
        target = _admit(join(uri, rel), "write", purpose, lineage)
        if is_local(target):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        _put_file(file, target)
        _moved(target, "write", purpose, lineage, file.stat().st_size)


def _put_file(source: Path, target: str) -> None:
    """One upload, retried on its own (a failed file does not restart the directory)."""
    _call(target, "put_file", lambda fs, path: fs.put_file(str(source), path))


@contextlib.contextmanager
def local_dir(uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> Iterator[Path]:
    """A local directory with the files under `uri`, for libraries that only read paths
    (transformers, DeepSpeed's zero_to_fp32): the directory itself when it is local, else a
    temporary copy (same last path part, so checkpoint tags still match) removed afterwards.

    Why admit the in-place case too: reading a local checkpoint directly must be decided and
    audited like any other read, not slip past the guards because no copy was needed.
    """
    canonical = _admit(uri, "read", purpose, lineage)
    if is_local(canonical):  # read in place: the files' sizes, counted once
        nbytes = _tree_bytes(Path(canonical)) if _METERS else 0
        _moved(canonical, "read", purpose, lineage, nbytes)
        yield Path(canonical)
        return
    with tempfile.TemporaryDirectory(prefix="sovtrain-") as tmp:
        copy = Path(tmp) / (canonical.rstrip("/").rsplit("/", 1)[-1] or "dir")
        _moved(canonical, "read", purpose, lineage, _download(canonical, copy))
        yield copy


def get_dir(uri: str, local_dir: Path, *, purpose: str, lineage: tuple[str, ...] = ()) -> None:
    """Download every file under `uri` into `local_dir`, keeping relative paths."""
    canonical = _admit(uri, "read", purpose, lineage)
    _moved(canonical, "read", purpose, lineage, _download(canonical, local_dir))


def _download(canonical: str, local_dir: Path) -> int:
    """Fetch every file under `canonical`; returns the bytes downloaded."""
    total = 0
    _, root = _fs(canonical)
    found = _call(canonical, "find", lambda fs, path: fs.find(path, detail=True))
    for remote, info in sorted(found.items()):
        if info.get("type") == "directory":  # emptied prefixes / folder placeholder keys
            continue
        rel = posixpath.relpath(remote, root)
        dest = local_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        _get_file(f"{_split(canonical)[0]}://{remote}", dest)
        total += dest.stat().st_size
    return total


def _get_file(source: str, dest: Path) -> None:
    """One download, retried on its own (a failed file does not restart the directory)."""
    _call(source, "get_file", lambda fs, path: fs.get_file(path, str(dest)))


def _tree_bytes(path: Path) -> int:
    """Sizes of the files at or under a local path (one stat each)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
