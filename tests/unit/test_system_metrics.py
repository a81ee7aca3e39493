"""MLflow system metrics on GPU runs: one sampler per host, under that host's node id.

The sampler is MLflow's own `SystemMetricsMonitor` against a real sqlite store (its CPU,
disk and network monitors run anywhere; the GPU one needs NVML, absent here). Which ranks
start one is the session's rule, tested with the start recorded instead.
"""

from __future__ import annotations

import copy
import time
from types import SimpleNamespace

import pytest
import torch

from sovtrain.recipe.schema import Recipe
from sovtrain.tracking import FanOutTracker, NullTracker, SystemMetricsTracker, node_id
from sovtrain.train import session as session_mod
from tests.conftest import TINY_RECIPE


def test_the_node_id_is_slurms_node_name_else_the_host_name(monkeypatch):
    monkeypatch.setenv("SLURMD_NODENAME", "gpu-017")
    assert node_id() == "gpu-017"
    monkeypatch.delenv("SLURMD_NODENAME")
    monkeypatch.setattr("socket.gethostname", lambda: "gpu-018.cluster.hk")
    assert node_id() == "gpu-018"


def test_the_monitor_logs_system_metrics_under_the_node_id_until_finish(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    monkeypatch.delenv("MLFLOW_SYSTEM_METRICS_NODE_ID", raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("sys"))
    system = SystemMetricsTracker.start(uri, run.info.run_id, "node-a")
    assert system is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not client.get_run(run.info.run_id).data.metrics:
        time.sleep(0.2)
    system.finish()
    keys = set(client.get_run(run.info.run_id).data.metrics)
    assert "system/node-a/cpu_utilization_percentage" in keys, keys
    assert all(key.startswith("system/node-a/") for key in keys)


def fake_ctx(device: str, rank: int, local_rank: int) -> SimpleNamespace:
    return SimpleNamespace(device=torch.device(device), rank=rank, local_rank=local_rank,
                           is_main=rank == 0)  # fmt: skip


class Primary(NullTracker):
    run_id = "run-1"
    tracking_uri = "http://mlflow:5000"


@pytest.mark.parametrize(
    ("device", "rank", "local_rank", "server", "starts"),
    [
        ("cpu", 0, 0, True, False),  # CPU runs: never
        ("cuda", 0, 0, True, True),
        ("cuda", 4, 0, True, True),  # the first rank of the second host
        ("cuda", 5, 1, True, False),  # one per host
        ("cuda", 0, 0, False, True),  # embedded store: rank 0's host only
        ("cuda", 4, 0, False, False),
    ],
)
def test_system_metrics_start_on_the_first_rank_of_each_host_of_a_gpu_run(
    monkeypatch, device, rank, local_rank, server, starts
):
    started: list[tuple[str, str, str]] = []

    def start(uri, run_id, node):
        started.append((uri, run_id, node))
        return SystemMetricsTracker(SimpleNamespace(finish=lambda: None))

    monkeypatch.setattr(SystemMetricsTracker, "start", staticmethod(start))
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["tracking"]["uri"] = "http://mlflow:5000" if server else None
    loaded = SimpleNamespace(recipe=Recipe.model_validate(recipe))
    primary = Primary()
    tracker = session_mod.with_system_metrics(primary, loaded, fake_ctx(device, rank, local_rank))  # type: ignore[arg-type]
    assert bool(started) == starts
    if starts:
        assert isinstance(tracker, FanOutTracker) and tracker.run_id == "run-1"
        assert started[0][:2] == ("http://mlflow:5000", "run-1")
    else:
        assert tracker is primary
