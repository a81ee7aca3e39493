"""Real 2-process DeepSpeed ZeRO-2 runs (gloo) tracked in a real MLflow server.

Proves: resume equivalence (a run stopped at step 6 and resumed ends with the same loss curve
as an uninterrupted one, in one MLflow run), and what a run records in MLflow.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from sovtrain.train.checkpoint import CheckpointStore
from sovtrain.train.energy import ENERGY_KEYS
from tests.conftest import REPO, TINY_RECIPE, tracked_recipe, write_recipe
from tests.integration.servers import mlflow_server

pytestmark = pytest.mark.slow

METRICS = [
    "loss", "lr", "grad_norm", "tokens_per_s", "tokens_per_s_per_device",
    "tflops_per_device", "mfu", "step_time", "eval_loss", "checkpoint_bytes",
]  # fmt: skip


HEALTHY_BOUND_S = 20  # train.collective_timeout_s of the healthy 2-rank runs


def sovtrain(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    command = [sys.executable, "-m", "sovtrain.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    with mlflow_server(tmp / "mlflow") as url:
        # a low stall bound across evals, checkpoints, the pause and the final save: the
        # watchdog must not fire on a healthy run
        full = tracked_recipe(tmp, "uninterrupted", url, collective_timeout_s=HEALTHY_BOUND_S)
        split = tracked_recipe(tmp, "resumed", url, collective_timeout_s=HEALTHY_BOUND_S)
        results = {
            "full": sovtrain("train", str(full), "--nproc", "2", "--resume", "never"),
            "first": sovtrain("train", str(split), "--nproc", "2", "--stop-after", "6"),
            "second": sovtrain("train", str(split), "--nproc", "2"),
        }
        for name, result in results.items():
            assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr[-4000:]}"
            assert "watchdog" not in result.stderr, result.stderr[-4000:]
        client = MlflowClient(url)
        experiment = client.get_experiment_by_name("tests")
        found = client.search_runs([experiment.experiment_id])
        yield {"client": client, "runs": {r.info.run_name: r for r in found}, "tmp": tmp,
               "results": results}  # fmt: skip


def _history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_resumed_run_is_one_mlflow_run_with_the_same_loss_curve(runs):
    client, by_name = runs["client"], runs["runs"]
    assert sorted(by_name) == ["resumed", "uninterrupted"]  # the resume continued its run
    full = _history(client, by_name["uninterrupted"].info.run_id, "loss")
    resumed = _history(client, by_name["resumed"].info.run_id, "loss")
    assert [s for s, _ in full] == [2, 4, 6, 8, 10, 12]
    assert [s for s, _ in resumed] == [s for s, _ in full]
    for (step, a), (_, b) in zip(full, resumed, strict=True):
        assert abs(a - b) <= 1e-4 * abs(a), (step, a, b)
    assert "resumed_from" in by_name["resumed"].data.tags
    assert by_name["resumed"].data.tags["resumed_from"].endswith("step_00000006")
    assert "6 steps" not in runs["results"]["second"].stderr  # sanity: it did not restart


def test_mlflow_records_params_tags_metrics_and_artifacts(runs):
    client = runs["client"]
    run = client.get_run(runs["runs"]["uninterrupted"].info.run_id)
    assert run.info.status == "FINISHED"
    for key in METRICS:
        assert client.get_metric_history(run.info.run_id, key), f"metric {key} missing"
    # a CPU run measures no energy: the keys are absent, not zero (train/energy.py)
    assert not set(ENERGY_KEYS) & set(run.data.metrics), run.data.metrics.keys()
    params = run.data.params
    assert params["world_size"] == "2"
    assert params["train.seq_len"] == "64"
    assert params["model.arch"] == "llama"
    assert params["deepspeed.zero_stage"] == "2"
    assert params["grad_accumulation"] == "1"
    tags = run.data.tags
    assert tags["world_size"] == "2" and tags["device"] == "cpu"
    assert len(tags["recipe_digest"]) == 64 and tags["git_sha"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"recipe.resolved.yaml", "deepspeed_config.json", "checkpoints"} <= artifacts
    events = {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")}
    assert "checkpoints/step_00000004.json" in events
    final_loss = _history(client, run.info.run_id, "loss")[-1][1]
    first_loss = _history(client, run.info.run_id, "loss")[0][1]
    assert final_loss < first_loss


def test_run_records_lineage_compliance_tags_and_a_verifiable_audit_log(runs):
    from sovtrain.data.shards import manifest_digest
    from sovtrain.governance.audit import verify
    from sovtrain.governance.cards import load_card

    client = runs["client"]
    run = client.get_run(runs["runs"]["resumed"].info.run_id)
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    card = load_card(REPO / "data_cards" / "synthetic-finance-bilingual.yaml")
    assert set(inputs) == {"synthetic-finance-bilingual@1", "packed-shards"}
    by_tag = {t.key: t.value for t in inputs["synthetic-finance-bilingual@1"].tags}
    assert by_tag["card_digest"] == card.digest
    assert inputs["synthetic-finance-bilingual@1"].dataset.digest == card.digest[:32]
    shards = {t.key: t.value for t in inputs["packed-shards"].tags}
    assert shards["manifest_digest"] == manifest_digest(str(runs["tmp"] / "shared-data" / "shards"))
    tags = run.data.tags
    assert tags["compliance.datasets"] == "synthetic-finance-bilingual@1"
    assert tags["compliance.compute_region"] == "hk" and tags["compliance.cluster"] == "local"
    # one chain across both invocations of the resumed run, matching the published head
    log_path = runs["tmp"] / "resumed" / "audit.jsonl"
    result = verify(log_path, expect_head=tags["audit.head"])
    assert result.ok and result.records > 10 and result.denied == 0
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert {"checkpoint", "shards", "run-output"} <= {r["purpose"] for r in records}
    assert {"audit/audit.jsonl"} <= {
        a.path for a in client.list_artifacts(run.info.run_id, "audit")
    }


def test_checkpoints_on_disk_are_verified_and_latest_is_newest(runs):
    root = runs["tmp"] / "uninterrupted" / "checkpoints"
    assert (root / "latest").read_text() == "step_00000012"
    steps = sorted(p.name for p in root.glob("step_*"))
    assert steps == ["step_00000004", "step_00000008", "step_00000012"]


def test_nan_loss_stops_with_a_clear_error_and_no_checkpoint(tmp_path):
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "nan")
    recipe["tracking"]["enabled"] = False
    path = tmp_path / "nan.yaml"
    path.write_text(yaml.safe_dump(recipe))
    # rope_theta = 0 makes the rotary frequencies inf: the loss is NaN from the first step
    bad_rope = "model.config.rope_parameters={rope_type: default, rope_theta: 0.0}"
    result = sovtrain("train", str(path), "--set", bad_rope)
    assert result.returncode == 4, result.stderr[-3000:]
    assert "NaN/inf" in result.stderr
    assert not list((tmp_path / "nan").glob("checkpoints/step_*"))


def test_default_embedded_mlflow_store_lives_in_the_run_directory(tmp_path):
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "local")
    recipe["train"]["max_steps"] = 4
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(recipe))
    result = sovtrain("train", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mlflow ui --backend-store-uri sqlite:///" in result.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'local' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith(str(tmp_path / "local" / "mlartifacts"))
    assert client.get_metric_history(run.info.run_id, "mfu")


@pytest.mark.parametrize("async_save", [False, True], ids=["sync", "async"])
def test_usr1_checkpoints_exits_75_and_the_rerun_finishes_the_same_run(tmp_path, async_save):
    """The preemption contract without Slurm: USR1 -> checkpoint marked SIGUSR1 -> exit 75;
    the rerun resumes in the same MLflow run and ends where an uninterrupted run ends. With
    `checkpoint.async` the signalled stop and the end of the run drain: the checkpoint is
    published, verified and named by `latest` before the process exits."""
    import signal
    import time

    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "sig")
    recipe["train"].update(max_steps=40, log_interval=1)
    recipe["checkpoint"]["interval_steps"] = 1000  # only the signal and the final checkpoint
    recipe["checkpoint"]["async"] = async_save
    path = write_recipe(tmp_path / "sig.yaml", recipe)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "sovtrain.cli", "train", str(path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    db = tmp_path / "sig" / "mlflow.db"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and _logged_steps(db) >= 3:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGUSR1)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 75, stderr[-3000:]
    assert "SIGUSR1" in stderr
    assert ("publishing in the background" in stderr) is async_save
    checkpoints = sorted((tmp_path / "sig" / "checkpoints").glob("step_*"))
    assert len(checkpoints) == 1
    state = json.loads((checkpoints[0] / "sovtrain_state.json").read_text())
    assert state["saved_for"] == "SIGUSR1" and 3 <= state["step"] < 40
    store = CheckpointStore(str(tmp_path / "sig" / "checkpoints"), 0, 1)
    assert (tmp_path / "sig/checkpoints/latest").read_text() == checkpoints[0].name
    assert store.newest_verified() == checkpoints[0].name
    resumed = sovtrain("train", str(path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{db}")
    (run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert run.info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "loss")]
    assert sorted(steps) == list(range(1, 41))  # one run, one curve, no step twice
    final = json.loads((tmp_path / "sig/checkpoints/step_00000040/sovtrain_state.json").read_text())
    assert final["tokens_seen"] == 40 * 8 * 64
    assert (tmp_path / "sig/checkpoints/latest").read_text() == "step_00000040"
    assert store.newest_verified() == "step_00000040"
    recorded = client.list_artifacts(run.info.run_id, "checkpoints")
    assert {Path(a.path).name for a in recorded} >= {f"{checkpoints[0].name}.json",
                                                     "step_00000040.json"}  # fmt: skip


def _logged_steps(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute("select max(step) from metrics where key = 'loss'").fetchone()
    except sqlite3.Error:
        return 0
    return row[0] or 0


def test_async_checkpoints_at_two_ranks_publish_drain_and_resume(tmp_path):
    """`checkpoint.async` at world size 2: rank 0 publishes in the background, both ranks
    agree on it at the next save and at the pause; the rerun resumes from it and finishes."""
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "a")
    recipe["checkpoint"].update({"async": True, "interval_steps": 2})
    recipe["train"]["collective_timeout_s"] = HEALTHY_BOUND_S  # drains are inside the bound
    path = write_recipe(tmp_path / "a.yaml", recipe)
    root = tmp_path / "a" / "checkpoints"
    first = sovtrain("train", str(path), "--nproc", "2", "--stop-after", "5")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "publishing in the background" in first.stderr
    assert (root / "latest").read_text() == "step_00000005"  # the pause, drained before exit
    store = CheckpointStore(str(root), 0, 1)
    assert store.newest_verified() == "step_00000005"
    assert sorted(p.name for p in root.glob("step_*")) == [
        "step_00000002", "step_00000004", "step_00000005",
    ]  # fmt: skip
    second = sovtrain("train", str(path), "--nproc", "2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from checkpoint" in second.stderr and "step 5" in second.stderr
    assert (root / "latest").read_text() == "step_00000012"
    assert store.newest_verified() == "step_00000012"
