"""The one door to storage: every byte of data, shards, checkpoints and artifacts passes here.

Nothing else in sovtrain imports fsspec. Each call names its `purpose` (why we touch the
bytes) so that the residency policy can decide on the *resolved* target before any I/O, and so
the audit log can say what happened. Guards registered with `add_guard` run before every call;
a guard refuses by raising `PolicyRefused`.
"""

from sovtrain.storage.core import (
    Access,
    Meter,
    add_guard,
    clear_guards,
    exists,
    fingerprint,
    join,
    listdir,
    makedirs,
    mapped,
    open_uri,
    read_bytes,
    read_text,
    remove,
    remove_guard,
    set_endpoints,
    size,
    write_bytes_atomic,
    write_text_atomic,
)
from sovtrain.storage.dirs import get_dir, local_dir, put_dir, rename
from sovtrain.storage.exclusive import create_exclusive
from sovtrain.storage.pinned import PinnedDir, child_dir, pin_dir, still_child
from sovtrain.storage.retry import RetryPolicy, StorageUnavailable, set_retry_policy
from sovtrain.storage.uri import canonical_uri, is_local, local_path

__all__ = [
    "Access",
    "Meter",
    "PinnedDir",
    "RetryPolicy",
    "StorageUnavailable",
    "add_guard",
    "canonical_uri",
    "child_dir",
    "clear_guards",
    "create_exclusive",
    "exists",
    "fingerprint",
    "get_dir",
    "is_local",
    "join",
    "listdir",
    "local_dir",
    "local_path",
    "makedirs",
    "mapped",
    "open_uri",
    "pin_dir",
    "put_dir",
    "read_bytes",
    "read_text",
    "remove",
    "remove_guard",
    "rename",
    "set_endpoints",
    "set_retry_policy",
    "size",
    "still_child",
    "write_bytes_atomic",
    "write_text_atomic",
]
