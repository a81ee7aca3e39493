"""A real two-node Slurm cluster on loopback, for integration tests of Slurm-facing code.

One `munged`, one `slurmctld` and two `slurmd` (`-N n1`, `-N n2`) run on this machine with
every file (key, socket, config, state, spool, logs, pids) under a per-run workdir, so the
cluster never touches a system Slurm or MUNGE and can run repeatedly side by side. Mocks of
sbatch/scontrol cannot tell us whether requeue or signal delivery really behave as a
preemption-aware trainer expects; this can. Daemons are stopped by PID on exit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.servers import distinct_ports, stop

INSTALL_SCRIPT = Path(__file__).with_name("install_slurm.sh")
DAEMONS = ("slurmctld", "slurmd", "munged")
CLIENTS = ("sbatch", "srun", "scontrol", "sinfo", "squeue", "scancel")
FINAL_STATES = frozenset("COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL OUT_OF_MEMORY PREEMPTED "
                         "BOOT_FAIL DEADLINE".split())  # fmt: skip
# Every daemon and every job started through SlurmCluster.env carries this variable, so
# teardown can find leftover slurmstepd/task processes of *this* cluster and no other.
MARKER = "SOVTRAIN_SLURM_CLUSTER"
NODE_CPUS = 2
NODE_MEMORY_MB = 8000
# Unix socket paths (munge socket, slurmstepd sockets in the spool) must fit in sun_path.
MAX_WORKDIR_CHARS = 70
_KEY = re.compile(r"(?:^|\s)([A-Za-z][\w:/]*)=")


def _search_path() -> str:
    """Daemons live in /usr/sbin, which a non-login CI shell may leave off PATH."""
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])


def _which(name: str) -> str | None:
    return shutil.which(name, path=_search_path())


def ensure_slurm_installed() -> None:
    """Install slurm-wlm + munge via install_slurm.sh when missing; fail (never skip) if we can't.

    A silently skipped cluster test would hide exactly the regressions it exists to catch.
    """
    missing = [name for name in (*DAEMONS, *CLIENTS) if _which(name) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(
            f"Slurm test cluster needs {', '.join(missing)}; not root, so cannot apt-get them. "
            f"Run `sudo {INSTALL_SCRIPT}` (installs slurm-wlm and munge) first."
        )
    result = subprocess.run(["bash", INSTALL_SCRIPT], capture_output=True, text=True, timeout=900)
    still = [name for name in (*DAEMONS, *CLIENTS) if _which(name) is None]
    if result.returncode != 0 or still:
        raise RuntimeError(
            f"install_slurm.sh failed (rc={result.returncode}, still missing {still}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )


def parse_scontrol_record(line: str) -> dict[str, str]:
    """`Key=Value Key=Value` of `scontrol show ... -o` into a dict.

    Values may hold '=' (TRES=cpu=2,mem=1G) and, rarely, spaces, so split only where
    whitespace is followed by a new `Key=`.
    """
    matches = list(_KEY.finditer(line))
    record: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following is not None else len(line)
        record[match.group(1)] = line[match.end() : end].strip()
    return record


@dataclass
class SlurmCluster:
    """Handle on a running test cluster: its config, client environment and helpers."""

    conf: Path
    env: dict[str, str]
    nodes: list[str]
    workdir: Path
    partition: str = "ci"
    logs: list[Path] = field(default_factory=list)

    def run(
        self, *args: str, timeout: float = 30, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a Slurm CLI command against this cluster (never a system one: SLURM_CONF)."""
        result = subprocess.run(
            list(args), env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed (rc={result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def submit(self, script: Path, *extra_args: str) -> int:
        """`sbatch --parsable` the script into the test partition; returns the job id."""
        out = self.run("sbatch", "--parsable", f"--partition={self.partition}", *extra_args,
                       str(script)).stdout  # fmt: skip
        return int(out.strip().split(";")[0])

    def job_info(self, job_id: int) -> dict[str, str]:
        """`scontrol show job -o` as a dict (JobState, Restarts, ExitCode, NodeList, ...).

        There is no accounting DB, so this is the only record; MinJobAge keeps finished jobs
        in it for 10 minutes.
        """
        out = self.run("scontrol", "show", "job", "-o", str(job_id)).stdout
        lines = [line for line in out.splitlines() if line.strip()]
        if not lines:
            raise KeyError(f"slurm knows no job {job_id}")
        return parse_scontrol_record(lines[0])

    def state(self, job_id: int) -> str:
        """JobState without flags such as `+` or reasons."""
        return self.job_info(job_id).get("JobState", "").split()[0]

    def wait(
        self, job_id: int, states: frozenset[str] | set[str] = FINAL_STATES, timeout: float = 120
    ) -> str:
        """Poll until the job reaches one of `states`; returns that state or raises with logs."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            last = self.state(job_id)
            if last in states:
                return last
            time.sleep(0.25)
        raise TimeoutError(
            f"job {job_id} still {last or 'unknown'} after {timeout:.0f}s, wanted {sorted(states)}"
            f"\n{self.job_info(job_id)}\n{self.log_tails()}"
        )

    def node_states(self) -> dict[str, str]:
        """Node name -> compact sinfo state (idle, alloc, mix, down*, drain, ...)."""
        out = self.run("sinfo", "-h", "-N", "-o", "%N %t", timeout=10).stdout
        return dict(line.split(maxsplit=1) for line in out.splitlines() if line.strip())

    def log_tails(self, lines: int = 30) -> str:
        """The last lines of every daemon log, for failure messages."""
        return "\n".join(f"--- {path.name}\n{_tail(path, lines)}" for path in self.logs)


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def _client_env(conf: Path, workdir: Path) -> dict[str, str]:
    """The caller's environment minus any Slurm job context, pointed at our config.

    When the tests themselves run inside a Slurm job, inherited SLURM_JOB_ID & co. would
    make sbatch/srun think they are nested in that foreign job.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_", "SQUEUE_", "SINFO_"))
    }
    env.update(SLURM_CONF=str(conf), PATH=_search_path(), **{MARKER: str(workdir)})
    return env


def _write_munge_key(path: Path) -> None:
    """A random key readable only by us; munged refuses group/world-readable keys."""
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(os.urandom(128))


def _slurm_conf(workdir: Path, socket: Path, ports: list[int], nodes: list[str]) -> str:
    ctld_port, *node_ports = ports
    lines = [
        "ClusterName=sovtest",
        "SlurmctldHost=localhost",
        f"SlurmctldPort={ctld_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        # Our own munged; cred_expire also sets how long a requeued job waits before it
        # may start again (default 120 s), so keep it short for tests.
        f"AuthInfo=socket={socket},cred_expire=10",
        # Bind slurmctld, slurmd and srun to the resolved address (127.0.0.1), not 0.0.0.0.
        "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny",
        f"StateSaveLocation={workdir / 'state'}",
        f"SlurmdSpoolDir={workdir / 'spool' / '%n'}",
        f"SlurmctldPidFile={workdir / 'run' / 'slurmctld.pid'}",
        f"SlurmdPidFile={workdir / 'run' / 'slurmd-%n.pid'}",
        f"SlurmctldLogFile={workdir / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={workdir / 'log' / 'slurmd-%n.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "MailProg=/bin/true",
        # No cgroups/systemd in the container: track processes via /proc, no task binding.
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "SwitchType=switch/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        # Without a default, a job that asks no --mem is given the node's whole RealMemory.
        "DefMemPerCPU=500",
        # Trust the node lines below, not the probed hardware (CI runners differ).
        "SlurmdParameters=config_overrides",
        "ReturnToService=2",
        "JobRequeue=1",
        "MinJobAge=600",
        "KillWait=5",
        "SlurmdTimeout=30",
        "MessageTimeout=10",
        "InactiveLimit=0",
        # Pending jobs that become eligible (e.g. after requeue) are otherwise only looked
        # at by the periodic schedulers, every 60 s (main) / 30 s (backfill).
        "SchedulerParameters=sched_interval=1,bf_interval=1",
        "PreemptType=preempt/none",
    ]
    for name, port in zip(nodes, node_ports, strict=True):
        lines.append(
            f"NodeName={name} NodeHostname=localhost NodeAddr=127.0.0.1 Port={port} "
            f"CPUs={NODE_CPUS} RealMemory={NODE_MEMORY_MB} State=UNKNOWN"
        )
    lines.append(f"PartitionName=ci Nodes={','.join(nodes)} Default=YES MaxTime=UNLIMITED State=UP")
    return "\n".join(lines) + "\n"


class _Daemons:
    """The processes this cluster started, stopped in reverse order whatever happens."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.workdir / "log" / f"{name}.out").open("w")
        with log:
            proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, cwd=self.workdir, start_new_session=True,
            )  # fmt: skip
        self.procs.append((name, proc))
        return proc

    def dead(self) -> list[str]:
        return [
            f"{name} (rc={proc.returncode})" for name, proc in self.procs if proc.poll() is not None
        ]

    def stop_all(self, names: tuple[str, ...]) -> None:
        """Stop the named daemons (newest first) and forget them."""
        for name, proc in reversed(self.procs):
            if name in names:
                with suppress(ProcessLookupError):
                    stop(proc, grace=10)
        self.procs = [(name, proc) for name, proc in self.procs if name not in names]

    def strays(self) -> list[int]:
        """Live processes (slurmstepd, job tasks) whose environment names this cluster.

        Running daemons and their direct children (slurmctld's slurmscriptd) are not strays;
        slurmstepd is double-forked by slurmd, so it never counts as a child.
        """
        needle = f"{MARKER}={self.workdir}".encode()
        ours = {os.getpid(), *(proc.pid for _, proc in self.procs if proc.poll() is None)}
        found: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in ours:
                continue
            with suppress(OSError, ValueError, IndexError):
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                if parent not in ours and needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
        return found

    def kill_strays(self, grace: float = 5) -> None:
        """SIGTERM, then SIGKILL, what survived slurmd: slurmstepd runs in its own session.

        Also waits (bounded) until init has reaped them, so `pgrep slurm` is empty after.
        """
        signalled: set[int] = set()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.strays():
                signalled.add(pid)
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while self.strays() and time.monotonic() < deadline:
                time.sleep(0.2)
        deadline = time.monotonic() + grace
        while any(Path(f"/proc/{pid}").exists() for pid in signalled) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)


def _wait_reaped(timeout: float = 5) -> None:
    """Give init a moment to reap exited slurmstepd zombies (it does so lazily here).

    Only waits, kills nothing: a zombie carries no environment, so it cannot be tied to this
    cluster, but leaving none behind keeps `pgrep slurm` empty right after the tests.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        zombies = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError):
                text = stat.read_text()
                zombies |= "(slurmstepd)" in text and text.rpartition(")")[2].split()[0] == "Z"
        if not zombies:
            return
        time.sleep(0.1)


def _start_munged(daemons: _Daemons, workdir: Path) -> Path:
    munge = workdir / "munge"
    munge.mkdir(mode=0o711, exist_ok=True)
    key, socket = munge / "munge.key", munge / "munge.socket"
    _write_munge_key(key)
    proc = daemons.start("munged", [
        str(_which("munged")), "--foreground",
        # --force: munged insists every parent of its socket be world-searchable, which a
        # 0700 pytest tmp dir is not; nothing but this test cluster uses the socket.
        "--force",
        f"--key-file={key}", f"--socket={socket}", f"--pid-file={munge / 'munged.pid'}",
        f"--log-file={workdir / 'log' / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}",
    ])  # fmt: skip
    deadline = time.monotonic() + 20
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            out = _tail(workdir / "log" / "munged.out", 20)
            raise RuntimeError(f"munged did not come up (rc={proc.poll()}):\n{out}")
        time.sleep(0.05)
    return socket


def _wait_idle(cluster: SlurmCluster, daemons: _Daemons, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        if dead := daemons.dead():
            raise RuntimeError(f"slurm daemons exited: {dead}\n{cluster.log_tails()}")
        with suppress(RuntimeError, subprocess.TimeoutExpired):
            states = cluster.node_states()
            if all(states.get(node) == "idle" for node in cluster.nodes):
                return
        time.sleep(0.2)
    raise TimeoutError(f"nodes not idle after {timeout:.0f}s: {states}\n{cluster.log_tails()}")


def _cancel_jobs(cluster: SlurmCluster, daemons: _Daemons, timeout: float = 30) -> None:
    """Cancel everything and let slurmstepd clean up its tasks before the daemons go."""
    with suppress(Exception):
        cluster.run("scancel", f"--partition={cluster.partition}", timeout=10, check=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = cluster.run("squeue", "-h", "-o", "%i", timeout=10, check=False).stdout
            if not out.strip() and not daemons.strays():
                return
            time.sleep(0.25)


def _start_slurm(cluster: SlurmCluster, daemons: _Daemons, socket: Path, timeout: float) -> None:
    """slurmctld + one slurmd per node, retried on fresh ports if one was taken meanwhile.

    free_port() only proves a port was free a moment ago; another test may bind it before
    the daemon does.
    """
    slurm = ("slurmctld", *(f"slurmd-{node}" for node in cluster.nodes))
    for attempt in range(3):
        ports = distinct_ports(1 + len(cluster.nodes))
        cluster.conf.write_text(_slurm_conf(cluster.workdir, socket, ports, cluster.nodes))
        daemons.start("slurmctld", [str(_which("slurmctld")), "-D", "-f", str(cluster.conf)])
        for node in cluster.nodes:
            command = [str(_which("slurmd")), "-D", "-N", node, "-f", str(cluster.conf)]
            daemons.start(f"slurmd-{node}", command)
        try:
            _wait_idle(cluster, daemons, timeout)
            return
        except RuntimeError as exc:
            if attempt == 2 or "Address already in use" not in str(exc):
                raise
            daemons.stop_all(slurm)
            shutil.rmtree(cluster.workdir / "state")
            (cluster.workdir / "state").mkdir()


@contextmanager
def slurm_cluster(workdir: Path, start_timeout: float = 90) -> Iterator[SlurmCluster]:
    """Start munged, slurmctld and `slurmd -N n1` / `-N n2`; yield once both nodes are idle.

    Installs the Debian packages first if needed. On exit: cancel jobs, stop slurmds,
    slurmctld and munged by PID, then kill any slurmstepd or task that still carries this
    cluster's marker.
    """
    ensure_slurm_installed()
    workdir = workdir.resolve()
    if len(str(workdir)) > MAX_WORKDIR_CHARS:
        raise ValueError(f"workdir path too long for unix sockets: {workdir}")
    nodes = ["n1", "n2"]
    for sub in ("log", "state", "run", *(f"spool/{node}" for node in nodes)):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    conf = workdir / "slurm.conf"
    env = _client_env(conf, workdir)
    daemons = _Daemons(workdir, env)
    cluster = SlurmCluster(conf=conf, env=env, nodes=nodes, workdir=workdir)
    cluster.logs = [workdir / "log" / name for name in (
        "munged.log", "slurmctld.log", "slurmctld.out",
        *(f"slurmd-{node}.log" for node in nodes), *(f"slurmd-{node}.out" for node in nodes),
    )]  # fmt: skip
    try:
        socket = _start_munged(daemons, workdir)
        _start_slurm(cluster, daemons, socket, start_timeout)
        yield cluster
    finally:
        if daemons.procs:
            _cancel_jobs(cluster, daemons)
        daemons.stop_all(tuple(f"slurmd-{node}" for node in nodes))
        daemons.stop_all(("slurmctld",))
        daemons.kill_strays()
        daemons.stop_all(("munged",))
        _wait_reaped()
