"""`sovtrain slurm render -o job.sbatch` then plain `sbatch job.sbatch` on the real cluster.

Slurm opens the job's --output file before running a line of the script and does not create
its directory; the job used to fail at once with no output at all. `render -o` now creates
the profile's log directory, so the reviewed script can be submitted by hand.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.slurm_cluster import SlurmCluster, slurm_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    # a short temp dir, not pytest's: unix socket paths must fit in sun_path
    with (
        tempfile.TemporaryDirectory(prefix="sovrender-") as tmp,
        slurm_cluster(Path(tmp) / "c") as running,
    ):
        yield running


def test_rendered_script_submitted_with_plain_sbatch_starts(cluster: SlurmCluster, tmp_path):
    submit_dir = tmp_path / "submit"  # the user's directory: relative log_dir lands here
    submit_dir.mkdir()
    env = {**cluster.env, "SOVTRAIN_CLUSTERS_DIR": str(REPO / "slurm/clusters"),
           "COLUMNS": "1000"}  # fmt: skip
    recipe = str(REPO / "recipes/pretrain/finance-smoke.yaml")
    rendered = subprocess.run(
        [sys.executable, "-m", "sovtrain.cli", "slurm", "render", recipe, "--cluster",
         "local-ci", "-o", "job.sbatch"],
        cwd=submit_dir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert "created the log directory" in rendered.stdout + rendered.stderr
    submitted = subprocess.run(["sbatch", "--parsable", "job.sbatch"], cwd=submit_dir, env=env,
                               capture_output=True, text=True, timeout=60)  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job = int(submitted.stdout.strip().split(";")[0])
    output = submit_dir / "slurm-logs" / f"finance-smoke-{job}.out"
    try:
        _wait_for_line(cluster, job, output, f"sovtrain: job {job} restart 0")
    finally:
        cluster.run("scancel", str(job), check=False)
    assert cluster.job_info(job)["StdOut"] == str(output)


def _wait_for_line(cluster: SlurmCluster, job: int, path: Path, text: str) -> None:
    """Until the job's output holds `text`: the script ran past its #SBATCH lines."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text(errors="replace"):
            return
        state = cluster.state(job)
        if state not in {"PENDING", "CONFIGURING", "RUNNING"} and not path.is_file():
            pytest.fail(f"job {job} is {state} and wrote no {path}: {cluster.job_info(job)}")
        time.sleep(0.2)
    pytest.fail(f"job {job} never wrote {text!r} to {path}: {cluster.job_info(job)}")
