"""What a user sees at the command line, and launcher detection (torchrun / srun / single)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sovtrain.distributed.context import detect_launcher, slurm_master_port
from sovtrain.distributed.launch import strip_option
from tests.conftest import REPO


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sovtrain.cli", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_bad_recipe_exits_2_naming_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "recipes/base/smoke.yaml").read_text() + "\nrun: {name: x, sed: 1}\n")
    result = cli("recipe", "validate", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "run.sed" in result.stderr
    assert "Traceback" not in result.stderr


def test_flops_json_and_estimate():
    recipe = str(REPO / "recipes/pretrain/finance-1b.yaml")
    plain = json.loads(cli("flops", recipe, "--json").stdout)
    assert 1.0e9 < plain["params"] < 1.2e9 and plain["seq_len"] == 4096
    est = json.loads(
        cli("flops", recipe, "--json", "--gpus", "64", "--tokens", "1e10", "--mfu", "0.4").stdout
    )
    hours = plain["flops_per_token"] * 1e10 / (64 * 989.4e12 * 0.4) / 3600
    assert est["wall_hours"] == pytest.approx(hours)
    assert est["device_hours"] == pytest.approx(64 * hours)


def test_launcher_detection():
    assert detect_launcher({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}) == (
        "torchrun", 3, 8, 1,
    )  # fmt: skip
    srun = {"SLURM_PROCID": "5", "SLURM_NTASKS": "16", "SLURM_LOCALID": "5", "SLURM_STEP_ID": "0"}
    assert detect_launcher(srun) == ("srun", 5, 16, 5)
    # inside the batch script itself (no job step) we are not a rank yet
    assert detect_launcher({"SLURM_PROCID": "0", "SLURM_NTASKS": "16"})[0] == "single"
    assert detect_launcher({}) == ("single", 0, 1, 0)
    assert slurm_master_port("123456") == slurm_master_port("123456")
    assert 20000 <= slurm_master_port("999999") < 40000


def test_nproc_is_stripped_before_relaunch():
    argv = ["train", "r.yaml", "--nproc", "2", "--set", "a=1", "--nproc=4"]
    assert strip_option(argv, "--nproc") == ["train", "r.yaml", "--set", "a=1"]
