"""`sovtrain plan`: the planner's numbers against published ones, and its command line.

Published rows it must reproduce from the formulas alone:
- Llama 2 paper (Touvron et al. 2023), Table 2: GPU-hours and tCO2eq of pre-training on
  A100-80GB at 400 W. Llama 2 counts 6 x P FLOPs per token (no attention term) and does not
  state its MFU: the hours imply 39.1% (7B), 37.7% (13B), 42.8% (70B) of the 312 TFLOPS bf16
  peak, so at the issue's 40% the rows land within 8%. Its carbon uses 0.4235 kg/kWh
  (31.22 t / (184,320 h x 0.4 kW)) at PUE 1.
- ZeRO paper (Rajbhandari et al. 2020), figure 1: 7.5B parameters on 64 devices, model states
  120 / 31.4 / 16.6 / 1.9 GB at stages 0-3.
- Weak scaling 8 -> 128 H100: torchtitan Llama-3.1-8B (5,762 -> 5,605 tokens/s/GPU) and
  llm-foundry MPT-7B (46.4% -> 45.7% MFU).
"""

from __future__ import annotations

import json
import math
import sys

import pytest

from sovtrain.model.devices import lookup_device
from sovtrain.plan.estimate import SiteFacts, plan, workload
from sovtrain.plan.memory import GB, model_states_bytes
from sovtrain.recipe import load_recipe
from tests.conftest import REPO

RECIPE = "recipes/pretrain/finance-7b.yaml"


def _arch(h: int, layers: int, heads: int, kv: int, inter: int, vocab: int) -> list[str]:
    return [
        f"model.config.hidden_size={h}",
        f"model.config.num_hidden_layers={layers}",
        f"model.config.num_attention_heads={heads}",
        f"model.config.num_key_value_heads={kv}",
        f"model.config.intermediate_size={inter}",
        f"model.config.vocab_size={vocab}",
        f"tokenizer.vocab_size={vocab}",
    ]


# name -> (architecture, paper params, paper GPU-hours, paper tCO2eq)
LLAMA2 = {
    "7b": (_arch(4096, 32, 32, 32, 11008, 32000), 6.74e9, 184_320, 31.22),
    "13b": (_arch(5120, 40, 40, 40, 13824, 32000), 13.0e9, 368_640, 62.44),
    "70b": (_arch(8192, 80, 64, 8, 28672, 32000), 69.0e9, 1_720_320, 291.42),
}
LLAMA2_GRID = 31.22e3 / (184_320 * 0.4)  # kg/kWh (t -> kg), the paper's implied intensity


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`sovtrain ARGS` through the real entry point, in-process; (code, stdout, stderr)."""
    from sovtrain.cli import app as cli

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(cli, "_setup_logging", lambda: None)
    monkeypatch.setattr(cli.console, "width", 10_000)
    monkeypatch.setattr(sys, "argv", ["sovtrain", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as exited:
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def plan_json(monkeypatch, capsys, *args: str) -> dict:
    code, out, err = run_cli(monkeypatch, capsys, "plan", RECIPE, "--json", *args)
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("size", sorted(LLAMA2))
def test_llama2_table2_rows_from_the_formulas(monkeypatch, capsys, size):
    arch, params, hours, co2 = LLAMA2[size]
    sets = [f"--set={s}" for s in arch]
    out = plan_json(
        monkeypatch, capsys, *sets, "--device", "a100", "--gpus", "2048", "--tokens", "2e12",
        "--mfu", "0.4", "--power-w", "400", "--pue", "1.0",
        "--grid-kg-per-kwh", str(LLAMA2_GRID), "--flops-formula", "6p",
    )  # fmt: skip
    assert out["params"] == pytest.approx(params, rel=0.005)
    assert out["flops_per_token"] == 6 * out["params"]
    assert out["device_hours"] == pytest.approx(hours, rel=0.08)
    assert out["co2_t"] == pytest.approx(co2, rel=0.20)
    # the energy identity: device-hours x 0.4 kW, and the carbon of the paper's own hours
    assert out["energy_mwh"] == pytest.approx(out["device_hours"] * 0.4 / 1000)
    assert hours * 0.4 / 1000 * LLAMA2_GRID == pytest.approx(co2, rel=0.002)


def test_llama2_7b_hours_at_the_implied_mfu(monkeypatch, capsys):
    """6 x 6.74e9 x 2e12 / (312e12 x 0.3906) / 3600 = 184,320 h: the formula is the paper's."""
    arch, _, hours, _ = LLAMA2["7b"]
    out = plan_json(
        monkeypatch, capsys, *[f"--set={s}" for s in arch], "--device", "a100",
        "--tokens", "2e12", "--mfu", "0.3906", "--flops-formula", "6p",
    )  # fmt: skip
    assert out["device_hours"] == pytest.approx(hours, rel=0.002)


