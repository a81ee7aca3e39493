"""lm-evaluation-harness end to end: during training, on an export, against `lm_eval` itself.

One tiny tracked run (a real MLflow server) trains 4 steps with `eval.harness` on the
shipped English task every 2 steps, and is exported once for the module. The export is then
scored by `sovtrain eval --tasks` and by the `lm_eval` command on the same directory: the
numbers must be identical, reach the training run's MLflow run and the export's model card.
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

from sovtrain.eval.tasks import TASKS_DIR
from tests.conftest import tracked_recipe
from tests.integration.servers import mlflow_server

pytestmark = pytest.mark.slow
LANGS = ("en", "zh_hant", "zh_hans")
DURING = {"tasks": ["hkfin_mc_en"], "interval_steps": 2, "limit": 8}


def _run(*command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def sovtrain(*args: str) -> subprocess.CompletedProcess:
    return _run(sys.executable, "-m", "sovtrain.cli", *args)


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr[-4000:]}"
    return result


def _recipe(tmp: Path, name: str, url: str, harness: dict) -> Path:
    path = tracked_recipe(tmp, name, url, max_steps=4)
    recipe = yaml.safe_load(path.read_text())
    recipe["data"]["sources"][0]["documents"] = 300
    recipe["tokenizer"]["fertility_report"] = False
    recipe["checkpoint"]["interval_steps"] = 2
    recipe["eval"] = {"harness": harness}
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("harness")
    with mlflow_server(tmp / "mlflow") as url:
        recipe = _recipe(tmp, "hk", url, DURING)
        trained = _ok(sovtrain("train", str(recipe)))
        export = tmp / "export"
        _ok(sovtrain("export", str(tmp / "hk"), str(export), "--format", "hf"))
        client = MlflowClient(url)
        run = client.search_runs([client.get_experiment_by_name("tests").experiment_id])[0]
        yield {"tmp": tmp, "url": url, "client": client, "run_id": run.info.run_id,
               "run": tmp / "hk", "export": export, "log": trained.stderr}  # fmt: skip


def _history(world: dict, key: str) -> list[tuple[int, float]]:
    history = world["client"].get_metric_history(world["run_id"], key)
    return sorted((m.step, m.value) for m in history)


def _results(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("results_*.json"))]


def test_training_runs_the_harness_at_its_cadence(world):
    acc = _history(world, "eval/harness/hkfin_mc_en/acc")
    assert [step for step, _ in acc] == [2, 4]
    assert all(0.0 <= value <= 1.0 for _, value in acc)
    assert [s for s, _ in _history(world, "eval/harness/hkfin_mc_en/acc_stderr")] == [2, 4]
    for step, value in acc:  # lm-eval's own results JSON, one per evaluation, at the step
        (results,) = _results(world["run"] / "eval" / "harness" / f"step_{step:08d}")
        assert results["results"]["hkfin_mc_en"]["acc,none"] == value
        assert results["n-samples"]["hkfin_mc_en"]["effective"] == DURING["limit"]
        assert results["configs"]["hkfin_mc_en"]["metadata"]["lang"] == "en"
    assert "step 2 harness: hkfin_mc_en/acc" in world["log"]


def test_sovtrain_eval_reports_what_lm_eval_reports_on_the_same_export(world, tmp_path):
    export = world["export"]
    ours = _ok(sovtrain("eval", str(export), "--tasks", "hkfin_mc"))
    out = tmp_path / "lm_eval"
    lm_eval = Path(sys.executable).with_name("lm_eval")
    _ok(_run(str(lm_eval), "run", "--model", "hf", "--model_args", f"pretrained={export}",
             "--tasks", "hkfin_mc", "--include_path", str(TASKS_DIR), "--device", "cpu",
             "--batch_size", "1", "--output_path", str(out)))  # fmt: skip
    (theirs,) = [json.loads(p.read_text()) for p in out.rglob("results_*.json")]
    step_dir = world["run"] / "eval" / "harness" / "step_00000004"
    mine = [r for r in _results(step_dir) if "hkfin_mc" in r["results"]]
    assert len(mine) == 1, "one results file for this evaluation, beside the training one"
    tasks = ["hkfin_mc", *(f"hkfin_mc_{lang}" for lang in LANGS)]
    for task in tasks:
        assert mine[0]["results"][task] == theirs["results"][task], task
    for lang in LANGS:
        task = f"hkfin_mc_{lang}"
        assert mine[0]["n-samples"][task] == theirs["n-samples"][task]
        acc = theirs["results"][task]["acc,none"]
        # MLflow: in the training run, at the exported step
        assert (4, acc) in _history(world, f"eval/harness/{task}/acc")
        # the model card: the Evaluation table of the export's own README.md
        card = (export / "README.md").read_text()
        assert f"| {task}/acc | " in card and f"{acc:.4g} ± " in card
    artifacts = world["client"].list_artifacts(world["run_id"], "eval/harness")
    assert "eval/harness/results_step_00000004.json" in [a.path for a in artifacts]
    assert "MLflow run" in ours.stdout and "model card updated" in ours.stdout


def test_an_export_made_after_an_eval_carries_its_rows(world, tmp_path):
    _ok(sovtrain("eval", str(world["run"]), "--tasks", "hkfin_mc_zh_hans", "--limit", "5"))
    export = tmp_path / "export"
    _ok(sovtrain("export", str(world["run"]), str(export), "--format", "hf"))
    card = (export / "README.md").read_text()
    rows = json.loads((world["run"] / "eval/harness/step_00000004/card.json").read_text())
    assert any(r["metric"] == "hkfin_mc_zh_hans/acc" and r["n"] == 5 for r in rows["rows"])
    for row in rows["rows"]:
        assert f"| {row['metric']} | {row['domain']} | {row['lang']} | {row['value']} |" in card
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["sovtrain"]["output_uri"] == str(world["run"])
    assert front["sovtrain"]["mlflow_run_id"] == world["run_id"]


def _broken_data(root: Path, text: str) -> Path:
    folder = root / "ceval" / "val"
    folder.mkdir(parents=True)
    (folder / "banking_val.csv").write_text(text, encoding="utf-8")
    (root / "ceval" / "dev").mkdir()
    (root / "ceval" / "dev" / "banking_dev.csv").write_text(
        "id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n", encoding="utf-8"
    )
    return root


@pytest.mark.parametrize(
    "case, text, expected",
    [
        ("bad-answer", "id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n1,q,a,b,c,d,E\n", "'E'"),
        ("no-column", "id,question,A,B,C,answer\n0,q,a,b,c,A\n", "D"),
    ],
)
def test_a_malformed_task_file_fails_naming_it_and_logs_nothing(world, tmp_path, case, text,
                                                                 expected):  # fmt: skip
    data = _broken_data(tmp_path / case, text)
    before = set((world["run"] / "eval" / "harness").rglob("*"))
    result = sovtrain("eval", str(world["export"]), "--tasks", "ceval_local", "--data-dir",
                      str(data))  # fmt: skip
    assert result.returncode == 2, result.stderr[-3000:]
    message = result.stderr.strip().splitlines()[-1]
    assert str(data / "ceval" / "val" / "banking_val.csv") in message and expected in message
    assert "Traceback" not in result.stderr
    assert set((world["run"] / "eval" / "harness").rglob("*")) == before
    assert _history(world, "eval/harness/ceval_local/acc") == []


def test_missing_task_data_stops_training_before_the_first_step(world):
    harness = {"tasks": ["ceval_local"], "interval_steps": 2,
               "data_dir": str(world["tmp"] / "no-such-dir")}  # fmt: skip
    recipe = _recipe(world["tmp"], "no-data", world["url"], harness)
    result = sovtrain("train", str(recipe))
    assert result.returncode == 2, result.stderr[-3000:]
    assert "ceval_local" in result.stderr and str(world["tmp"] / "no-such-dir") in result.stderr
    assert "Traceback" not in result.stderr
    assert not (world["tmp"] / "no-data" / "checkpoints").exists() or not any(
        (world["tmp"] / "no-data" / "checkpoints").glob("step_*")
    )


def test_an_unknown_task_is_named_with_the_local_ones(world):
    result = sovtrain("eval", str(world["export"]), "--tasks", "hkfin_mc_fr")
    assert result.returncode == 2
    assert "hkfin_mc_fr" in result.stderr and "hkfin_mc_en" in result.stderr


def test_zero3_ranks_score_what_the_consolidated_checkpoint_scores(world):
    """Under ZeRO-3 every rank runs the requests on its slice of the live module; the scores
    must be those of the weights the checkpoint consolidates."""
    harness = {"tasks": ["hkfin_mc_zh_hant"], "interval_steps": 4, "limit": 12}
    path = _recipe(world["tmp"], "zero3", world["url"], harness)
    recipe = yaml.safe_load(path.read_text())
    recipe["deepspeed"]["zero_stage"] = 3
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    _ok(sovtrain("train", str(path), "--nproc", "2"))
    step_dir = world["tmp"] / "zero3" / "eval" / "harness" / "step_00000004"
    (during,) = _results(step_dir)
    _ok(sovtrain("eval", str(world["tmp"] / "zero3"), "--tasks", "hkfin_mc_zh_hant",
                 "--limit", "12", "--no-mlflow"))  # fmt: skip
    after = [r for r in _results(step_dir) if r != during]
    assert len(after) == 1
    for metric in ("acc,none", "acc_norm,none"):
        assert during["results"]["hkfin_mc_zh_hant"][metric] == pytest.approx(
            after[0]["results"]["hkfin_mc_zh_hant"][metric], abs=1e-9
        )
