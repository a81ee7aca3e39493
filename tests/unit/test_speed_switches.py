"""The GPU speed switches on the CPU: what each one needs is checked, where each converter
goes in the list, and what the MFU conventions count (issue 18's CPU side)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from transformers import LlamaConfig

from sovtrain.core.errors import HardwareError
from sovtrain.model.converters import converters_for
from sovtrain.model.devices import lookup_device
from sovtrain.model.flops import flops_per_token, model_cost
from sovtrain.model.fp8 import fp8_eligible
from sovtrain.model.hardware import Accelerator, require_accelerator, require_device_type
from sovtrain.model.kernels import liger_options
from sovtrain.recipe.schema import Recipe
from sovtrain.train.ds_config import deepspeed_config
from sovtrain.train.metrics import ThroughputMeter
from tests.conftest import TINY_RECIPE

CPU = Accelerator("cpu", "cpu")
A100 = Accelerator("cuda", "NVIDIA A100-SXM4-80GB", (8, 0))
H100 = Accelerator("cuda", "NVIDIA H100 80GB HBM3", (9, 0))


def recipe(model: dict | None = None, **train) -> Recipe:
    data = copy.deepcopy(TINY_RECIPE)
    data["run"]["output_uri"] = "/tmp/unused"
    data["train"].update(train)
    data["model"].update(model or {})
    return Recipe.model_validate(data)


def test_fp8_trains_bf16_weights_under_deepspeed():
    fp8 = recipe(precision="fp8", fp8_recipe="rowwise")
    assert fp8.train.weights_precision == "bf16"
    config = deepspeed_config(fp8, world_size=1)
    assert config["bf16"]["enabled"] and not config["fp16"]["enabled"]
    assert recipe(precision="fp32").train.weights_precision == "fp32"


def test_bad_switch_values_are_refused_at_validation():
    with pytest.raises(ValueError, match="fp8_recipe"):
        recipe(precision="fp8", fp8_recipe="blockwise")
    with pytest.raises(ValueError, match=r"model\.kernels: liger has no kernels for arch 'gpt2'"):
        recipe({"arch": "gpt2", "kernels": "liger", "config": {"n_embd": 64, "n_head": 4}})


def test_fp8_on_cpu_and_pre_hopper_is_refused_naming_the_device_and_the_fix():
    fp8 = recipe(precision="fp8")
    with pytest.raises(HardwareError) as cpu:
        require_accelerator(fp8, CPU)
    assert "train.precision: fp8 needs an NVIDIA GPU with fp8 tensor cores" in str(cpu.value)
    assert "this rank runs on cpu" in str(cpu.value)
    assert "set train.precision: bf16" in str(cpu.value)
    with pytest.raises(HardwareError, match=r"NVIDIA A100-SXM4-80GB \(sm_80\)"):
        require_accelerator(fp8, A100)


def test_liger_needs_cuda_and_both_problems_are_said_at_once():
    both = recipe({"kernels": "liger"}, precision="fp8")
    with pytest.raises(HardwareError) as err:
        require_accelerator(both, CPU)
    message = str(err.value)
    assert "train.precision: fp8" in message and "model.kernels: liger needs a CUDA GPU" in message
    require_accelerator(recipe(), CPU)  # the defaults run anywhere
    require_accelerator(recipe(compile=True), CPU)  # inductor compiles for the CPU too


def test_on_hopper_only_the_missing_package_is_said():
    # this venv has neither torchao nor liger-kernel (they are the `gpu` extra)
    with pytest.raises(HardwareError, match=r"needs torchao \(pip install 'sovtrain\[gpu\]'\)"):
        require_accelerator(recipe(precision="fp8"), H100)
    with pytest.raises(HardwareError, match="needs liger-kernel"):
        require_accelerator(recipe({"kernels": "liger"}), H100)


def test_cluster_profile_device_type_is_checked_before_the_job_queues():
    fp8, liger = recipe(precision="fp8"), recipe({"kernels": "liger"})
    with pytest.raises(HardwareError, match="cluster x's gpu_type is a100 \\(none\\)"):
        require_device_type(fp8, lookup_device("a100"), "cluster x's gpu_type")
    with pytest.raises(HardwareError, match="ascend-910b"):
        require_device_type(liger, lookup_device("910b"), "cluster x's gpu_type")
    for key in ("h100", "h200", "h800", "h20", "l40s"):
        require_device_type(fp8, lookup_device(key), "cluster x's gpu_type")
    require_device_type(liger, lookup_device("a100"), "cluster x's gpu_type")


def test_converters_apply_kernels_then_fp8_then_loss_then_lora():
    plain = [c.name for c in converters_for(recipe())]
    assert plain == ["chunked-cross-entropy"]
    fp8 = [c.name for c in converters_for(recipe(precision="fp8"))]
    assert fp8 == ["float8-linears", "chunked-cross-entropy"]
    liger = [c.name for c in converters_for(recipe({"kernels": "liger"}, precision="fp8"))]
    assert liger == ["liger-kernels", "float8-linears"]  # Liger brings its own fused loss
    full = [c.name for c in converters_for(recipe(cross_entropy="full"))]
    assert full == []


@pytest.mark.parametrize(
    ("train", "zero", "fused"),
    [({}, 2, True), ({"cross_entropy": "full"}, 2, False), ({}, 3, False)],
)
def test_liger_fused_loss_only_where_it_is_exact(train, zero, fused):
    r = recipe({"kernels": "liger"}, **train)
    r = r.model_copy(update={"deepspeed": r.deepspeed.model_copy(update={"zero_stage": zero})})
    options = liger_options(r, "llama")
    assert options["fused_linear_cross_entropy"] is fused
    assert options["rms_norm"] and options["rope"] and options["swiglu"]
    assert not options["cross_entropy"]


def test_liger_refuses_a_base_architecture_it_does_not_know():
    with pytest.raises(HardwareError, match="base's arch 'gemma2'"):
        liger_options(recipe({"kernels": "liger"}), "gemma2")


def test_fp8_swaps_aligned_linears_but_never_the_lm_head():
    head = torch.nn.Linear(64, 512, bias=False)
    assert fp8_eligible(torch.nn.Linear(64, 128), "model.layers.0.mlp.up_proj", head)
    assert not fp8_eligible(head, "lm_head", head)
    assert not fp8_eligible(torch.nn.Linear(60, 128), "odd", head)  # not a multiple of 16
    assert not fp8_eligible(torch.nn.Embedding(512, 64), "embed", head)


def test_causal_mfu_halves_the_attention_term_only():
    config = LlamaConfig(
        hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
        intermediate_size=8192, vocab_size=64000,
    )  # fmt: skip
    seq = 4096
    full, causal = flops_per_token(config, seq), flops_per_token(config, seq, causal=True)
    attention = 12 * 16 * seq * 32 * 64
    assert full - causal == attention // 2
    cost = model_cost(config, seq)
    assert (cost.flops_per_token, cost.flops_per_token_causal) == (full, causal)
    meter = ThroughputMeter(full, 1e15, world_size=1, flops_per_token_causal=causal)
    meter.reset(0, 0)
    rates = meter.measure(1_000_000, 1)
    assert math.isclose(rates["mfu_causal"] / rates["mfu"], causal / full, rel_tol=1e-9)