@pytest.mark.parametrize(
    ("stage", "paper_gb"), [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)]
)  # fmt: skip
def test_zero_paper_model_states_per_device(stage, paper_gb):
    assert model_states_bytes(7_500_000_000, stage, 64) / GB == pytest.approx(paper_gb, abs=0.05)


def test_fp32_model_states_are_16p_without_a_master_copy():
    p = 1_000_000_000
    assert model_states_bytes(p, 0, 8, "fp32") == 16 * p
    assert model_states_bytes(p, 1, 8, "fp32") == (8 + 8 / 8) * p
    assert model_states_bytes(p, 2, 8, "fp32") == (4 + 12 / 8) * p
    assert model_states_bytes(p, 3, 8, "fp32", offload_optimizer=True) == 8 / 8 * p


TOP_KEYS = {
    "device", "gpus", "tokens", "mfu", "precision", "zero_stage", "params", "flops_per_token",
    "device_hours", "wall_hours", "power_w", "pue", "energy_mwh", "grid_kg_per_kwh", "co2_t",
    "price_per_kwh", "cost", "currency", "memory", "comm",
}  # fmt: skip
MEMORY_KEYS = {
    "zero_stage", "precision", "model_states_gb", "activations_gb",
    "activations_checkpointed_gb", "activations_full_gb", "activation_checkpointing",
    "total_gb", "device_gb", "usable_gb", "fits",
}  # fmt: skip
COMM_KEYS = {
    "micro_steps", "comm_bytes", "bytes_per_step", "link", "link_gb_s", "comm_s", "compute_s",
    "exposed_s", "mfu_ceiling",
}  # fmt: skip


def test_json_keys_and_the_site_facts_of_a_profile(monkeypatch, capsys):
    out = plan_json(monkeypatch, capsys, "--cluster", "hk-cyberport", "--gpus", "64")
    assert set(out) == TOP_KEYS
    assert set(out["memory"]) == MEMORY_KEYS and set(out["comm"]) == COMM_KEYS
    assert (out["device"], out["pue"], out["currency"]) == ("h800", 1.5, "HKD")
    assert out["tokens"] == 300e9  # the recipe's max_tokens
    mwh = out["device_hours"] * 700 * 1.5 / 1e6
    assert out["energy_mwh"] == pytest.approx(mwh)
    assert out["co2_t"] == pytest.approx(mwh * 0.39)
    assert out["cost"] == pytest.approx(mwh * 1000 * 1.5)
    mem = out["memory"]  # ZeRO-2, bf16, 64 devices: 2P + 14P/64
    assert mem["model_states_gb"] == pytest.approx(out["params"] * (2 + 14 / 64) / 1e9)
    assert mem["activation_checkpointing"] and mem["activations_gb"] < mem["activations_full_gb"]
    assert mem["fits"] is True


def test_compare_rows_and_devices_for_the_same_wall_time(monkeypatch, capsys):
    chips = "h100,h800,h20,l40s,ascend-910b"
    out = plan_json(monkeypatch, capsys, "--gpus", "64", "--compare", chips)
    rows = out["compare"]
    assert [r["device"] for r in rows] == ["h100-sxm", "h800", "h20", "l40s", "ascend-910b"]
    assert rows[0]["devices_for_same_wall"] == 64 and rows[1]["devices_for_same_wall"] == 64
    for row in rows:
        spec = lookup_device(row["device"])
        assert row["devices_for_same_wall"] == math.ceil(64 * 989.4 / spec.bf16_tflops)
        assert row["memory_gb"] == spec.memory_gb and row["tdp_w"] == spec.tdp_w
    assert rows[2]["devices_for_same_wall"] == 428  # H20: 6.7x the devices of an H100
    assert rows[4]["fp8_tflops"] is None


def test_a_throttled_link_costs_inside_a_node_only():
    """8 devices share NVLink: H800's 400 GB/s exposes ZeRO-3's traffic behind a short micro
    step (1 x 1024 tokens) where H100's 900 hides it; at 64 both wait on the same fabric."""
    sets = ["deepspeed.zero_stage=3", "train.seq_len=1024", "train.micro_batch=1"]
    work = workload(load_recipe(REPO / RECIPE, sets).recipe)
    site = SiteFacts(interconnect_gbps=400)
    ceiling = {
        (chip, n): plan(work, lookup_device(chip), n, 1e9, 0.4, site)["comm"]["mfu_ceiling"]
        for chip in ("h100", "h800")
        for n in (8, 64)
    }
    assert ceiling["h800", 8] < ceiling["h100", 8] == 0.4
    assert ceiling["h800", 64] == ceiling["h100", 64]


