"""`model.kernels: liger`: Liger-Kernel's fused Triton kernels patched into one model instance.

What it swaps (for the architectures in `recipe.model.LIGER_ARCHS`): RMSNorm, RoPE and the
SwiGLU MLP, and, when the recipe already asks for the loss without full logits
(`train.cross_entropy: chunked`), the CausalLM forward for Liger's fused linear
cross-entropy, the GPU kernel of the same idea as `model/loss.py`. The patch goes on the
instance (`apply_liger_kernel_to_<arch>(model=...)`), so eval and export, which build their
own models, keep transformers' modules; RoPE is the exception: Liger replaces the
architecture module's `apply_rotary_pos_emb` function, for the whole process.

When Liger's loss would be wrong, transformers' loss is kept and the log says why: under
ZeRO-3 the LM head's weight is partitioned and Liger reads it outside the module's gather
hook; a LoRA adapter on the LM head would be bypassed by a forward that reads the base
weight.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from sovtrain.core.errors import HardwareError
from sovtrain.recipe.model import LIGER_ARCHS
from sovtrain.recipe.schema import Recipe

log = logging.getLogger(__name__)


def liger_options(recipe: Recipe, model_type: str) -> dict[str, bool]:
    """The keyword switches of `apply_liger_kernel_to_<model_type>` this recipe gets."""
    if model_type not in LIGER_ARCHS:
        raise HardwareError(
            f"model.kernels: liger has no kernels for the base's arch {model_type!r} here "
            f"(supported: {', '.join(LIGER_ARCHS)}); set model.kernels: none"
        )
    return {
        "rope": True,
        "rms_norm": True,
        "swiglu": True,
        "cross_entropy": False,  # the loss on full logits stays transformers' own
        "fused_linear_cross_entropy": _fused_loss_why_not(recipe) is None,
    }


def _fused_loss_why_not(recipe: Recipe) -> str | None:
    if recipe.train.cross_entropy != "chunked":
        return "train.cross_entropy is full"
    if recipe.deepspeed.zero_stage == 3:
        return "ZeRO-3 partitions the LM head's weight"
    lora = recipe.finetune.lora if recipe.finetune else None
    if lora is not None and "lm_head" in lora.target_modules:
        return "a LoRA adapter sits on lm_head"
    return None


def apply_liger(model: torch.nn.Module, recipe: Recipe) -> torch.nn.Module:
    """Patch `model` (a transformers CausalLM) with the kernels `liger_options` selects."""
    import liger_kernel.transformers as liger

    model_type = str(getattr(model.config, "model_type", None))
    options = liger_options(recipe, model_type)
    if not options["fused_linear_cross_entropy"]:
        log.info("model.kernels liger: transformers' cross-entropy kept (%s)",
                 _fused_loss_why_not(recipe))  # fmt: skip
    patch: Any = getattr(liger, f"apply_liger_kernel_to_{model_type}")
    patch(model=model, **options)
    return model
