"""The storage retry policy: which errors are retried, how long it waits, how it gives up.

Real exception types throughout (botocore's, aiohttp's, s3fs's translations, the OS's), and
a real refused connection at the end: the retry logic is what is under test.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Iterator

import aiohttp
import fsspec
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from s3fs.errors import translate_boto_error

from sovtrain import storage
from sovtrain.core.errors import StorageError
from sovtrain.storage import core, retry
from sovtrain.storage.retry import RetryPolicy, StorageUnavailable, is_transient


def client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    response = {"Error": {"Code": code, "Message": f"{code} says the server"},
                "ResponseMetadata": {"HTTPStatusCode": status}}  # fmt: skip
    return ClientError(response, operation)  # type: ignore[arg-type]


def error_id(err: BaseException) -> str:
    response = getattr(err, "response", None) or {}
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{type(err).__name__}:{code}" if code else type(err).__name__


@pytest.fixture(autouse=True)
def default_policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (retry.ENV_RETRIES, retry.ENV_BACKOFF, retry.ENV_MAX_BACKOFF):
        monkeypatch.delenv(name, raising=False)
    storage.set_retry_policy(None)
    yield
    storage.set_retry_policy(None)


@pytest.mark.parametrize(
    "err",
    [
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1/b/k"),
        ConnectionClosedError(endpoint_url="http://127.0.0.1:1/b/k"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1/b/k"),
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        TimeoutError("timed out"),  # socket.timeout, asyncio.TimeoutError
        OSError(errno.ETIMEDOUT, "Connection timed out"),
        aiohttp.ServerDisconnectedError(),
        client_error("ServiceUnavailable", 503),
        client_error("SlowDown", 503, "PutObject"),
        client_error("InternalError", 500),
        client_error("503", 503, "HeadObject"),  # HEAD: no body, the code is the status
        client_error("TooManyRequests", 429),
        translate_boto_error(client_error("SlowDown", 503)),  # s3fs: OSError(EBUSY) <- 503
        translate_boto_error(client_error("InternalError", 500)),
    ],
    ids=error_id,
)
def test_transient_errors_are_retried(err: BaseException) -> None:
    assert is_transient(err)


@pytest.mark.parametrize(
    "err",
    [
        client_error("NoSuchKey", 404),
        client_error("404", 404, "HeadObject"),
        client_error("AccessDenied", 403),
        client_error("NoSuchBucket", 404, "PutObject"),
        client_error("InvalidArgument", 400),
        translate_boto_error(client_error("NoSuchKey", 404)),  # FileNotFoundError
        translate_boto_error(client_error("AccessDenied", 403)),  # PermissionError
        FileNotFoundError(errno.ENOENT, "no such file", "s3://b/k"),
        NoCredentialsError(),
        ValueError("a bug, not an outage"),
        StorageError("chained URLs are refused"),
    ],
    ids=error_id,
)
def test_definite_errors_are_not_retried(err: BaseException) -> None:
    assert not is_transient(err)


def test_a_not_found_raised_while_handling_an_outage_is_still_not_found() -> None:
    try:
        try:
            raise EndpointConnectionError(endpoint_url="http://x")
        except EndpointConnectionError:
            raise FileNotFoundError("s3://b/k") from None
    except FileNotFoundError as err:
        assert not is_transient(err)


def test_delays_double_from_the_initial_wait_up_to_the_cap_with_bounded_jitter() -> None:
    policy = RetryPolicy(retries=8, backoff_s=0.5, max_backoff_s=3.0)
    nominal = [policy.nominal_delay(k) for k in range(1, 9)]
    assert nominal == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    assert policy.max_total_wait_s() == sum(nominal)
    for k, expected in enumerate(nominal, start=1):
        assert policy.delay(k, draw=lambda lo, hi: lo) == expected / 2
        assert policy.delay(k, draw=lambda lo, hi: hi) == expected
        assert expected / 2 <= policy.delay(k) <= expected
    assert RetryPolicy(retries=100).nominal_delay(100) == 15.0  # no overflow far out


def test_defaults_are_nine_attempts_and_at_most_a_minute_of_waiting() -> None:
    policy = storage.retry.current_policy()
    assert policy == RetryPolicy(retries=8, backoff_s=0.5, max_backoff_s=15.0)
    assert policy.max_total_wait_s() == 0.5 + 1 + 2 + 4 + 8 + 15 + 15 + 15


def test_environment_and_set_retry_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(retry.ENV_RETRIES, "2")
    monkeypatch.setenv(retry.ENV_BACKOFF, "0.25")
    monkeypatch.setenv(retry.ENV_MAX_BACKOFF, "1")
    assert retry.current_policy() == RetryPolicy(2, 0.25, 1.0)
    assert storage.set_retry_policy(retries=0) is None  # one field over the environment
    assert retry.current_policy() == RetryPolicy(0, 0.25, 1.0)
    previous = storage.set_retry_policy(RetryPolicy(3, 0.1, 0.2))
    assert previous == RetryPolicy(0, 0.25, 1.0)
    assert retry.current_policy() == RetryPolicy(3, 0.1, 0.2)
    storage.set_retry_policy(None)
    assert retry.current_policy() == RetryPolicy(2, 0.25, 1.0)
    monkeypatch.setenv(retry.ENV_RETRIES, "many")
    with pytest.raises(StorageError, match="SOVTRAIN_STORAGE_RETRIES='many'"):
        retry.current_policy()
    monkeypatch.setenv(retry.ENV_RETRIES, "2.5")
    with pytest.raises(StorageError, match="whole number"):
        retry.current_policy()
    with pytest.raises(StorageError, match="backoff_s"):
        RetryPolicy(retries=1, backoff_s=5, max_backoff_s=1)


class Flaky:
    """Raises the given errors in turn, then returns 'done'; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_transient_failures_are_retried_with_one_warning_each(caplog) -> None:
    sleeps: list[float] = []
    fn = Flaky(EndpointConnectionError(endpoint_url="http://h/b/k"),
               translate_boto_error(client_error("SlowDown", 503)))  # fmt: skip
    policy = RetryPolicy(retries=5, backoff_s=0.5, max_backoff_s=15)
    with caplog.at_level(logging.WARNING, logger="sovtrain.storage"):
        out = retry.call(fn, uri="s3://b/k", operation="put_file", policy=policy,
                         sleep=sleeps.append)  # fmt: skip
    assert out == "done" and fn.calls == 3
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("s3://b/k: put_file: EndpointConnectionError: Could not connect")
    assert lines[0].endswith(f"; retry 1/5 in {sleeps[0]:.1f}s")
    assert "retry 2/5" in lines[1] and "\n" not in lines[1]


