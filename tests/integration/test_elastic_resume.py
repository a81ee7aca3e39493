"""A run continues on another world size: 2 ranks -> 1 and 1 -> 2, at ZeRO-2 and ZeRO-3.

Each case is real DeepSpeed over gloo, tracked in a real MLflow server: the first invocation
stops after step 6 (`--stop-after`, a checkpoint), the second resumes with `--resume auto`
on the other number of processes. The global batch is fixed by the recipe (gradient
accumulation is re-derived), the data position is global, and the optimizer state goes
through DeepSpeed's universal layout, so the resumed run must end where the uninterrupted
run ends: the same loss curve, the same tokens, one MLflow run with no step logged twice.
The reference is the uninterrupted run at the world size the case started at: the held-out
set is fixed by that one (`train.eval_batches` per rank of it), so eval_loss compares too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from sovtrain.train.checkpoint import CheckpointStore
from tests.conftest import tracked_recipe
from tests.integration.servers import mlflow_server

pytestmark = pytest.mark.slow
STAGES = (2, 3)
CASES = {"shrink": (2, 1), "grow": (1, 2)}  # (world size before, world size after)


def sovtrain_train(recipe: Path, nproc: int, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    command = [sys.executable, "-m", "sovtrain.cli", "train", str(recipe), *args]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr[-4000:]}"
    return result


def _recipe(tmp: Path, name: str, url: str, stage: int) -> Path:
    path = tracked_recipe(tmp, name, url)
    recipe = yaml.safe_load(path.read_text())
    recipe["deepspeed"]["zero_stage"] = stage
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("elastic")
    with mlflow_server(tmp / "mlflow") as url:
        yield {"tmp": tmp, "url": url, "client": MlflowClient(url)}


@pytest.fixture(scope="module", params=STAGES, ids=lambda stage: f"zero{stage}")
def elastic(tracking, request):
    """One ZeRO stage's runs: uninterrupted on 1 and 2 ranks, then shrink and grow (one
    fixture per stage keeps each under the per-test timeout)."""
    stage, tmp, url = request.param, tracking["tmp"], tracking["url"]
    logs: dict[str, str] = {}
    for ranks in (1, 2):
        full = _recipe(tmp, f"full-z{stage}-w{ranks}", url, stage)
        sovtrain_train(full, ranks, "--resume", "never")
    for case, (before, after) in CASES.items():
        path = _recipe(tmp, f"{case}-z{stage}", url, stage)
        sovtrain_train(path, before, "--stop-after", "6")
        logs[f"{case}-z{stage}"] = sovtrain_train(path, after).stderr
    client = tracking["client"]
    runs = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    return {"tmp": tmp, "client": client, "logs": logs, "stage": stage,
            "names": [r.info.run_name for r in runs],
            "runs": {r.info.run_name: r for r in runs}}  # fmt: skip


def _history(elastic: dict, name: str, key: str) -> list[tuple[int, float]]:
    run_id = elastic["runs"][name].info.run_id
    return sorted((m.step, m.value) for m in elastic["client"].get_metric_history(run_id, key))


def _final_state(elastic: dict, name: str) -> dict:
    root = elastic["tmp"] / name / "checkpoints"
    return json.loads((root / (root / "latest").read_text() / "sovtrain_state.json").read_text())


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_run_resumed_on_another_world_size_ends_at_the_uninterrupted_loss(elastic, case):
    stage = elastic["stage"]
    name, full = f"{case}-z{stage}", f"full-z{stage}-w{CASES[case][0]}"
    assert elastic["names"].count(name) == 1  # the resume continued the run it belongs to
    for key in ("loss", "eval_loss"):
        resumed, reference = _history(elastic, name, key), _history(elastic, full, key)
        assert [s for s, _ in resumed] == [s for s, _ in reference], (key, resumed)  # no repeat
        for (step, a), (_, b) in zip(resumed, reference, strict=True):
            assert abs(a - b) <= 1e-3 * abs(b), (key, step, a, b)
    finished, reference = _final_state(elastic, name), _final_state(elastic, full)
    assert finished["step"] == reference["step"] == 12
    assert finished["tokens_seen"] == reference["tokens_seen"]
    assert finished["data_position"] == reference["data_position"]
    assert finished["world_size"] == CASES[case][1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_resume_says_what_changed_and_keeps_a_verified_universal_copy(elastic, case):
    before, after = CASES[case]
    name = f"{case}-z{elastic['stage']}"
    log = " ".join(elastic["logs"][name].split())
    assert f"world size changed {before} -> {after}" in log
    assert f"gradient accumulation {after} -> {before}" in log  # 8 sequences / (4 x ranks)
    assert "resumed from checkpoint" in log and "(step 6," in log
    root = elastic["tmp"] / name / "checkpoints"
    store = CheckpointStore(str(root), 0, 1)
    assert store.verify("step_00000006.universal")
    copy, _ = store.manifest("step_00000006.universal")
    assert copy["derived_from"] == store.manifest("step_00000006")[1]
    assert (root / "latest").read_text() == "step_00000012"  # the copy never becomes latest
    tags = elastic["runs"][name].data.tags
    assert tags["world_size"] == str(after)
    assert tags["world_size_changed"] == f"{before} -> {after} at step 6"
    assert tags["resumed_from"].endswith("step_00000006")
