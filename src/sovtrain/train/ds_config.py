"""The DeepSpeed config, generated from the recipe (never hand-written per run).

Batch arithmetic is derived here so it holds at any world size: the recipe fixes the global
batch; gradient accumulation = global / (micro * world).
"""

from __future__ import annotations

from typing import Any

from sovtrain.recipe.load import deep_merge
from sovtrain.recipe.schema import Recipe


def deepspeed_config(
    recipe: Recipe, world_size: int, load_universal: bool = False
) -> dict[str, Any]:
    """`load_universal`: the run resumes from a checkpoint's universal copy (written at
    another world size; `train.resume`)."""
    train, ds = recipe.train, recipe.deepspeed
    accumulation = train.grad_accumulation(world_size)
    zero: dict[str, Any] = {
        "stage": ds.zero_stage,
        "overlap_comm": ds.zero_stage > 0,
        "contiguous_gradients": True,
        "reduce_bucket_size": 5e8,
        "allgather_bucket_size": 5e8,
    }
    if ds.offload.optimizer == "cpu":
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if ds.offload.params == "cpu":
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    config: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": train.micro_batch,
        "gradient_accumulation_steps": accumulation,
        "train_batch_size": train.micro_batch * accumulation * world_size,
        "gradient_clipping": train.grad_clip,
        "zero_optimization": zero,
        "bf16": {"enabled": train.weights_precision == "bf16"},  # fp8 trains bf16 weights
        "fp16": {
            "enabled": train.precision == "fp16",
            "loss_scale": 0,
            "initial_scale_power": 16,
        },
        "steps_per_print": 1_000_000_000,
        "wall_clock_breakdown": False,
    }
    if load_universal:
        config["checkpoint"] = {"load_universal": True}
    return deep_merge(config, ds.overrides)