def test_definite_errors_propagate_unchanged_after_one_attempt() -> None:
    missing = translate_boto_error(client_error("NoSuchKey", 404))
    fn = Flaky(missing)
    with pytest.raises(FileNotFoundError) as caught:
        retry.call(fn, uri="s3://b/k", operation="open", sleep=pytest.fail)
    assert caught.value is missing and fn.calls == 1


def test_exhausted_retries_raise_one_line_naming_uri_operation_and_last_error() -> None:
    sleeps: list[float] = []
    errors = [EndpointConnectionError(endpoint_url=f"http://h/b/k#{i}") for i in range(3)]
    fn = Flaky(*errors, EndpointConnectionError(endpoint_url="http://never"))
    policy = RetryPolicy(retries=2, backoff_s=1, max_backoff_s=1.5)
    with pytest.raises(StorageUnavailable) as caught:
        retry.call(fn, uri="s3://b/k", operation="pipe_file", policy=policy, sleep=sleeps.append)
    message = str(caught.value)
    assert fn.calls == 3 and len(sleeps) == 2 and sum(sleeps) <= policy.max_total_wait_s()
    assert message.startswith("s3://b/k: pipe_file failed after 3 attempts in ")
    assert 'EndpointConnectionError: Could not connect to the endpoint URL: "http://h/b/k#2"' in (
        message
    )
    assert "\n" not in message and "Traceback" not in message
    assert caught.value.__cause__ is errors[2]  # kept for debugging, not printed by the CLI
    assert isinstance(caught.value, StorageError)  # the CLI's one-line error path


