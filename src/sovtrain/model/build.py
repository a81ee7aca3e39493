"""Build a causal LM from `model.arch` + `model.config` with transformers (random init), or
with the architecture of the base named by `model.init_from` (weights loaded afterwards).

No hub access: the config is constructed locally from the recipe's kwargs (or read from the
base through `sovtrain.storage`), the weights are initialised by the model class itself from
`run.seed`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PretrainedConfig, PreTrainedModel

from sovtrain.recipe.schema import ModelSection


def build_config(section: ModelSection, vocab_size: int | None = None) -> PretrainedConfig:
    """The transformers config for the recipe: the base's (with its allowed overrides) when
    `init_from` is set, else `arch` + `config` with `vocab_size` filled in from the tokenizer.

    Every caller (training, FLOPs/MFU, eval, export) goes through here, so all of them see
    the architecture that is actually trained. With `init_from`, `vocab_size` is ignored:
    the base's embeddings are sized for the base's tokenizer, which the run reuses.
    """
    if section.init_from:
        from sovtrain.model.base_config import base_model_config

        return base_model_config(section)
    return arch_config(section, vocab_size)


def arch_config(section: ModelSection, vocab_size: int | None = None) -> PretrainedConfig:
    """A fresh config from `model.arch` + `model.config` (no base involved)."""
    kwargs: dict[str, Any] = dict(section.config)
    if vocab_size is not None:
        kwargs.setdefault("vocab_size", vocab_size)
    try:
        config = AutoConfig.for_model(section.arch, **kwargs)
    except Exception as err:  # transformers raises several types for bad kwargs
        raise ValueError(f"config invalid for arch {section.arch!r}: {err}") from None
    unknown = unknown_config_keys(type(config), section.config)
    if unknown:
        raise ValueError(f"config: {', '.join(unknown)} not fields of {type(config).__name__}")
    return config


# Spellings transformers still accepts and folds into `rope_parameters` (config.json files
# written before transformers 5 use them), though they are no longer declared fields.
LEGACY_KEYS = frozenset({"rope_theta", "rope_scaling"})


def unknown_config_keys(config_class: type, keys: Iterable[str]) -> list[str]:
    """Keys that are not fields of `config_class`, sorted.

    PretrainedConfig keeps unknown kwargs as attributes, so a typo like `hiden_size` would
    pass silently; compare against the config class's declared fields instead.
    """
    declared = set(inspect.signature(config_class.__init__).parameters) | LEGACY_KEYS
    return sorted(k for k in keys if k not in declared)


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
