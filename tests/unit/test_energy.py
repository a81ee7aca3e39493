"""Energy metering (`train/energy.py`) over a fake NVML: windows, resume, ranks, CPU.

NVML itself is what these tests do not test (no GPU here): a fake counter stands in for
`nvmlDeviceGetTotalEnergyConsumption`. The windows, the totals a checkpoint carries, the
all-reduce over real gloo ranks and the run summary row are the real code.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
import torch

from sovtrain.train import energy as energy_mod
from sovtrain.train.energy import ENERGY_KEYS, EnergyMeter, nvml_handle, open_reader
from sovtrain.train.loop import RunSummary
from sovtrain.train.report import energy_rows


class FakeCounter:
    """An NVML energy counter: millijoules from a list, or an error where the list says."""

    def __init__(self, *readings: int | Exception) -> None:
        self.readings = list(readings)

    def millijoules(self) -> int:
        value = self.readings.pop(0)
        if isinstance(value, Exception):
            raise value
        return value


class FakeClock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def meter(*readings: int | Exception, times: tuple[float, ...] = (), pue: float = 1.0):
    clock = FakeClock(*times) if times else FakeClock(*[float(i) for i in range(100)])
    return EnergyMeter(FakeCounter(*readings), pue=pue, clock=clock)


# --- windows -------------------------------------------------------------------------------


def test_each_window_is_the_counter_delta_and_energy_j_is_cumulative():
    m = meter(1_000_000, 1_500_000, 2_300_000, times=(10.0, 12.0, 14.0))
    m.start(None, None, tokens=0)
    first = m.window(tokens=1000)  # 500 J in 2 s for 1000 tokens
    assert first == {"energy_j": 500.0, "power_w": 250.0, "tokens_per_joule": 2.0,
                     "energy_j_per_token": 0.5}  # fmt: skip
    second = m.window(tokens=3000)  # 800 J in 2 s for 2000 tokens
    assert second["energy_j"] == 1300.0 and second["power_w"] == 400.0
    assert second["tokens_per_joule"] == 2000 / 800 and set(second) == set(ENERGY_KEYS)


def test_a_checkpoint_sample_between_windows_counts_in_the_total_and_the_next_window():
    m = meter(0, 100_000, 400_000, times=(0.0, 1.0, 3.0))
    m.start(None, None, tokens=0)
    m.sample()  # a save at t=1: the state it writes carries 100 J
    assert m.total_j == 100.0
    window = m.window(tokens=400)
    assert window["energy_j"] == 400.0 and window["power_w"] == pytest.approx(400 / 3)
    assert window["energy_j_per_token"] == 1.0  # the save's joules belong to the window


def test_a_counter_that_goes_backwards_turns_energy_off_with_one_warning(caplog):
    m = meter(5_000, 9_000, 1_000, 2_000)  # a driver reload resets the counter
    m.start(None, None, tokens=0)
    assert m.window(tokens=10)["energy_j"] == 4.0
    with caplog.at_level(logging.WARNING, logger="sovtrain.train.energy"):
        assert m.window(tokens=20) == {}
        assert m.window(tokens=30) == {}  # off for good: no read, no second warning
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "went backwards" in warnings[0].getMessage()
    assert m.total_j == 4.0 and m.reader.readings == [2_000]  # type: ignore[attr-defined]


def test_an_nvml_error_mid_run_turns_energy_off():
    m = meter(0, 1_000, RuntimeError("NVML_ERROR_GPU_IS_LOST"))
    m.start(None, None, tokens=0)
    assert m.window(tokens=1)["energy_j"] == 1.0
    assert m.window(tokens=2) == {} and not m.active


# --- resume --------------------------------------------------------------------------------


def test_a_resumed_meter_continues_the_total_whatever_the_new_counters_origin():
    first = meter(10_000, 260_000, pue=1.5)
    first.start(None, None, tokens=0)
    first.window(tokens=100)
    carried = (first.total_j, first.site_j)  # what TrainState saves: 250 J, 375 J at the site
    assert carried == (250.0, 375.0)
    # requeued on other nodes: their counters started long ago, at another site
    second = meter(9_000_000_000, 9_000_100_000, pue=1.2)
    second.start(*carried, tokens=100)
    window = second.window(tokens=200)
    assert window["energy_j"] == 350.0 and second.invocation_j == 100.0
    assert second.site_j == pytest.approx(375.0 + 120.0)


def test_a_checkpoint_without_an_energy_total_counts_from_the_resume(caplog):
    m = meter(7_000, 8_000)
    with caplog.at_level(logging.INFO, logger="sovtrain.train.energy"):
        m.start(None, None, tokens=5_000)  # resumed at 5000 tokens, no energy_j carried
    assert "carries no energy total" in caplog.text
    assert m.window(tokens=6_000)["energy_j"] == 1.0


def test_the_state_round_trips_the_energy_through_resume_state():
    from sovtrain.train.loop import TrainState

    old = {k: v for k, v in TrainState(step=3).to_dict().items() if not k.startswith("energy")}
    assert TrainState(**old).energy_j is None  # an older checkpoint: never measured
    state = TrainState(**{**old, "energy_j": 12.5, "energy_site_j": 15.0})
    assert json.loads(json.dumps(state.to_dict()))["energy_j"] == 12.5


# --- absent, not zero ----------------------------------------------------------------------


def test_on_a_cpu_there_is_no_reader_and_no_energy_key(caplog):
    reader, why = open_reader(torch.device("cpu"))
    assert reader is None and "cpu" in why
    m = EnergyMeter(reader, why)
    with caplog.at_level(logging.INFO, logger="sovtrain.train.energy"):
        m.start(None, None, tokens=0)
    assert m.window(tokens=100) == {} and m.total_j is None
    assert "energy metrics off" in caplog.text and "cpu" in caplog.text


def test_without_nvidia_ml_py_a_cuda_run_has_no_reader(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    reader, why = open_reader(torch.device("cuda", 0))
    assert reader is None and "nvidia-ml-py" in why


def fake_pynvml(supported: bool = True) -> types.ModuleType:
    nvml = types.ModuleType("pynvml")
    nvml.nvmlInit = lambda: None  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByUUID = lambda uuid: ("uuid", uuid)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = lambda i: ("index", i)  # type: ignore[attr-defined]

    def energy(handle):
        if not supported:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return 42_000

    nvml.nvmlDeviceGetTotalEnergyConsumption = energy  # type: ignore[attr-defined]
    return nvml


def test_a_cuda_rank_reads_the_nvml_device_with_its_uuid(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml())
    monkeypatch.setattr(energy_mod, "_cuda_uuid", lambda device: ("58a3ef8b-0000", 1))
    reader, why = open_reader(torch.device("cuda", 1))
    assert why == "" and reader is not None and reader.millijoules() == 42_000
    assert reader.handle == ("uuid", "GPU-58a3ef8b-0000")  # type: ignore[attr-defined]


def test_a_board_without_an_energy_counter_gives_no_reader(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(supported=False))
    monkeypatch.setattr(energy_mod, "_cuda_uuid", lambda device: ("58a3", 0))
    reader, why = open_reader(torch.device("cuda", 0))
    assert reader is None and "NOT_SUPPORTED" in why


def test_cuda_index_names_the_nvml_device_only_when_nothing_is_hidden(monkeypatch):
    nvml = fake_pynvml()
    assert nvml_handle(nvml, "MIG-abc", 0) == ("uuid", "MIG-abc")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert nvml_handle(nvml, None, 3) == ("index", 3)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    with pytest.raises(RuntimeError, match="CUDA_VISIBLE_DEVICES"):
        nvml_handle(nvml, None, 0)


# --- the summary ---------------------------------------------------------------------------


def summary(**energy) -> RunSummary:
    return RunSummary(final_step=1, tokens_seen=1, train_loss=1.0, eval_loss=1.0,
                      tokens_per_s=1.0, mfu=0.1, last_checkpoint=None, **energy)  # fmt: skip


def test_the_summary_row_gives_kwh_and_the_site_figure_and_no_row_on_cpu():
    assert energy_rows(summary(), pue=1.3) == []
    row = energy_rows(summary(energy_j=3.6e6, energy_site_j=4.68e6, energy_invocation_j=3.6e6),
                      pue=1.3)  # fmt: skip
    assert row == [("energy", "1 kWh (1 kWh x PUE 1.3 = 1.3 kWh at the site)")]
    resumed = energy_rows(summary(energy_j=7.2e6, energy_site_j=9.36e6,
                                  energy_invocation_j=1.8e6), pue=1.3)  # fmt: skip
    assert resumed[0][1].endswith("; this invocation 0.5 kWh")


# --- several ranks: a real gloo all-reduce -------------------------------------------------

RANK_CHILD = textwrap.dedent(
    """
    import json, sys
    import torch.distributed as dist
    from sovtrain.train.energy import EnergyMeter

    rank, store, fail = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"

    class Counter:  # rank r's board: (r + 1) J per read, from its own origin
        def __init__(self):
            self.mj = 1_000_000 * (rank + 7)
            self.reads = 0
        def millijoules(self):
            self.reads += 1
            if fail and rank == 1 and self.reads == 3:
                raise RuntimeError("NVML_ERROR_GPU_IS_LOST")
            self.mj += 1000 * (rank + 1)
            return self.mj

    clock = iter(float(t) for t in range(100))
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    meter = EnergyMeter(Counter(), clock=lambda: next(clock), is_main=rank == 0)
    meter.start(None, None, tokens=0)
    windows = [meter.window(tokens=300 * n) for n in (1, 2)]
    dist.destroy_process_group()
    print(json.dumps(windows))
    """
)


def two_ranks(tmp_path: Path, fail: bool) -> list[list[dict[str, float]]]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    store = tmp_path / "store"
    procs = [
        subprocess.Popen([sys.executable, "-c", RANK_CHILD, str(r), str(store), str(int(fail))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for r in (0, 1)
    ]  # fmt: skip
    outs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]


def test_every_rank_logs_the_sum_of_the_ranks_windows(tmp_path: Path):
    rank0, rank1 = two_ranks(tmp_path, fail=False)
    assert rank0 == rank1  # the job's figures, the same on every rank
    first, second = rank0
    # rank 0 adds 1 J, rank 1 2 J per read, 1 s apart: 3 J and 3 W for the job per window
    assert first == {"energy_j": 3.0, "power_w": 3.0, "tokens_per_joule": 100.0,
                     "energy_j_per_token": 0.01}  # fmt: skip
    assert second["energy_j"] == 6.0 and second["power_w"] == 3.0


def test_one_ranks_failure_turns_energy_off_on_every_rank(tmp_path: Path):
    rank0, rank1 = two_ranks(tmp_path, fail=True)
    assert rank0 == rank1
    assert rank0[0]["energy_j"] == 3.0 and rank0[1] == {}  # no half-job figure
    assert not math.isnan(rank0[0]["power_w"])


# --- a real run: MLflow, the checkpoint, the resume ----------------------------------------

RUN_CHILD = textwrap.dedent(
    """
    import json, sys
    from sovtrain.recipe import load_recipe
    from sovtrain.train import session as session_mod
    from sovtrain.train.session import run_training

    class Counter:  # a board that used 1 J between any two reads
        mj = 0
        def millijoules(self):
            Counter.mj += 1000
            return Counter.mj

    if sys.argv[2] == "fake-gpu":
        session_mod.open_reader = lambda device: (Counter(), "")
    stop_after = int(sys.argv[3]) if len(sys.argv) > 3 else None
    session, summary = run_training(load_recipe(sys.argv[1]), stop_after=stop_after)
    print(json.dumps({"energy_j": summary.energy_j, "run_id": session.tracker.run_id,
                      "invocation_j": summary.energy_invocation_j}))
    """
)


def energy_run(tmp_path: Path, gpu: bool, *stop_after: str) -> tuple[dict, dict]:
    """(summary figures, the newest checkpoint's state) of one invocation."""
    from tests.conftest import TINY_RECIPE, run_python, write_recipe

    recipe = json.loads(json.dumps(TINY_RECIPE))
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    recipe["train"].update(max_steps=4, log_interval=1, eval_interval=1000)
    recipe["checkpoint"]["interval_steps"] = 1000  # the pause's and the final checkpoint
    path = write_recipe(tmp_path / "tiny.yaml", recipe)
    kind = "fake-gpu" if gpu else "cpu"
    result = run_python(RUN_CHILD, str(path), kind, *stop_after)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    newest = sorted((tmp_path / "run" / "checkpoints").glob("step_*[0-9]"))[-1]
    return outcome, json.loads((newest / "sovtrain_state.json").read_text())


def logged(tmp_path: Path, run_id: str) -> dict[str, list[tuple[int, float]]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'run' / 'mlflow.db'}")
    keys = client.get_run(run_id).data.metrics
    return {
        key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)] for key in keys
    }


