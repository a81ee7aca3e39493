"""Parameters and training FLOPs per token, from the model config alone.

For a dense decoder (Llama / Qwen2 / Mistral family: GQA attention, SwiGLU MLP) with
    h  = hidden_size          L  = num_hidden_layers     V = vocab_size
    nh = num_attention_heads  nkv = num_key_value_heads  d = head_dim (default h / nh)
    I  = intermediate_size    s  = sequence length the model is trained at

the weights that take part in a matrix multiply, per token, are

    M = L * ( h*nh*d          # q_proj
            + 2*h*nkv*d       # k_proj, v_proj (GQA: nkv <= nh)
            + nh*d*h          # o_proj
            + 3*h*I )         # SwiGLU: gate, up, down
        + h*V                 # lm_head (a matmul whether or not it is tied to the embedding)

A matmul costs 2 FLOPs per weight per token forward and 4 backward, so weights cost 6*M.
Attention adds, per token per layer, QK^T (2*s*nh*d) and attention*V (2*s*nh*d) forward,
times 3 for forward+backward:

    flops_per_token = 6*M + 12 * L * s * nh * d

That counts the full s x s attention (the convention of PaLM/Megatron MFU and exactly what
eager attention executes): `mfu`. Flash and SDPA kernels skip the masked half of a causal
attention, so Megatron-Bridge and MaxText count only it:

    flops_per_token_causal = 6*M + 6 * L * s * nh * d       # `mfu_causal`

Both are logged; the first is the one compared across runs here. Embedding lookups, norms,
activations, softmax and the loss are not matmuls and are left out (they are < 1% here).

Training compute for D tokens is C = flops_per_token * D (~= 6*P*D for long runs); at MFU eta
on G devices of peak F, wall time is C / (G * F * eta).
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PretrainedConfig

# Biases on projections, by model_type: which linear layers carry one.
_QKV_BIAS_ARCHS = {"qwen2"}


@dataclass(frozen=True)
class ModelCost:
    params: int
    matmul_params: int
    flops_per_token: int
    flops_per_token_causal: int  # attention's causal half only (`mfu_causal`)
    seq_len: int


def _dims(config: PretrainedConfig) -> tuple[int, int, int, int, int, int, int]:
    h = config.hidden_size
    nh = config.num_attention_heads
    nkv = getattr(config, "num_key_value_heads", None) or nh
    d = getattr(config, "head_dim", None) or h // nh
    return h, config.num_hidden_layers, config.vocab_size, nh, nkv, d, config.intermediate_size


def matmul_params(config: PretrainedConfig) -> int:
    """M in the module docstring."""
    h, layers, vocab, nh, nkv, d, inter = _dims(config)
    per_layer = h * nh * d + 2 * h * nkv * d + nh * d * h + 3 * h * inter
    return layers * per_layer + h * vocab


def param_count(config: PretrainedConfig) -> int:
    """Every trainable parameter: matmul weights, embedding (once if tied), norms, biases."""
    h, layers, vocab, nh, nkv, d, inter = _dims(config)
    attention = h * nh * d + 2 * h * nkv * d + nh * d * h
    if config.model_type in _QKV_BIAS_ARCHS:
        attention += nh * d + 2 * nkv * d
    elif getattr(config, "attention_bias", False):
        attention += nh * d + 2 * nkv * d + h
    mlp = 3 * h * inter + (2 * inter + h if getattr(config, "mlp_bias", False) else 0)
    norms = 2 * h
    embeddings = vocab * h * (1 if config.tie_word_embeddings else 2)
    return layers * (attention + mlp + norms) + h + embeddings


def flops_per_token(config: PretrainedConfig, seq_len: int, causal: bool = False) -> int:
    """Training (forward + backward) FLOPs per token at `seq_len`; see the module docstring.
    `causal`: count only the unmasked half of the attention scores."""
    _, layers, _, nh, _, d, _ = _dims(config)
    attention = 12 * layers * seq_len * nh * d
    return 6 * matmul_params(config) + (attention // 2 if causal else attention)


def model_cost(config: PretrainedConfig, seq_len: int) -> ModelCost:
    return ModelCost(
        params=param_count(config),
        matmul_params=matmul_params(config),
        flops_per_token=flops_per_token(config, seq_len),
        seq_len=seq_len,
        flops_per_token_causal=flops_per_token(config, seq_len, causal=True),
    )


def estimate_wall_time(
    cost: ModelCost, tokens: float, devices: int, peak_flops: float, mfu: float
) -> dict[str, float]:
    """Wall hours and device-hours for `tokens` at a given MFU: C = flops/token * D / eta."""
    compute = cost.flops_per_token * tokens
    seconds = compute / (devices * peak_flops * mfu)
    return {
        "compute_flops": compute,
        "wall_hours": seconds / 3600,
        "device_hours": seconds * devices / 3600,
        "approx_6PD": 6 * cost.params * tokens,
    }
