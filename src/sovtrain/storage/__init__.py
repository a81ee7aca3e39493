"""The one door to storage: every byte of data, shards, checkpoints and artifacts passes here.

Nothing else in sovtrain imports fsspec. Each call names its `purpose` (why we touch the
bytes) so that the residency policy can decide on the *resolved* target before any I/O, and so
the audit log can say what happened. Guards registered with `add_guard` run before every call;
a guard refuses by raising `PolicyRefused`.
"""

from sovtrain.storage.core import (
    Access,
    add_guard,
    canonical_uri,
    clear_guards,
    exists,
    fingerprint,
    get_dir,
    is_local,
    join,
    listdir,
    local_dir,
    local_path,
    makedirs,
    open_uri,
    put_dir,
    read_bytes,
    read_text,
    remove,
    remove_guard,
    rename,
    set_endpoints,
    size,
    write_bytes_atomic,
    write_text_atomic,
)

__all__ = [
    "Access",
    "add_guard",
    "canonical_uri",
    "clear_guards",
    "exists",
    "fingerprint",
    "get_dir",
    "is_local",
    "join",
    "listdir",
    "local_dir",
    "local_path",
    "makedirs",
    "open_uri",
    "put_dir",
    "read_bytes",
    "read_text",
    "remove",
    "remove_guard",
    "rename",
    "set_endpoints",
    "size",
    "write_bytes_atomic",
    "write_text_atomic",
]
