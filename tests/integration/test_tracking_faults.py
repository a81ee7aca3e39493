"""Tracking never stalls or kills training: real `sovtrain train` runs against a real
`mlflow server` that is SIGKILLed mid-run (and restarted on the same port and store).

Proves: (a) a run whose server never comes back finishes every step and checkpoint, exits
0 in bounded time and leaves a backlog that `sovtrain tracking sync` replays completely,
once; (b) a server back after a ~15 s outage gets every step's metrics without a duplicate,
while no training step waited on it; (c) resuming from an older checkpoint logs no step
twice.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import tracked_recipe
from tests.integration.servers import RestartableMlflow, restartable_mlflow_server

pytestmark = pytest.mark.slow

# ~0.1 s per step on a 2-core CPU: long enough runs to kill a server in the middle of
SLOW_MODEL = {"hidden_size": 128, "num_hidden_layers": 4, "intermediate_size": 256}
KNOBS = {"SOVTRAIN_TRACKING_FINISH_TIMEOUT": "5", "SOVTRAIN_TRACKING_RETRY_MAX": "2"}
STEP_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \[rank 0\] INFO step (\d+)/")


def _env(**knobs: str) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", **{**KNOBS, **knobs})
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sovtrain.cli", *args]


def sovtrain(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(*args), capture_output=True, text=True, timeout=timeout, env=_env()
    )


def _recipe(tmp: Path, name: str, url: str, slow: bool, **train) -> Path:
    if slow:
        train.update(micro_batch=8, global_batch_sequences=8)
    model = SLOW_MODEL if slow else None
    return tracked_recipe(tmp, name, url, model_config=model, log_interval=1, **train)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One restartable server and the prepared data, shared by the tests below."""
    tmp = tmp_path_factory.mktemp("faults")
    with restartable_mlflow_server(tmp / "mlflow") as server:
        prepared = sovtrain("data", "prepare", str(_recipe(tmp, "prep", server.url, False)))
        assert prepared.returncode == 0, prepared.stderr[-3000:]
        yield tmp, server


def _up(server: RestartableMlflow) -> MlflowClient:
    if server.proc is None or server.proc.poll() is not None:
        server.start()
    return MlflowClient(server.url)


def _start_train(path: Path, log: Path, **knobs: str) -> subprocess.Popen:
    with log.open("w") as err:
        return subprocess.Popen(_command("train", str(path)), env=_env(**knobs),
                                stdout=subprocess.DEVNULL, stderr=err, text=True)  # fmt: skip


def _run_id(client: MlflowClient, name: str) -> str:
    experiment = client.get_experiment_by_name("tests")
    found = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.runName = '{name}'"
    )
    assert len(found) == 1, [r.info.run_id for r in found]
    return found[0].info.run_id


