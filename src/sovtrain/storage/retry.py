"""Bounded retries for remote storage: transient faults wait and try again, the rest fail now.

Why one policy here rather than the libraries' own: botocore retries a refused connection a
few times with a random back-off (5 to 10 s in all, silently), s3fs retries a different set
of errors on its own schedule, and an S3 gateway that restarts for ten seconds outlasts both:
the run died with a botocore traceback. Here every remote call gets the same visible policy
(one warning per retry, doubling waits with jitter, a bounded total) and, when it runs out,
one `StorageUnavailable` line naming the URI, the operation and the last error.

What is transient: refused/reset/closed connections, timeouts, HTTP 5xx, 429 and the S3
throttling codes. What is not: 4xx answers (NoSuchKey, AccessDenied, NoSuchBucket, ...),
`FileNotFoundError` and every other error: those are facts about the request, and asking
again only delays the error the caller has to see.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import TypeVar

from sovtrain.core.errors import StorageError

log = logging.getLogger("sovtrain.storage")
T = TypeVar("T")

ENV_RETRIES = "SOVTRAIN_STORAGE_RETRIES"
ENV_BACKOFF = "SOVTRAIN_STORAGE_BACKOFF_S"
ENV_MAX_BACKOFF = "SOVTRAIN_STORAGE_MAX_BACKOFF_S"

_DEFINITE = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError,
             NotADirectoryError)  # fmt: skip
_TRANSIENT_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
    errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.ENETRESET,
})  # fmt: skip
_TRANSIENT_CODES = frozenset({
    "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling",
    "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "OperationAborted", "BadGateway", "GatewayTimeout",
})  # fmt: skip


class StorageUnavailable(StorageError):
    """Remote storage kept failing with transient errors until the retry policy ran out.

    A subclass so that callers can tell "the store is down" from "this data is bad": a
    checkpoint that cannot be read right now is not a corrupt checkpoint.
    """


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` after the first attempt; waits double from `backoff_s` up to `max_backoff_s`.

    Defaults: 9 attempts, waits of about 0.5, 1, 2, 4, 8, 15, 15, 15 s: 30 to 60 s of
    waiting in all. Why not fewer: botocore's hidden retries (now off) already rode out up
    to ~10 s of refused connections, and a SeaweedFS restart alone takes 3.5-7 s here; six
    attempts (8-15 s) would make runs less patient than before, not more.
    """

    retries: int = 8
    backoff_s: float = 0.5
    max_backoff_s: float = 15.0

    def __post_init__(self) -> None:
        if not 0 <= self.retries <= 100:
            raise StorageError(f"storage retries must be 0..100, not {self.retries}")
        if not 0 <= self.backoff_s <= self.max_backoff_s:
            raise StorageError(
                f"storage back-off needs 0 <= backoff_s ({self.backoff_s}) <= "
                f"max_backoff_s ({self.max_backoff_s})"
            )

    def nominal_delay(self, retry: int) -> float:
        """The wait before retry number `retry` (1-based), before jitter."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** min(retry - 1, 60))

    def delay(self, retry: int, draw: Callable[[float, float], float] = random.uniform) -> float:
        """Jittered into [nominal/2, nominal]: ranks hit by the same outage do not all come
        back in the same instant, and no wait shrinks to nothing (a retry too early is
        wasted on a server that is still down)."""
        nominal = self.nominal_delay(retry)
        return draw(nominal / 2, nominal)

    def max_total_wait_s(self) -> float:
        """The most time spent sleeping between attempts: the bound on a dead store's cost
        (plus each attempt's own connect/read timeouts)."""
        return sum(self.nominal_delay(k) for k in range(1, self.retries + 1))


_override: RetryPolicy | None = None


def policy_from_env(env: Mapping[str, str] = os.environ) -> RetryPolicy:
    """The defaults, overridden by SOVTRAIN_STORAGE_RETRIES / _BACKOFF_S / _MAX_BACKOFF_S."""
    default = RetryPolicy()
    return RetryPolicy(
        retries=int(_env_number(env, ENV_RETRIES, default.retries)),
        backoff_s=_env_number(env, ENV_BACKOFF, default.backoff_s),
        max_backoff_s=_env_number(env, ENV_MAX_BACKOFF, default.max_backoff_s),
    )


def _env_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise StorageError(f"{name}={raw!r}: not a number") from None
    if name == ENV_RETRIES and not value.is_integer():
        raise StorageError(f"{name}={raw!r}: not a whole number")
    return value


def current_policy() -> RetryPolicy:
    """What `set_retry_policy` set, else the environment's (read per call: cheap, and an
    environment changed by a launcher or a test takes effect)."""
    return _override if _override is not None else policy_from_env()


def set_retry_policy(
    policy: RetryPolicy | None = None,
    *,
    retries: int | None = None,
    backoff_s: float | None = None,
    max_backoff_s: float | None = None,
) -> RetryPolicy | None:
    """Set the process-wide policy; returns the previous override (None: none was set).

    `set_retry_policy(retries=2)` changes one field of the environment's policy;
    `set_retry_policy(None)` goes back to the environment and defaults.
    """
    global _override
    previous = _override
    if policy is None and retries is None and backoff_s is None and max_backoff_s is None:
        _override = None
    else:
        base = policy or policy_from_env()
        _override = replace(
            base,
            retries=base.retries if retries is None else retries,
            backoff_s=base.backoff_s if backoff_s is None else backoff_s,
            max_backoff_s=base.max_backoff_s if max_backoff_s is None else max_backoff_s,
        )
    return previous


# ---------------------------------------------------------------- classification
def is_transient(err: BaseException) -> bool:
    """True when asking again may succeed: the first error in the cause chain that says
    either way decides (s3fs turns a 503 into an OSError whose __cause__ is the answer)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        verdict = _verdict(current)
        if verdict is not None:
            return verdict
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return False


def _verdict(err: BaseException) -> bool | None:
    if isinstance(err, _DEFINITE):
        return False
    response = _own_response(err)
    if response is not None:
        return _response_is_transient(response)
    if isinstance(err, ConnectionError | TimeoutError):  # builtins; socket/asyncio timeouts
        return True
    if isinstance(err, _network_errors()):
        return True
    if isinstance(err, OSError) and err.errno in _TRANSIENT_ERRNOS:
        return True
    return None


def _own_response(err: BaseException) -> Mapping | None:
    """The parsed S3 answer carried by a botocore ClientError, else None."""
    response = getattr(err, "response", None)
    if isinstance(response, Mapping) and isinstance(response.get("Error"), Mapping):
        return response
    return None


def _response_is_transient(response: Mapping) -> bool:
    code = str(response["Error"].get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if not isinstance(status, int) and code.isdigit():
        status = int(code)  # HEAD answers have no body: the code is the status
    return code in _TRANSIENT_CODES or status == 429 or (isinstance(status, int) and status >= 500)


@cache
def _network_errors() -> tuple[type[BaseException], ...]:
    """botocore's and aiohttp's no-answer errors (imported lazily: both come with s3fs)."""
    found: list[type[BaseException]] = []
    try:
        from botocore import exceptions as boto

        found += [boto.ConnectionError, boto.HTTPClientError, boto.IncompleteReadError]
        from botocore.parsers import ResponseParserError  # throttling with a broken body

        found.append(ResponseParserError)
    except ImportError:
        pass
    try:
        import aiohttp

        found += [aiohttp.ClientConnectionError, aiohttp.ClientPayloadError]
    except ImportError:
        pass
    return tuple(found)


# ---------------------------------------------------------------- calling
def describe(err: BaseException) -> str:
    """One line: the error's type and message, whitespace folded, bounded."""
    text = " ".join(str(err).split()) or repr(err)
    line = f"{type(err).__name__}: {text}"
    return line if len(line) <= 300 else line[:297] + "..."


def call(
    fn: Callable[[], T],
    *,
    uri: str,
    operation: str,
    on_retry: Callable[[BaseException], None] | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`fn()`, retried on transient errors under `policy` (default: the current one).

    Non-transient errors propagate unchanged (a FileNotFoundError stays one). After the
    last attempt the error becomes a one-line `StorageUnavailable` (chained to the last
    error for debugging). `on_retry` runs before each wait, e.g. to drop a dead client.
    """
    policy = policy or current_policy()
    started = time.monotonic()
    for retry in range(policy.retries + 1):
        try:
            return fn()
        except Exception as err:
            if not is_transient(err):
                raise
            if retry == policy.retries:
                raise _exhausted(uri, operation, policy, started, err) from err
            wait = policy.delay(retry + 1)
            log.warning("%s: %s: %s; retry %d/%d in %.1fs", uri, operation, describe(err),
                        retry + 1, policy.retries, wait)  # fmt: skip
            if on_retry is not None:
                on_retry(err)
            sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


def _exhausted(
    uri: str, operation: str, policy: RetryPolicy, started: float, err: BaseException
) -> StorageUnavailable:
    attempts = policy.retries + 1
    return StorageUnavailable(
        f"{uri}: {operation} failed after {attempts} attempt{'s' if attempts > 1 else ''} "
        f"in {time.monotonic() - started:.1f}s: {describe(err)} (storage unreachable? "
        f"more patience: {ENV_RETRIES} / {ENV_MAX_BACKOFF})"
    )