def test_a_metered_run_logs_energy_checkpoints_it_and_a_resume_continues_it(tmp_path: Path):
    first, state = energy_run(tmp_path, True, "2")
    # 1 J per read: start, the step 1 and 2 windows, the pause's checkpoint = 3 J
    assert state["step"] == 2 and state["energy_j"] == 3.0 and first["energy_j"] == 3.0
    assert state["energy_site_j"] == 3.0  # the local site's PUE is 1.0
    second, state = energy_run(tmp_path, True)  # resumes at step 2, on a "fresh" counter
    assert state["step"] == 4 and state["energy_j"] == 6.0
    assert second == {"energy_j": 6.0, "run_id": first["run_id"], "invocation_j": 3.0}
    metrics = logged(tmp_path, first["run_id"])
    assert set(ENERGY_KEYS) <= set(metrics)
    # one MLflow run, one curve, cumulative through the resume: the pause's save (3rd J) is
    # in the carried total, so step 3 logs 4 J; the final save's J is in the state only
    assert metrics["energy_j"] == [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0)]
    tokens_per_step = 8 * 64
    assert dict(metrics["energy_j_per_token"])[1] == pytest.approx(1 / tokens_per_step)


def test_a_cpu_run_logs_no_energy_key_and_checkpoints_no_total(tmp_path: Path):
    outcome, state = energy_run(tmp_path, False)
    assert outcome["energy_j"] is None and state["energy_j"] is None
    metrics = logged(tmp_path, outcome["run_id"])
    assert "loss" in metrics and not set(ENERGY_KEYS) & set(metrics)
