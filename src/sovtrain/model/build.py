"""Build a causal LM from `model.arch` + `model.config` with transformers (random init).

No hub access: the config is constructed locally from the recipe's kwargs, the weights are
initialised by the model class itself from `run.seed`.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PretrainedConfig, PreTrainedModel

from sovtrain.recipe.schema import ModelSection


def build_config(section: ModelSection, vocab_size: int | None = None) -> PretrainedConfig:
    """The transformers config for the recipe; `vocab_size` fills in from the tokenizer."""
    kwargs: dict[str, Any] = dict(section.config)
    if vocab_size is not None:
        kwargs.setdefault("vocab_size", vocab_size)
    try:
        config = AutoConfig.for_model(section.arch, **kwargs)
    except Exception as err:  # transformers raises several types for bad kwargs
        raise ValueError(f"config invalid for arch {section.arch!r}: {err}") from None
    # PretrainedConfig keeps unknown kwargs as attributes, so a typo like `hiden_size` would
    # pass silently; compare against the config class's declared fields instead.
    declared = set(inspect.signature(type(config).__init__).parameters)
    unknown = sorted(k for k in section.config if k not in declared)
    if unknown:
        raise ValueError(f"config: {', '.join(unknown)} not fields of {type(config).__name__}")
    return config


def build_model(
    section: ModelSection, vocab_size: int | None, seed: int, attn: str | None = None
) -> PreTrainedModel:
    """Instantiate the model in fp32 (DeepSpeed casts for bf16/fp16 training)."""
    config = build_config(section, vocab_size)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(
        config, attn_implementation=attn or section.attn_implementation, dtype=torch.float32
    )
    return model


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
