"""sbatch rendering: golden scripts for review, and no way for a value to become shell code."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sovtrain.core.errors import RecipeError
from sovtrain.slurm.profile import ClusterProfile
from sovtrain.slurm.render import JobSpec, RenderError, render
from tests.conftest import REPO, TINY_RECIPE, write_recipe

GOLDEN = REPO / "tests" / "golden"
EVIL = 'x\'; touch {marker}; echo "$(touch {marker})" `touch {marker}` $HOME \\ *'


def _normalised(script: str) -> str:
    """Paths and the recipe digest (it moves with every new schema default) abstracted."""
    import re

    script = re.sub(r"\(digest [0-9a-f]{16}\)", "(digest <DIGEST>)", script)
    return script.replace(str(REPO), "<REPO>")


@pytest.mark.parametrize("nodes", [1, 16])
def test_golden_scripts_for_hk_cyberport(nodes, monkeypatch):
    """Review-by-diff: a template change shows up here as a readable script diff.
    Regenerate with SOVTRAIN_UPDATE_GOLDEN=1 after reviewing the change."""
    monkeypatch.chdir(REPO)
    recipe = REPO / "recipes/pretrain/finance-1b.yaml"
    script = _normalised(render(JobSpec(recipe, "hk-cyberport", nodes=nodes)).script)
    golden = GOLDEN / f"finance-1b.hk-cyberport.{nodes}n.sbatch"
    if os.environ.get("SOVTRAIN_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(script)
    assert script == golden.read_text()
    assert f"#SBATCH --nodes={nodes}\n" in script
    assert "#SBATCH --ntasks-per-node=8\n" in script and "--kill-on-bad-exit=1" in script


def test_bad_options_are_refused_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    recipe = REPO / "recipes/pretrain/finance-1b.yaml"
    with pytest.raises(RenderError, match=r"allows 1\.\.64"):
        render(JobSpec(recipe, "hk-cyberport", nodes=65))
    with pytest.raises(RenderError, match="not divisible"):  # 1024 sequences over 3x8 ranks
        render(JobSpec(recipe, "hk-cyberport", nodes=3))
    with pytest.raises(RenderError, match="--dependency"):
        render(JobSpec(recipe, "hk-cyberport", dependency="afterok:1; rm -rf /"))
    with pytest.raises(ValueError, match="HH:MM:SS"):
        render(JobSpec(recipe, "hk-cyberport", time_limit="1:00$(id)"))
    with pytest.raises(RenderError, match="no scheduler"):
        render(JobSpec(recipe, "local"))
    for field, value in [("partition", "gpu;id"), ("account", "a b"), ("log_dir", "$(id)")]:
        with pytest.raises(ValueError):
            ClusterProfile(name="c", region="hk", **{field: value})
    with pytest.raises(ValueError):
        ClusterProfile(name="c", region="hk", partition="p",
                       environment={"variables": {"A;B": "x"}})  # fmt: skip
    with pytest.raises(RecipeError, match=r"run\.name"):
        render(JobSpec(_evil_recipe(tmp_path, "$(id)"), "hk-cyberport"))


def _evil_recipe(directory: Path, run_name: str = "tiny", marker: str = "PWNED") -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["name"] = run_name
    evil = EVIL.format(marker=marker)
    recipe["run"]["output_uri"] = f"runs/{evil}"
    recipe["tracking"]["experiment"] = evil
    recipe["data"]["sources"][0]["name"] = evil
    recipe["data"]["sources"][0]["card"] = evil
    directory.mkdir(parents=True, exist_ok=True)
    return write_recipe(directory / "recipe.yaml", recipe)


def test_metacharacters_everywhere_stay_data(tmp_path, monkeypatch):
    """Shell metacharacters in recipe fields, --set values, the recipe's path and profile
    variables are quoted: bash -n passes, and running the script with stubbed Slurm commands
    hands srun the exact strings and creates no marker file."""
    monkeypatch.chdir(REPO)
    marker = tmp_path / "PWNED"
    evil = EVIL.format(marker=marker)
    weird_dir = tmp_path / "dir with $(touch PWNED) and 'quotes'"
    recipe = _evil_recipe(weird_dir, marker=str(marker))
    venv, logs = tmp_path / "venv", tmp_path / "logs"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text("")
    logs.mkdir()
    profile = tmp_path / "evil-cluster.yaml"
    profile.write_text(yaml.safe_dump({
        "name": "evil", "region": "hk", "partition": "ci", "max_nodes": 2,
        "environment": {"venv": str(venv), "modules": ["cuda/12.4"],
                        "variables": {"EVIL_VALUE": evil}},
        "log_dir": str(logs),
    }))  # fmt: skip
    overrides = [f"tracking.experiment={evil}"]
    spec = JobSpec(recipe, str(profile), overrides=overrides, nodes=2)
    script = tmp_path / "job.sbatch"
    script.write_text(render(spec).script)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0

    stubs = tmp_path / "stubs"
    stubs.mkdir()
    calls = tmp_path / "calls"
    for name, code in (("srun", 75), ("scontrol", 0), ("module", 0)):
        stub = stubs / name
        # each stub records its argv, one NUL-terminated word per argument
        stub.write_text(
            f"#!/bin/bash\nprintf '%s\\0' {name} \"$@\" >> {calls}/{name}\n"
            f"if [ \"$1 $2\" = 'show hostnames' ]; then echo n1; fi\nexit {code}\n"
        )
        stub.chmod(0o755)
    calls.mkdir()
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "tiny",
           "SLURM_JOB_NODELIST": "n[1-2]", "HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                            timeout=30, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr  # 75 from srun -> requeue -> exit 0
    assert not marker.exists() and not (tmp_path / "PWNED").exists()
    assert not any(p.name == "PWNED" for p in REPO.iterdir())
    srun = (calls / "srun").read_text().split("\0")[:-1]
    assert srun[:4] == ["srun", "--kill-on-bad-exit=1", "--cpu-bind=none", "python"]
    assert srun[srun.index("train") + 1] == str(recipe.resolve())  # the path, verbatim
    assert srun[srun.index("--set") + 1] == overrides[0]  # the value, verbatim
    scontrol = (calls / "scontrol").read_text().split("\0")[:-1]
    assert scontrol[-3:] == ["scontrol", "requeue", "4242"]
    assert sorted(p.name for p in calls.iterdir()) == ["module", "scontrol", "srun"]
    captured = next(logs.glob("tiny-4242-r0.env")).read_text()
    assert f"EVIL_VALUE={evil}" in captured


def test_sweep_renders_a_job_array_with_one_run_per_task(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    recipe = write_recipe(tmp_path / "tiny.yaml", copy.deepcopy(TINY_RECIPE))
    spec = JobSpec(recipe, "local-ci", nodes=2, dependency="afterok:41",
                   sweep=["train.optimizer.lr=1e-3,3e-3", "train.micro_batch=2,4"])  # fmt: skip
    script = render(spec).script
    assert "#SBATCH --array=0-3\n" in script and "#SBATCH --dependency=afterok:41\n" in script
    assert "3) ARGS+=( --set train.optimizer.lr=3e-3 --set train.micro_batch=4 " in script
    assert "--set run.name=tiny-s3 )" in script
    assert subprocess.run(["bash", "-n", "-c", script]).returncode == 0
    with pytest.raises(RenderError, match=r"share run\.output_uri"):
        shared = copy.deepcopy(TINY_RECIPE)
        shared["run"]["output_uri"] = str(tmp_path / "fixed")
        render(JobSpec(write_recipe(tmp_path / "fixed.yaml", shared), "local-ci",
                       sweep=["train.optimizer.lr=1e-3,3e-3"]))  # fmt: skip


def test_gpu_only_switches_are_checked_against_the_profile_before_queueing(tmp_path, monkeypatch):
    """fp8 on a cluster whose gpu_type has no fp8 tensor cores is refused at render time
    (before hours in the queue); on one that has them, MFU's peak is still the bf16 one."""
    from sovtrain.core.errors import HardwareError

    monkeypatch.chdir(REPO)
    recipe = REPO / "recipes/pretrain/finance-1b.yaml"
    rendered = render(JobSpec(recipe, "hk-cyberport", overrides=["train.precision=fp8"]))
    assert "SOVTRAIN_PEAK_TFLOPS=989.4" in rendered.script  # h800: the bf16 peak
    clusters = tmp_path / "clusters"
    shutil.copytree(REPO / "slurm" / "clusters", clusters)
    profile = yaml.safe_load((clusters / "hk-cyberport.yaml").read_text())
    (clusters / "hk-a100.yaml").write_text(
        yaml.safe_dump({**profile, "name": "hk-a100", "gpu_type": "a100"})
    )
    monkeypatch.setenv("SOVTRAIN_CLUSTERS_DIR", str(clusters))
    with pytest.raises(HardwareError, match="cluster hk-a100's gpu_type is a100"):
        render(JobSpec(recipe, "hk-a100", overrides=["train.precision=fp8"]))
    render(JobSpec(recipe, "hk-a100"))  # bf16 there is fine
