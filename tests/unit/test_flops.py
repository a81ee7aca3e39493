"""The analytic FLOP formula against PyTorch's own count on the real model."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoConfig, AutoModelForCausalLM

from sovtrain.model.flops import estimate_wall_time, model_cost, param_count

CASES = {
    "llama-tied-gqa": (
        "llama",
        dict(hidden_size=128, num_hidden_layers=3, num_attention_heads=8, num_key_value_heads=2,
             intermediate_size=352, vocab_size=1000, tie_word_embeddings=True),
    ),
    "llama-untied-mha": (
        "llama",
        dict(hidden_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
             intermediate_size=256, vocab_size=777, tie_word_embeddings=False),
    ),
    "qwen2-gqa-bias": (
        "qwen2",
        dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=320, vocab_size=900, tie_word_embeddings=False),
    ),
}  # fmt: skip


def _model(arch: str, kwargs: dict):
    config = AutoConfig.for_model(arch, max_position_embeddings=512, **kwargs)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    return config, model


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seq_len", [64, 256])
def test_formula_matches_flop_counter_within_2_percent(name, seq_len):
    arch, kwargs = CASES[name]
    config, model = _model(arch, kwargs)
    batch = 2
    ids = torch.randint(0, config.vocab_size, (batch, seq_len))
    with FlopCounterMode(display=False) as counter:
        model(input_ids=ids, labels=ids).loss.backward()
    measured = counter.get_total_flops()
    predicted = model_cost(config, seq_len).flops_per_token * batch * seq_len
    assert abs(predicted - measured) / measured < 0.02, (predicted, measured)


@pytest.mark.parametrize("name", sorted(CASES))
def test_param_count_matches_the_real_model(name):
    arch, kwargs = CASES[name]
    config, model = _model(arch, kwargs)
    assert param_count(config) == sum(p.numel() for p in model.parameters())


def test_wall_time_estimate_follows_c_equals_6pd_over_eta():
    config, _ = _model(*CASES["llama-tied-gqa"])
    cost = model_cost(config, 64)
    est = estimate_wall_time(cost, tokens=1e9, devices=8, peak_flops=1e15, mfu=0.5)
    expected_seconds = cost.flops_per_token * 1e9 / (8 * 1e15 * 0.5)
    assert est["wall_hours"] == pytest.approx(expected_seconds / 3600)
    assert est["device_hours"] == pytest.approx(8 * expected_seconds / 3600)
