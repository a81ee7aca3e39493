"""Runs touched outside training (tracking/runs.py, tracking/model_registry.py) on a real
sqlite MLflow store: scheduled for a job, read back, extended by eval, registered."""

from __future__ import annotations

import os

import pytest
from mlflow.tracking import MlflowClient

from sovtrain.tracking.model_registry import RegistryRefused, register_version
from sovtrain.tracking.runs import (
    latest_metrics,
    log_eval,
    quick_requests,
    read_run,
    schedule_run,
    tag_scheduled_run,
)


@pytest.fixture
def uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_a_scheduled_run_is_created_once_and_continued_on_resubmission(uri):
    first = schedule_run(uri, "jobs", "tiny", None)
    client = MlflowClient(uri)
    run = client.get_run(first["run_id"])
    assert run.info.status == "SCHEDULED" and run.info.run_name == "tiny"
    eid = run.info.experiment_id
    assert first["link"] == (
        f"mlflow ui --backend-store-uri {uri}/#/experiments/{eid}/runs/{first['run_id']}"
    )
    again = schedule_run(uri, "jobs", "tiny", first["run_id"])
    assert again == first
    other = schedule_run(uri, "jobs", "tiny", None)  # same experiment, a new run
    assert other["run_id"] != first["run_id"]
    assert client.get_run(other["run_id"]).info.experiment_id == eid
    tag_scheduled_run(first, "4242", "#!/bin/bash\n")
    assert client.get_run(first["run_id"]).data.tags["slurm_job_id"] == "4242"


def test_latest_metrics_reads_the_newest_step(uri):
    run = schedule_run(uri, "jobs", "tiny", None)
    assert latest_metrics(uri, run["run_id"], ("loss", "mfu")) == {}
    client = MlflowClient(uri)
    for step, loss in ((2, 3.0), (6, 2.0), (4, 2.5)):
        client.log_metric(run["run_id"], "loss", loss, step=step)
    client.log_metric(run["run_id"], "mfu", 0.25, step=4)
    assert latest_metrics(uri, run["run_id"], ("loss", "mfu", "tokens_per_s")) == {
        "loss": 2.0, "mfu": 0.25, "step": 6,
    }  # fmt: skip


def test_eval_metrics_land_in_the_run_and_read_run_sees_them(uri):
    run_id = schedule_run(uri, "jobs", "tiny", None)["run_id"]
    MlflowClient(uri).log_param(run_id, "world_size", "2")
    log_eval(uri, run_id, 12, {"eval/loss/finance/en": 1.5}, "| metric |\n")
    record = read_run(uri, run_id)
    assert record.metrics == {"eval/loss/finance/en": 1.5}
    assert record.params == {"world_size": "2"} and record.end_time is None  # not finished
    history = MlflowClient(uri).get_metric_history(run_id, "eval/loss/finance/en")
    assert [m.step for m in history] == [12]


def test_quick_requests_bounds_mlflow_http_only_inside_the_block(monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    with quick_requests():
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "3"  # the user's setting wins
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "3"


def test_registered_versions_point_at_the_source_and_tag_the_run(uri, tmp_path):
    run_id = schedule_run(uri, "jobs", "tiny", None)["run_id"]
    source = (tmp_path / "export").as_uri()
    kwargs = dict(model_description="exports", source=source, tags={"k": "v"}, description="d")
    first = register_version(uri, "tiny-model", run_id=run_id, **kwargs)
    second = register_version(uri, "tiny-model", run_id=None, **kwargs)
    assert (first.version, second.version) == ("1", "2")
    client = MlflowClient(uri)
    version = client.get_model_version("tiny-model", "1")
    assert version.source == source and version.tags == {"k": "v"}
    assert client.get_run(run_id).data.tags["sovtrain.registered_model"] == "tiny-model/1"
    with pytest.raises(RegistryRefused) as refused:
        register_version(uri, "tiny-model", run_id="no-such-run", **kwargs)
    assert refused.value.reason