def test_no_retries_means_one_attempt() -> None:
    fn = Flaky(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
    with pytest.raises(StorageUnavailable, match="after 1 attempt in"):
        retry.call(fn, uri="s3://b/k", operation="ls", policy=RetryPolicy(retries=0),
                   sleep=pytest.fail)  # fmt: skip


def test_a_refused_endpoint_admits_once_then_fails_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real refused connection (nothing listens on the port): guards run once per call,
    every attempt is made, and the caller gets StorageUnavailable, not a botocore error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: connections are refused
    monkeypatch.setenv("SOVTRAIN_S3_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv(retry.ENV_RETRIES, "2")
    monkeypatch.setenv(retry.ENV_BACKOFF, "0.05")
    decisions: list[storage.Access] = []
    storage.add_guard(decisions.append)
    try:
        for call in (
            lambda: storage.write_bytes_atomic("s3://bkt/a/b.bin", b"x", purpose="checkpoint"),
            lambda: storage.exists("s3://bkt/a/b.bin", purpose="checkpoint"),
            lambda: storage.listdir("s3://bkt/a", purpose="checkpoint"),
        ):
            with pytest.raises(StorageUnavailable, match=r"^s3://bkt/a.*after 3 attempts"):
                call()
    finally:
        storage.remove_guard(decisions.append)
    assert [(d.uri, d.action) for d in decisions] == [
        ("s3://bkt/a/b.bin", "write"), ("s3://bkt/a/b.bin", "read"), ("s3://bkt/a", "list"),
    ]  # fmt: skip


class BlippingFile(fsspec.spec.AbstractBufferedFile):
    """fsspec's real buffered read over bytes whose range fetches fail now and then."""

    def __init__(self, data: bytes, failures: list[BaseException], every: int = 3) -> None:
        self.data, self.failures, self.every, self.fetches = data, failures, every, 0
        fs = fsspec.filesystem("memory")
        super().__init__(fs, "/blip", mode="rb", block_size=16, size=len(data))

    def _fetch_range(self, start: int, end: int) -> bytes:
        self.fetches += 1
        if self.fetches > 1 and (self.fetches - 2) % self.every == 0 and self.failures:
            raise self.failures.pop(0)
        return self.data[start:end]


def test_streamed_reads_are_retried_without_losing_or_repeating_bytes() -> None:
    data = bytes(range(256)) * 4
    failures: list[BaseException] = [
        EndpointConnectionError(endpoint_url="http://h/b/k"),
        translate_boto_error(client_error("SlowDown", 503)),
        ConnectionResetError(errno.ECONNRESET, "reset"),
    ]
    raw = BlippingFile(data, failures)
    storage.set_retry_policy(RetryPolicy(retries=2, backoff_s=0, max_backoff_s=0))
    core._retry_reads(raw, "s3://b/k")
    got = b"".join(iter(lambda: raw.read(40), b""))
    assert got == data and not failures  # every failure was hit, every byte read once


def test_a_streamed_read_that_keeps_failing_is_storage_unavailable() -> None:
    raw = BlippingFile(b"x" * 100, [ConnectionResetError("reset")] * 10, every=1)
    storage.set_retry_policy(RetryPolicy(retries=1, backoff_s=0, max_backoff_s=0))
    core._retry_reads(raw, "s3://b/k")
    raw.read(10)
    with pytest.raises(StorageUnavailable, match=r"^s3://b/k: read failed after 2 attempts"):
        raw.read(50)
