"""Recipes as real sbatch jobs on the two-node test cluster (n1, n2 on loopback).

The smoke recipe, shrunk by `--set` so a job takes about a minute, is rendered for `local-ci`
with `--nodes 2` (one task per node, DeepSpeed ZeRO-2 over gloo) and submitted with
`sovtrain slurm submit`, exactly as a user would; MLflow is a real server on loopback.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import REPO
from tests.integration.servers import mlflow_server
from tests.integration.slurm_cluster import SlurmCluster, slurm_cluster

pytestmark = pytest.mark.slow
RECIPE = "recipes/pretrain/finance-smoke.yaml"
STEPS = 24
SMALL = [
    f"train.max_steps={STEPS}", "train.log_interval=2", "train.eval_interval=12",
    "train.seq_len=128", "data.sources.0.documents=400", "tokenizer.train_chars=400000",
]  # fmt: skip
TOKENS_PER_STEP = 16 * 128  # the smoke recipe's 16 sequences per step, at seq_len 128


@pytest.fixture(scope="module")
def world() -> Iterator[dict]:
    # unix socket paths are short: the cluster lives in a short temp dir, not pytest's
    with tempfile.TemporaryDirectory(prefix="sovslurm-") as tmp:
        base = Path(tmp)
        with slurm_cluster(base / "c") as cluster, mlflow_server(base / "mlflow") as url:
            yield {"cluster": cluster, "mlflow": url, "tmp": base, "client": MlflowClient(url)}


def submit(world: dict, name: str, *extra: str, nodes: int = 2) -> tuple[int, str, Path]:
    """`sovtrain slurm submit` on local-ci; returns (job id, MLflow run id, output dir)."""
    out_dir = world["tmp"] / name
    sets = [*SMALL, f"run.name={name}", f"run.output_uri={out_dir}",
            f"tracking.uri={world['mlflow']}", "tracking.experiment=slurm-it", *extra]  # fmt: skip
    args = ["slurm", "submit", RECIPE, "--cluster", "local-ci", "--nodes", str(nodes)]
    for item in sets:
        args += ["--set", item]
    result = _cli(world["cluster"], *args)
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join((result.stdout + result.stderr).split())
    job = int(re.search(r"submitted job (\d+)", text)[1])
    run_id = re.search(r"/runs/([0-9a-f]{32})", text)[1]
    return job, run_id, out_dir


def _cli(cluster: SlurmCluster, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sovtrain.cli", *args], cwd=REPO,
                          env=cluster.env, capture_output=True, text=True, timeout=120)  # fmt: skip


def finish(world: dict, job: int, timeout: float = 900) -> dict[str, str]:
    cluster = world["cluster"]
    state = cluster.wait(job, timeout=timeout)
    info = cluster.job_info(job)
    assert state == "COMPLETED", f"{info}\n{_job_output(info)}"
    return info


def _job_output(info: dict[str, str]) -> str:
    text = ""
    for key in ("StdOut", "StdErr"):
        path = Path(info.get(key, ""))
        if path.is_file():
            text += f"--- {path}\n" + "\n".join(path.read_text().splitlines()[-60:])
    return text


def loss_steps(world: dict, run_id: str) -> list[int]:
    return sorted(m.step for m in world["client"].get_metric_history(run_id, "loss"))


def wait_for_step(world: dict, job: int, run_id: str, step: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if max(loss_steps(world, run_id), default=0) >= step:
            return
        state = world["cluster"].state(job)
        assert state in ("PENDING", "RUNNING", "CONFIGURING"), _job_output(
            world["cluster"].job_info(job)
        )
        time.sleep(1)
    raise TimeoutError(f"job {job} did not log step {step} in {timeout}s")


def final_state(out_dir: Path) -> dict:
    import json

    latest = (out_dir / "checkpoints" / "latest").read_text().strip()
    return json.loads((out_dir / "checkpoints" / latest / "sovtrain_state.json").read_text())


def test_two_node_smoke_job_runs_through_sbatch(world):
    job, run_id, out_dir = submit(world, "plain", "checkpoint.interval_steps=12")
    info = finish(world, job)
    assert info["NodeList"] == "n[1-2]"
    run = world["client"].get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["world_size"] == "2" and run.data.tags["launcher"] == "srun"
    assert run.data.tags["slurm_job_id"] == str(job)
    for key in ("loss", "tokens_per_s", "mfu", "eval_loss"):
        assert world["client"].get_metric_history(run_id, key), key
    assert loss_steps(world, run_id) == list(range(2, STEPS + 1, 2))
    assert final_state(out_dir)["tokens_seen"] == STEPS * TOKENS_PER_STEP
    status = _cli(world["cluster"], "slurm", "status", str(job))
    assert "COMPLETED" in status.stdout and f"step {STEPS}" in status.stdout, status.stdout
    world["uninterrupted"] = final_state(out_dir)


def test_usr1_checkpoints_requeues_and_finishes_as_one_run(world):
    cluster = world["cluster"]
    job, run_id, out_dir = submit(world, "preempted", "checkpoint.interval_steps=100")
    wait_for_step(world, job, run_id, 6)
    cluster.run("scancel", "--signal=USR1", str(job))
    info = finish(world, job)
    assert int(info["Restarts"]) >= 1, info
    output = _job_output(info)
    assert "requeueing job" in output
    state = final_state(out_dir)
    assert state["step"] == STEPS and state["tokens_seen"] == STEPS * TOKENS_PER_STEP
    if "uninterrupted" in world:
        assert state["tokens_seen"] == world["uninterrupted"]["tokens_seen"]
        assert state["data_position"] == world["uninterrupted"]["data_position"]
    signalled = [final_state_of(p) for p in (out_dir / "checkpoints").glob("step_*")]
    assert any(s["saved_for"] == "SIGUSR1" for s in signalled)
    runs = world["client"].search_runs(
        [world["client"].get_experiment_by_name("slurm-it").experiment_id],
        filter_string="tags.mlflow.runName = 'preempted'",
    )
    assert [r.info.run_id for r in runs] == [run_id]  # one logical run across the requeue
    assert runs[0].info.status == "FINISHED"
    assert loss_steps(world, run_id) == list(range(2, STEPS + 1, 2))  # one curve, no repeats
    logs = Path(info["StdOut"]).parent
    assert (logs / f"preempted-{job}-r0.env").is_file() and (
        logs / f"preempted-{job}-r1.env"
    ).is_file()


def final_state_of(path: Path) -> dict:
    import json

    return json.loads((path / "sovtrain_state.json").read_text())


def test_killing_one_rank_ends_the_job_and_a_resubmission_resumes(world):
    cluster = world["cluster"]
    job, run_id, out_dir = submit(world, "killed", "checkpoint.interval_steps=4")
    wait_for_step(world, job, run_id, 10)
    pid = _rank_pid(job, rank=1)
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    state = cluster.wait(job, timeout=120)
    assert state in ("FAILED", "CANCELLED"), cluster.job_info(job)
    assert time.monotonic() - killed_at < 90  # promptly: no rank left hanging in a collective
    checkpointed = final_state(out_dir)["step"]
    assert 4 <= checkpointed < STEPS
    job2, run_id2, _ = submit(world, "killed", "checkpoint.interval_steps=4")
    assert run_id2 == run_id  # the resubmission continues the run its checkpoints belong to
    finish(world, job2)
    run = world["client"].get_run(run_id)
    assert run.data.tags["resumed_from"].endswith(f"step_{checkpointed:08d}")
    assert final_state(out_dir)["step"] == STEPS


STALL_BOUND_S = 20  # train.collective_timeout_s of the stall test


def test_a_stopped_rank_ends_the_job_within_the_bound_and_the_output_names_it(world):
    """Rank 1 (on n2) frozen with SIGSTOP: rank 0's watchdog exits 5 after the bound, naming
    rank 1; `srun --kill-on-bad-exit=1` ends the step (SIGCONT, SIGTERM, SIGKILL after
    KillWait); the job leaves the queue FAILED instead of running out its time, with the
    last verified checkpoint in place for a resubmission (resuming one is shown above)."""
    cluster = world["cluster"]
    sets = ("checkpoint.interval_steps=4", "train.max_steps=200",
            f"train.collective_timeout_s={STALL_BOUND_S}")  # fmt: skip
    job, run_id, out_dir = submit(world, "stalled", *sets)
    wait_for_step(world, job, run_id, 10)
    pid = _rank_pid(job, rank=1)
    os.kill(pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        state = cluster.wait(job, timeout=STALL_BOUND_S + 120)
        took = time.monotonic() - stopped
    finally:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
    info = cluster.job_info(job)
    output = "".join(Path(info[key]).read_text() for key in ("StdOut", "StdErr"))
    assert state == "FAILED", f"{info}\n{output}"
    assert cluster.run("squeue", "-h", "-j", str(job), check=False).stdout.strip() == ""
    # the bound, less the step rank 0 may already have waited in, plus Slurm's teardown
    assert STALL_BOUND_S - 3 <= took <= STALL_BOUND_S + 40, (took, output)
    assert info["ExitCode"].startswith("5:"), info
    line = next(ln for ln in output.splitlines() if "watchdog: rank 0 made no progress" in ln)
    assert "stalled: rank 1 (" in line and "last completed step" in line, line
    assert f"train.collective_timeout_s={STALL_BOUND_S}" in line
    # rank 1, thawed by the step's kill (SIGCONT, SIGTERM), finds its peers gone and says so
    assert "watchdog: rank 1 was frozen for" in output, output
    print(f"SIGSTOP to job FAILED: {took:.1f}s (bound {STALL_BOUND_S}s)")
    assert final_state(out_dir)["step"] >= 4  # `latest` names a verified checkpoint


def _rank_pid(job: int, rank: int) -> int:
    """The training process of `rank` in `job`, found by its Slurm environment."""
    wanted = {f"SLURM_JOB_ID={job}".encode(), f"SLURM_PROCID={rank}".encode()}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = set((proc / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if b"sovtrain.cli" in cmdline and wanted <= environ:
            return int(proc.name)
    raise LookupError(f"no rank {rank} process for job {job}")
