"""Local directories and files held open by descriptor, for writers that are not ours.

Why: DeepSpeed's `save_checkpoint`, `torch.save` and the audit log write to paths, and a path
is resolved again by the kernel at every open. A run directory swapped for a symlink after the
guard approved it would send those bytes wherever the link points. A pinned directory is
admitted on its real target *now*, opened component by component with `O_NOFOLLOW` (so no
symlink is in the path at that moment), and then handed to the writer as
`/proc/self/fd/N`: every name written under it lands in the inode the guard approved, whatever
happens to the path afterwards. `verify()` re-decides that inode's current location before
anything is published, so a directory moved out of its region fails closed.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from sovtrain.core.errors import StorageError
from sovtrain.storage.core import _admit, canonical_uri, is_local

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ATTEMPTS = 3  # a path that keeps changing under us while we open it is refused


class PinnedDir:
    """An admitted local directory, open by descriptor; write under `path`."""

    def __init__(self, canonical: str, fd: int, purpose: str, lineage: tuple[str, ...]) -> None:
        self.canonical = canonical
        self.fd = fd
        self.purpose = purpose
        self.lineage = lineage

    @property
    def path(self) -> Path:
        """A path that resolves through the descriptor, never through the original path."""
        return Path(f"/proc/self/fd/{self.fd}")

    def real_location(self) -> str:
        """Where the pinned directory is now (it may have been moved since it was pinned)."""
        target = os.readlink(f"/proc/self/fd/{self.fd}")
        if target.endswith(" (deleted)"):
            raise StorageError(f"{self.canonical}: removed while it was being written")
        return target

    def verify(self) -> None:
        """Re-decide the directory where it is now: a directory moved out of the region it
        was admitted in is refused (the guards raise), and nothing is published from it."""
        _admit(self.real_location(), "write", self.purpose, self.lineage)

    def clear(self) -> None:
        """Remove everything under the directory (through the descriptor, never a path)."""
        for entry in os.listdir(self.fd):
            _remove_at(self.fd, entry)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> PinnedDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pin_dir(uri: str, *, purpose: str, lineage: tuple[str, ...] = ()) -> PinnedDir:
    """Create (if needed), admit and pin the local directory `uri` for writing; close it
    (or use it as a context manager) when done."""
    if not is_local(uri):
        raise StorageError(f"{uri}: only local directories can be pinned")
    for _ in range(_ATTEMPTS):
        canonical = _admit(uri, "write", purpose, lineage)
        try:
            fd = open_nofollow(canonical, create=True)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped between resolve and open
                continue
            raise
        pinned = PinnedDir(canonical, fd, purpose, lineage)
        if pinned.real_location() == canonical:
            return pinned
        pinned.close()
    raise StorageError(f"{uri}: its path kept changing while it was opened; refused")


def open_nofollow(canonical: str, create: bool) -> int:
    """Open the directory `canonical` (absolute, already resolved) one component at a time,
    refusing any symlink on the way; missing components are created when `create`."""
    fd = os.open("/", _DIR_FLAGS)
    try:
        for part in Path(canonical).parts[1:]:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_append_nofollow(path: Path) -> int:
    """An append descriptor on `path` (created if missing) whose directory and file are opened
    without following symlinks: records go to this file, wherever its path points later."""
    canonical = Path(canonical_uri(str(path)))
    parent = open_nofollow(str(canonical.parent), create=True)
    try:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        return os.open(canonical.name, flags, 0o666, dir_fd=parent)
    finally:
        os.close(parent)


def _remove_at(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except IsADirectoryError:
        child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            for entry in os.listdir(child):
                _remove_at(child, entry)
        finally:
            os.close(child)
        os.rmdir(name, dir_fd=dir_fd)


def child_dir(parent: PinnedDir, name: str, create: bool = True) -> PinnedDir:
    """Pin `name` inside an already pinned directory (no new decision: it is the same place)."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent.fd)
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent.fd)
    return PinnedDir(f"{parent.canonical}/{name}", fd, parent.purpose, parent.lineage)


def still_child(parent: PinnedDir, child: PinnedDir, name: str) -> bool:
    """Is `name` in `parent` still the directory `child` has open (not swapped for a link)?"""
    try:
        entry = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(child.fd)
    return (entry.st_dev, entry.st_ino) == (held.st_dev, held.st_ino)
