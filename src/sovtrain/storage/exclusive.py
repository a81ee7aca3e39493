"""Create-if-absent: the one primitive a single-writer lease needs, locally and on S3.

Local: `O_CREAT | O_EXCL` in a directory opened without following symlinks (atomic on every
POSIX file system, NFSv3+ included). Object storage: a conditional PUT (`If-None-Match: *`),
which S3 and compatible stores answer with 412 when the key exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sovtrain.storage.core import _admit, _call, _moved, is_local
from sovtrain.storage.pinned import open_nofollow


def create_exclusive(uri: str, data: bytes, *, purpose: str) -> bool:
    """Write `data` to `uri` only if nothing is there; False when something already is."""
    canonical = _admit(uri, "write", purpose, ())
    if is_local(canonical):
        created = _create_local(Path(canonical), data)
    else:
        created = _call(canonical, "create", lambda fs, path: _create_remote(fs, path, data))
    _moved(canonical, "write", purpose, (), len(data) if created else 0)
    return created


def _create_remote(fs: Any, path: str, data: bytes) -> bool:
    """A conditional PUT. Retried (by `_call`) on transient errors; a retry answered 412 may
    mean our own earlier PUT landed and only its answer was lost, so the object is read back:
    the same bytes (a unique owner token is in them) are ours."""
    try:
        fs.pipe_file(path, data, mode="create")
    except FileExistsError:
        return _ours(fs, path, data)
    except OSError as err:  # s3fs maps 412 Precondition Failed to OSError(EINVAL)
        if _precondition_failed(err):
            return _ours(fs, path, data)
        raise
    return True


def _ours(fs: Any, path: str, data: bytes) -> bool:
    try:
        return bool(fs.cat_file(path) == data)
    except FileNotFoundError:
        return False


def _precondition_failed(err: OSError) -> bool:
    response = getattr(err.__cause__, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    return code in ("PreconditionFailed", "412") or "pre-conditions" in str(err)


def _create_local(path: Path, data: bytes) -> bool:
    parent = open_nofollow(str(path.parent), create=True)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path.name, flags, 0o644, dir_fd=parent)
        except FileExistsError:
            return False
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return True
    finally:
        os.close(parent)
