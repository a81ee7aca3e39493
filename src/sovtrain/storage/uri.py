"""One spelling per storage location: the string every guard decides on.

Why canonicalise first: a policy that compares prefixes is only as good as the string it
compares. `runs/../x`, `file:///a//b`, symlinks, `%2e%2e` and URL tricks (`http://a?@b`) all
have to collapse to the one real target before a guard sees them.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sovtrain.core.errors import StorageError

_AUTHORITY = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=:@\[\]-]*")  # RFC 3986 authority characters
_IPV6_HOST = re.compile(r"//\[[0-9A-Fa-f:.]*\]")  # `http://[::1]:5000` is not a chained URL


def canonical_uri(uri: str) -> str:
    """Resolve a path or URI to the one spelling of its real target.

    Local paths (plain, `file://` or `file://localhost`) become absolute with symlinks and `..`
    resolved; service URIs (`http(s)://`) are parsed by `urllib.parse` and reduced to scheme,
    host, port and path, so a userinfo, query or fragment can never change which host a guard
    decides on (`http://a?@b` is host a); object-store URIs get their path percent-decoded and
    normalised. Chained URLs (`a::b`) and control characters are refused: we never let a cache
    layer or a stray byte hide the real target from a guard.
    """
    if "::" in _IPV6_HOST.sub("//ipv6", uri):
        raise StorageError(f"chained URLs are refused by sovtrain storage: {uri!r}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in uri):
        raise StorageError(f"control character in a storage location: {uri!r}")
    protocol, path = _split(uri)
    if protocol == "file":
        return str(Path(unquote(path)).expanduser().resolve())
    if protocol in ("http", "https"):
        return _service_uri(protocol, uri)
    path = posixpath.normpath("/" + unquote(path).lstrip("/")).lstrip("/")
    return f"{protocol}://{path}"


def _service_uri(protocol: str, uri: str) -> str:
    """`scheme://host[:port]/path` as a real URL parser (and so the HTTP client) reads it."""
    parts = urlsplit(uri)
    if not _AUTHORITY.fullmatch(parts.netloc):  # e.g. `a\\@b`: HTTP clients split it elsewhere
        raise StorageError(f"unusual characters in the host part of {protocol}://...; refused")
    host = (parts.hostname or "").lower()
    if not host:
        raise StorageError(f"no host in {uri.split('@')[-1]!r}")
    try:
        port = parts.port
    except ValueError:
        raise StorageError(f"bad port in {protocol}://{host}...") from None
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port is not None else ""
    path = posixpath.normpath("/" + unquote(parts.path).lstrip("/")) if parts.path else ""
    return f"{protocol}://{netloc}{'' if path == '/' else path}"


def _split(uri: str) -> tuple[str, str]:
    if "://" not in uri:
        return "file", uri
    protocol, path = uri.split("://", 1)
    protocol = protocol.lower()
    if protocol in ("file", "local"):
        host, slash, rest = path.partition("/")
        if host not in ("", "localhost"):  # file://otherhost/... is another machine's disk
            raise StorageError(f"file URI on another host is refused: {uri!r}")
        return "file", slash + rest
    if protocol == "s3a":
        protocol = "s3"
    return protocol, path


def is_local(uri: str) -> bool:
    return _split(uri)[0] == "file"


def local_path(uri: str) -> Path | None:
    """The local filesystem path of `uri`, or None when it lives on remote storage."""
    return Path(canonical_uri(uri)) if is_local(uri) else None