def _weak_scaling_ratio(arch: list[str], seq: int, micro: int, mfu: float) -> float:
    """Predicted MFU at 128 H100 over that at 8, the per-device batch held fixed (ZeRO-3)."""
    ceilings = []
    for n in (8, 128):
        sets = [*arch, f"train.seq_len={seq}", f"train.micro_batch={micro}",
                f"train.global_batch_sequences={micro * n}", "deepspeed.zero_stage=3",
                f"model.config.max_position_embeddings={seq}"]  # fmt: skip
        work = workload(load_recipe(REPO / RECIPE, sets).recipe)
        spec = lookup_device("h100")
        ceilings.append(plan(work, spec, n, 1e9, mfu, SiteFacts())["comm"]["mfu_ceiling"])
    return ceilings[1] / ceilings[0]


def test_weak_scaling_against_torchtitan_and_llm_foundry():
    """Both published runs lose 1.5-2.7% from 8 to 128 H100; the model, which leaves out
    latency, stragglers and topology, predicts at most that loss and within 3 points of it."""
    titan = _weak_scaling_ratio(_arch(4096, 32, 32, 8, 14336, 128256), 8192, 1, 0.35)
    foundry = _weak_scaling_ratio(_arch(4096, 32, 32, 32, 11008, 50368), 2048, 8, 0.464)
    for predicted, observed in ((titan, 5605 / 5762), (foundry, 45.7 / 46.4)):
        assert observed - 0.03 <= predicted <= 1.0
        assert predicted >= observed - 1e-9  # optimistic: an upper bound on MFU


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--mfu", "0"], "--mfu"),
        (["--mfu", "nan"], "--mfu"),
        (["--tokens", "inf"], "--tokens"),
        (["--pue", "5"], "--pue"),
        (["--device", "tpu-v9"], "--device"),
        (["--compare", "h100,nope"], "--compare"),
        (["--currency", "hkd"], "--currency"),
        (["--gpus", "0"], "--gpus"),
        (["--flops-formula", "7p"], "--flops-formula"),
        (["--cluster", "local"], "gpu_type"),
        (["--cluster", "no-such-site"], "no-such-site"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, args, names):
    code, out, err = run_cli(monkeypatch, capsys, "plan", RECIPE, *args)
    assert code == 2 and "Traceback" not in err and not out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], err


@pytest.mark.parametrize(
    ("field", "value"),
    [("pue", "0.8"), ("pue", ".nan"), ("grid_kg_co2_per_kwh", "-1"), ("currency", "dollars"),
     ("price_per_kwh", "1.2"), ("interconnect_gbps", ".inf")],
)  # fmt: skip
def test_a_bad_site_fact_in_a_profile_names_the_field(monkeypatch, capsys, tmp_path, field, value):
    text = (REPO / "slurm/clusters/local.yaml").read_text()
    profile = tmp_path / "site.yaml"
    profile.write_text(f"{text}\n{field}: {value}\n")
    code, _, err = run_cli(monkeypatch, capsys, "plan", RECIPE, "--cluster", str(profile),
                           "--device", "h100")  # fmt: skip
    assert code == 2 and "Traceback" not in err
    expected = "currency" if field == "price_per_kwh" else field
    assert expected in err and str(profile) in err, err


def test_a_profile_gpu_type_missing_from_the_table_is_named(monkeypatch, capsys, tmp_path):
    text = (REPO / "slurm/clusters/hk-cyberport.yaml").read_text()
    profile = tmp_path / "site.yaml"
    profile.write_text(text.replace("gpu_type: h800", "gpu_type: mi300x"))
    code, _, err = run_cli(monkeypatch, capsys, "plan", RECIPE, "--cluster", str(profile))
    assert code == 2 and "gpu_type: unknown device 'mi300x'" in err, err


def test_the_table_names_every_section(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "plan", RECIPE, "--cluster", "gba-shenzhen",
                           "--compare", "h20,h100")  # fmt: skip
    assert code == 0
    for text in ("energy_mwh", "model_states_gb", "mfu_ceiling", "CNY", "devs same wall", "h20"):
        assert text in out
