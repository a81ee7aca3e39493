"""AdamW with decoupled weight decay on matrices only, and a warmup + cosine schedule."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from sovtrain.recipe.schema import OptimizerSection


def build_optimizer(model: torch.nn.Module, cfg: OptimizerSection, device: torch.device):
    """Decay 2-D weights only (norm gains and biases are not regularised).

    The fused AdamW kernel, on every device: on CUDA it updates all parameters in a few
    launches instead of a loop of small kernels per tensor; on a CPU it updates in one pass
    with no temporaries. That matters under DeepSpeed, whose ZeRO optimizer steps one flat
    fp32 partition: the for-loop AdamW's `sqrt` and `div` then allocate partition-sized
    temporaries, fresh (page-faulting) memory every step, 2-3% of the smoke recipe's step
    on 2 cores (`bench/step_time.py`, issue 18's closing note).
    """
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.dim() >= 2 else no_decay).append(param)
    groups = [
        {"params": params, "weight_decay": wd}
        for params, wd in ((decay, cfg.weight_decay), (no_decay, 0.0))
        if params  # DeepSpeed drops empty groups (LoRA has no 1-D trainables): so do we
    ]
    fused = device.type in ("cuda", "cpu")  # other backends: PyTorch's default implementation
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, fused=fused)


def warmup_cosine(cfg: OptimizerSection, total_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear warmup to 1, then cosine down to `min_lr_ratio` at `total_steps`."""

    def factor(step: int) -> float:
        if cfg.warmup_steps and step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        span = max(total_steps - cfg.warmup_steps, 1)
        progress = min((step - cfg.warmup_steps) / span, 1.0)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine

    return factor
