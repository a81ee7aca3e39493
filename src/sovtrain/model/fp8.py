"""`train.precision: fp8`: torchao float8 training, the transformer's linears swapped for
`Float8Linear` before DeepSpeed wraps the model.

What stays in bf16: the weights and optimizer state (DeepSpeed's bf16 mode, exactly as a
bf16 run), the embedding, norms, attention's softmax, and the LM head, whose logits feed a
softmax over the whole vocabulary and lose the most to 3-bit mantissas (torchtitan and
OLMo-core leave it out too). Each step casts a swapped linear's inputs, weight and output
gradient to float8 with a scale (`train.fp8_recipe`: tensorwise, one scale per tensor;
rowwise, one per row), multiplies on the fp8 tensor cores and accumulates in fp32.

A linear is swapped only if both its dimensions are multiples of 16 (the fp8 GEMM's
alignment); the rest stay bf16, and the log counts both. The same code runs on a CPU
(`torch._scaled_mm` has a CPU kernel), which is how the tests check its numerics; a CPU
training run is refused before it gets here (`model/hardware.py`): it would only be slower.
"""

from __future__ import annotations

import logging

import torch

from sovtrain.recipe.schema import Recipe

log = logging.getLogger(__name__)

FP8_ALIGNMENT = 16


def fp8_eligible(module: torch.nn.Module, fqn: str, head: torch.nn.Module | None) -> bool:
    """torchao's `module_filter_fn`: plain linears, aligned, not the LM head."""
    if not isinstance(module, torch.nn.Linear) or module is head:
        return False
    return module.in_features % FP8_ALIGNMENT == 0 and module.out_features % FP8_ALIGNMENT == 0


def apply_fp8(model: torch.nn.Module, recipe: Recipe) -> torch.nn.Module:
    """Swap the eligible linears of `model` for torchao's `Float8Linear`, in place."""
    from torchao.float8 import Float8LinearConfig, convert_to_float8_training

    config = Float8LinearConfig.from_recipe_name(recipe.train.fp8_recipe)
    head = _output_head(model)
    linears = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    convert_to_float8_training(
        model, config=config, module_filter_fn=lambda m, fqn: fp8_eligible(m, fqn, head)
    )
    swapped = sum(type(m).__name__ == "Float8Linear" for m in model.modules())
    log.info("train.precision fp8 (%s): %d of %d linear layers in float8 (the rest, LM head "
             "included, stay bf16)", recipe.train.fp8_recipe, swapped, linears)  # fmt: skip
    return model


def _output_head(model: torch.nn.Module) -> torch.nn.Module | None:
    get = getattr(model, "get_output_embeddings", None)
    head = get() if callable(get) else None
    return head if isinstance(head, torch.nn.Module) else None
