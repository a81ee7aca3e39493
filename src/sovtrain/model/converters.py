"""Model converters: every transform of a built model before the engine wraps it.

Why one place: fused kernels (Liger), float8 linears, the chunked loss and LoRA each
rewrite the module tree between "the model is built or loaded" and "`deepspeed.initialize`
sees it". Without a seam each would touch the session, eval and export. Here a converter is
one class with a `name` and `convert(model, recipe) -> model`, and `converters_for(recipe)`
is the one list the recipe selects from (torchtitan's `components/quantization` does the
same).

The order of the list is the order of application: kernel swaps first (Liger replaces
modules and, given the chunked loss, the forward), then float8 linears (Liger's SwiGLU keeps
its `nn.Linear` projections, which fp8 then swaps), then the pure-PyTorch chunked loss when
Liger has not taken the loss, and last the wrappers that own the parameters the optimizer
sees (LoRA), so every swap underneath them happens on the base's own modules. What the
hardware must offer for each is checked before the model is built (`model/hardware.py`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from sovtrain.model.chunked_head import use_chunked_loss
from sovtrain.model.fp8 import apply_fp8
from sovtrain.model.kernels import apply_liger
from sovtrain.recipe.schema import Recipe

log = logging.getLogger(__name__)


class ModelConverter(Protocol):
    """Transforms a model in place or returns a new one; `name` is what the log says."""

    @property
    def name(self) -> str: ...

    def convert(self, model: torch.nn.Module, recipe: Recipe) -> torch.nn.Module: ...


@dataclass(frozen=True)
class LoraConverter:
    """peft LoRA adapters (`finetune.lora`): the base weights freeze, only adapters train."""

    name: str = "lora"

    def convert(self, model: torch.nn.Module, recipe: Recipe) -> torch.nn.Module:
        lora = recipe.finetune.lora if recipe.finetune else None
        if lora is None:
            return model
        torch.manual_seed(recipe.run.seed)  # the adapters' init: the same run, the same bytes
        return apply_lora(model, lora)


@dataclass(frozen=True)
class ChunkedLossConverter:
    """`train.cross_entropy: chunked`: the loss without the full logits
    (`model/chunked_head.py`). Before LoRA: peft then calls this forward of the base."""

    name: str = "chunked-cross-entropy"

    def convert(self, model: torch.nn.Module, recipe: Recipe) -> torch.nn.Module:
        return use_chunked_loss(model)


@dataclass(frozen=True)
class LigerConverter:
    """`model.kernels: liger`: Liger-Kernel's Triton kernels (`model/kernels.py`)."""

    name: str = "liger-kernels"

    def convert(self, model: torch.nn.Module, recipe: Recipe) -> torch.nn.Module:
        return apply_liger(model, recipe)


@dataclass(frozen=True)
class Float8Converter:
    """`train.precision: fp8`: torchao float8 linears (`model/fp8.py`)."""

    name: str = "float8-linears"

    def convert(self, model: torch.nn.Module, recipe: Recipe) -> torch.nn.Module:
        return apply_fp8(model, recipe)


def converters_for(recipe: Recipe) -> list[ModelConverter]:
    """The converters this recipe asks for, in the order they apply."""
    converters: list[ModelConverter] = []
    liger = recipe.model.kernels == "liger"
    if liger:
        converters.append(LigerConverter())
    if recipe.train.precision == "fp8":
        converters.append(Float8Converter())
    if recipe.train.cross_entropy == "chunked" and not liger:  # Liger brings its fused one
        converters.append(ChunkedLossConverter())
    if recipe.finetune is not None and recipe.finetune.lora is not None:
        converters.append(LoraConverter())
    return converters


def convert_model(
    model: torch.nn.Module, recipe: Recipe, converters: list[ModelConverter] | None = None
) -> torch.nn.Module:
    """Apply `converters` (default: the recipe's) in order; the one call the session makes."""
    for converter in converters_for(recipe) if converters is None else converters:
        log.debug("model converter: %s", converter.name)
        model = converter.convert(model, recipe)
    return model


def apply_lora(model: torch.nn.Module, lora: Any) -> torch.nn.Module:
    """Wrap in peft LoRA adapters: the base weights freeze, only the adapters train.

    Also used on its own to rebuild a trained LoRA run's module tree (eval, export), where
    the adapters' init does not matter because the checkpoint overwrites it.
    """
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=lora.target_modules, task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(model, config)