def _wait_for_step(client: MlflowClient, name: str, step: int, proc: subprocess.Popen) -> None:
    """Until MLflow has `loss` at `step` (the run is demonstrably mid-flight)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "training ended before the server was killed"
        experiment = client.get_experiment_by_name("tests")
        if experiment is not None:
            runs = client.search_runs(
                [experiment.experiment_id], filter_string=f"tags.mlflow.runName = '{name}'"
            )
            if runs and any(m.step >= step for m in client.get_metric_history(
                    runs[0].info.run_id, "loss")):  # fmt: skip
                return
        time.sleep(0.3)
    raise TimeoutError(f"MLflow never saw step {step}")


def _steps(client: MlflowClient, run_id: str, key: str = "loss") -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, key))


def _step_gaps(log: str) -> list[float]:
    stamps = [
        dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
        for m in map(STEP_LINE.match, log.splitlines())
        if m
    ]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]


def test_server_gone_for_good_run_finishes_and_sync_replays_everything(lab):
    tmp, server = lab
    client = _up(server)
    steps = 120
    path = _recipe(tmp, "gone", server.url, True, max_steps=steps)
    log = tmp / "gone.stderr"
    started = time.monotonic()
    proc = _start_train(path, log)
    _wait_for_step(client, "gone", 5, proc)
    server.kill()
    proc.wait(timeout=300)
    wall = time.monotonic() - started
    stderr = log.read_text()
    assert proc.returncode == 0, stderr[-4000:]
    assert wall < 150, f"training with a dead tracking server took {wall:.0f}s"
    checkpoints = sorted(p.name for p in (tmp / "gone" / "checkpoints").glob("step_*"))
    assert checkpoints[-1] == f"step_{steps:08d}"
    assert (tmp / "gone" / "tracking" / "backlog.jsonl").is_file()
    assert stderr.count("is unreachable") == 1  # one warning for the outage, not per call
    assert "tracking sync" in stderr and "Traceback" not in stderr

    client = _up(server)  # same port, same store
    run_id = _run_id(client, "gone")
    assert client.get_run(run_id).info.status == "RUNNING"
    synced = sovtrain("tracking", "sync", str(tmp / "gone"))
    assert synced.returncode == 0, synced.stderr[-3000:]
    assert "FINISHED" in synced.stderr
    assert _steps(client, run_id) == list(range(1, steps + 1))  # every step, each once
    assert _steps(client, run_id, "eval_loss")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["audit.head"]
    assert not (tmp / "gone" / "tracking" / "backlog.jsonl").exists()
    again = sovtrain("tracking", "sync", str(tmp / "gone"))
    assert again.returncode == 0 and "nothing to sync" in again.stderr
    assert _steps(client, run_id) == list(range(1, steps + 1))


def test_server_back_after_outage_gets_every_step_and_no_step_waited(lab):
    tmp, server = lab
    client = _up(server)
    steps, outage = 400, 12.0
    path = _recipe(tmp, "blip", server.url, True, max_steps=steps)
    path.write_text(path.read_text().replace("interval_steps: 4", "interval_steps: 25"))
    log = tmp / "blip.stderr"
    # a run that ends while the server restarts still delivers everything within 30 s
    proc = _start_train(path, log, SOVTRAIN_TRACKING_FINISH_TIMEOUT="30")
    _wait_for_step(client, "blip", 10, proc)
    server.kill()
    time.sleep(outage)
    assert proc.poll() is None, "the run ended during the outage: make it longer"
    server.start()
    proc.wait(timeout=300)
    stderr = log.read_text()
    assert proc.returncode == 0, stderr[-4000:]
    assert stderr.count("is unreachable") == 1 and stderr.count("reachable again") == 1
    client = _up(server)
    run_id = _run_id(client, "blip")
    assert _steps(client, run_id) == list(range(1, steps + 1))
    assert client.get_run(run_id).info.status == "FINISHED"
    events = {a.path for a in client.list_artifacts(run_id, "checkpoints")}
    assert {f"checkpoints/step_{s:08d}.json" for s in range(25, steps + 1, 25)} <= events
    gaps = _step_gaps(stderr)
    assert len(gaps) == steps - 1
    print(f"largest gap between consecutive steps during a {outage:.0f}s outage: {max(gaps):.2f}s")
    assert max(gaps) < outage / 3, max(gaps)


def test_resume_from_an_older_checkpoint_logs_each_step_once(lab):
    tmp, server = lab
    client = _up(server)
    path = _recipe(tmp, "again", server.url, False, max_steps=12)
    first = sovtrain("train", str(path), "--stop-after", "8")
    assert first.returncode == 0, first.stderr[-3000:]
    run_id = _run_id(client, "again")
    assert _steps(client, run_id) == list(range(1, 9))
    before = {m.step: m.value for m in client.get_metric_history(run_id, "loss")}
    older = tmp / "again" / "checkpoints" / "step_00000004"
    second = sovtrain("train", str(path), "--resume", str(older))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "MLflow already has steps up to 8: steps 5..8 are not logged again" in second.stderr
    assert _run_id(client, "again") == run_id
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(1, 13))
    assert {m.step: m.value for m in history if m.step <= 8} == before
    assert client.get_run(run_id).info.status == "FINISHED"
