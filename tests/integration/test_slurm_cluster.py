"""The real two-node Slurm test cluster provides what a preemption-aware trainer relies on.

Multi-node placement, signal delivery to running steps and self-requeue are exactly the
behaviours mocks get wrong, so they are checked here against real slurmctld/slurmd daemons.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.slurm_cluster import SlurmCluster, slurm_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as running:
        yield running


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/bash\n" + body.lstrip())
    path.chmod(0o755)
    return path


def _wait_file(path: Path, cluster: SlurmCluster, job_id: int, timeout: float = 60) -> None:
    """Until the job writes `path`; fail early (with the job record) if it ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        state = cluster.state(job_id)
        if state not in {"PENDING", "CONFIGURING", "RUNNING"} or time.monotonic() > deadline:
            pytest.fail(f"{path.name} never appeared; job {job_id} is {state}: "
                        f"{cluster.job_info(job_id)}\n{cluster.log_tails()}")  # fmt: skip
        time.sleep(0.1)


def test_both_nodes_idle(cluster: SlurmCluster) -> None:
    assert cluster.node_states() == {"n1": "idle", "n2": "idle"}
    partitions = cluster.run("sinfo", "-h", "-o", "%P %D").stdout.split()
    assert partitions == ["ci*", "2"]


def test_two_node_batch_job_runs_one_task_per_node(cluster: SlurmCluster, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    script = _script(
        tmp_path / "two_nodes.sh",
        """
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=1
srun bash -c 'echo "$SLURMD_NODENAME $SLURM_PROCID"'
""",
    )
    job_id = cluster.submit(script, f"--output={out}")
    assert cluster.wait(job_id, timeout=60) == "COMPLETED", cluster.log_tails()
    info = cluster.job_info(job_id)
    assert info["ExitCode"] == "0:0"
    assert info["NodeList"] == "n[1-2]"
    assert info["NumNodes"] == "2"
    assert sorted(out.read_text().split("\n")[:2]) == ["n1 0", "n2 1"], out.read_text()


def test_scancel_signal_reaches_running_step(cluster: SlurmCluster, tmp_path: Path) -> None:
    """`scancel --signal=USR1 <job>` (no --batch) is delivered to the srun tasks.

    The task exits 0 only once its USR1 trap has fired, and 3 if no signal comes in 60 s.
    """
    ready, got = tmp_path / "ready", tmp_path / "got_usr1"
    script = _script(
        tmp_path / "trap.sh",
        f"""
#SBATCH --nodes=1
srun bash -c 'trap "touch {got}" USR1; touch {ready}
for _ in $(seq 600); do [ -e {got} ] && exit 0; sleep 0.1 || true; done; exit 3'
""",
    )
    job_id = cluster.submit(script, f"--output={tmp_path / 'out.txt'}")
    _wait_file(ready, cluster, job_id)
    cluster.run("scancel", "--signal=USR1", str(job_id))
    assert cluster.wait(job_id, timeout=60) == "COMPLETED", cluster.job_info(job_id)
    assert got.exists()
    assert cluster.job_info(job_id)["ExitCode"] == "0:0"


def test_requeue_from_inside_job_runs_it_again(cluster: SlurmCluster, tmp_path: Path) -> None:
    """`scontrol requeue $SLURM_JOB_ID` from the batch script restarts it with a new count."""
    script = _script(
        tmp_path / "requeue.sh",
        f"""
#SBATCH --nodes=1
#SBATCH --requeue
restart="${{SLURM_RESTART_COUNT:-0}}"
echo "$SLURM_JOB_ID $restart" > {tmp_path}/run-"$restart"
if [ "$restart" = 0 ]; then
    scontrol requeue "$SLURM_JOB_ID"
    sleep 120
    exit 4
fi
""",
    )
    job_id = cluster.submit(script, f"--output={tmp_path / 'out.txt'}")
    # The requeued job is held back for AuthInfo cred_expire (10 s) before it may restart.
    assert cluster.wait(job_id, timeout=90) == "COMPLETED", cluster.job_info(job_id)
    assert (tmp_path / "run-0").read_text().split() == [str(job_id), "0"]
    assert (tmp_path / "run-1").read_text().split() == [str(job_id), "1"]
    info = cluster.job_info(job_id)
    assert info["Restarts"] == "1"
    assert info["ExitCode"] == "0:0"
