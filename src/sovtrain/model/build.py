"""Build a causal LM from `model.arch` + `model.config` with transformers (random init), or
with the architecture of the base named by `model.init_from` (weights loaded afterwards).

No hub access: the config is constructed locally from the recipe's kwargs (or read from the
base through `sovtrain.storage`), the weights are initialised by the model class itself from
`run.seed`. What `arch` + `config` may say is the recipe schema's to check
(`sovtrain.recipe.model.arch_config`, run at validation); this module builds from it.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig, PreTrainedModel

from sovtrain.model.base_config import base_model_config
from sovtrain.recipe.model import arch_config
from sovtrain.recipe.schema import ModelSection


def build_config(section: ModelSection, vocab_size: int | None = None) -> PretrainedConfig:
    """The transformers config for the recipe: the base's (with its allowed overrides) when
    `init_from` is set, else `arch` + `config` with `vocab_size` filled in from the tokenizer.

    Every caller (training, FLOPs/MFU, eval, export) goes through here, so all of them see
    the architecture that is actually trained. With `init_from`, `vocab_size` is ignored:
    the base's embeddings are sized for the base's tokenizer, which the run reuses.
    """
    if section.init_from:
        return base_model_config(section)
    return arch_config(section, vocab_size)


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
