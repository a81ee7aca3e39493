"""Memory per device: ZeRO model states plus an activation estimate.

Model states (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
Parameter Models", section 5 and figure 1). Mixed-precision Adam keeps 2P bytes of 16-bit
parameters, 2P of 16-bit gradients and K*P = 12P of fp32 master weights, momentum and variance;
over N data-parallel devices the stages partition them:

    stage 0: 16P          stage 1: 4P + 12P/N     stage 2: 2P + 14P/N     stage 3: 16P/N

(the paper's example, P = 7.5B, N = 64: 120, 31.4, 16.6 and 1.9 GB). fp32 training has no
separate master copy: 4P parameters, 4P gradients, 8P Adam moments, also 16P in all, with the
same partitioning (stage 1: 8P + 8P/N, stage 2: 4P + 12P/N, stage 3: 16P/N).
`deepspeed.offload.optimizer: cpu` moves the optimizer states off the device, and
`offload.params: cpu` (stage 3) the parameters.

Activations (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
Models", section 4, no tensor or sequence parallelism): one transformer layer stores

    s*b*h*(34 + 5*a*s/h) bytes          (16-bit activations, s = seq_len, b = micro batch)

where 5*a*s^2*b is the attention score matrix. Fused attention kernels (sdpa, flash) do not
store it, so it is counted only for `model.attn_implementation: eager`. With full activation
checkpointing each layer keeps only its 16-bit input, 2*s*b*h, and one layer at a time is
recomputed with its full working set. The loss adds the logits, s*b*V in 16 bits plus the fp32
copy the cross-entropy upcasts to (6 bytes per logit). Everything else (CUDA context, NCCL
buffers, allocator fragmentation) is the headroom: a plan fits when model states plus
activations stay within HEADROOM of the device's memory.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1e9
HEADROOM = 0.9  # of device memory usable for states + activations; the rest: context, buffers


@dataclass(frozen=True)
class StateBytes:
    """Bytes per parameter of each model-state part, for one precision."""

    params: int
    grads: int
    optimizer: int


def state_bytes(precision: str) -> StateBytes:
    """Mixed precision (bf16/fp16): 2 + 2 + 12; fp32: 4 + 4 + 8 (no master copy)."""
    return StateBytes(4, 4, 8) if precision == "fp32" else StateBytes(2, 2, 12)


def model_states_bytes(
    params: int,
    stage: int,
    devices: int,
    precision: str = "bf16",
    offload_optimizer: bool = False,
    offload_params: bool = False,
) -> float:
    """Model-state bytes on one device at ZeRO `stage` over `devices` data-parallel ranks."""
    b = state_bytes(precision)
    n = max(1, devices)
    p, g, k = float(b.params), float(b.grads), 0.0 if offload_optimizer else float(b.optimizer)
    if stage >= 1:
        k /= n
    if stage >= 2:
        g /= n
    if stage >= 3:
        p = 0.0 if offload_params else p / n
    return params * (p + g + k)


@dataclass(frozen=True)
class Shape:
    """What the activation estimate needs of the model and the batch."""

    layers: int
    hidden: int
    heads: int
    vocab: int
    seq_len: int
    micro_batch: int
    eager_attention: bool


def layer_activation_bytes(shape: Shape) -> float:
    """Korthikanti et al. 2022, eq. (1): one layer's stored activations, no recompute."""
    sbh = shape.seq_len * shape.micro_batch * shape.hidden
    scores = 5 * shape.heads * shape.seq_len / shape.hidden if shape.eager_attention else 0.0
    return sbh * (34 + scores)


def logits_bytes(shape: Shape) -> float:
    """The loss's logits: 16-bit output plus the fp32 upcast of cross-entropy."""
    return 6.0 * shape.seq_len * shape.micro_batch * shape.vocab


def activation_bytes(shape: Shape, checkpointing: bool) -> float:
    """Peak activation bytes of one micro batch, with or without full checkpointing."""
    per_layer = layer_activation_bytes(shape)
    if checkpointing:
        inputs = 2.0 * shape.seq_len * shape.micro_batch * shape.hidden * shape.layers
        return inputs + per_layer + logits_bytes(shape)
    return per_layer * shape.layers + logits_bytes(shape)


def memory_report(
    model_states: float, shape: Shape, checkpointing: bool, device_gb: float
) -> dict[str, float | bool]:
    """The `memory` section of a plan (GB = 1e9 bytes); `fits` for the recipe's setting."""
    with_ckpt = activation_bytes(shape, checkpointing=True)
    without = activation_bytes(shape, checkpointing=False)
    chosen = with_ckpt if checkpointing else without
    total = model_states + chosen
    return {
        "model_states_gb": model_states / GB,
        "activations_gb": chosen / GB,
        "activations_checkpointed_gb": with_ckpt / GB,
        "activations_full_gb": without / GB,
        "activation_checkpointing": checkpointing,
        "total_gb": total / GB,
        "device_gb": device_gb,
        "usable_gb": device_gb * HEADROOM,
        "fits": total <= device_gb * GB * HEADROOM,
    }
