"""Causal-LM cross-entropy without the full logits: the LM-head matmul and the loss, chunk by
chunk over tokens.

Why: `micro_batch x seq_len x vocab` fp32 logits (8 x 4096 x 64k x 4 B = 8.6 GB, and as much
again for their gradient) are the largest tensors of a step with a large vocabulary; they
alone put the 1B recipe out of memory at micro batch 8 on an 80 GB H100. Here no more than
one chunk of logits ever exists.

How (the "fused linear cross-entropy" idea of Liger-Kernel, in pure PyTorch so it runs on
CPU, CUDA and NPU alike): `ChunkedLinearCrossEntropy.forward` loops over token chunks,
computes each chunk's logits (upcast to fp32, as transformers' loss does), its loss sum,
and at once the gradients wrt the chunk's hidden states and the LM-head weight (d loss /
d logits = softmax - onehot, scaled by 1 / denominator). The logits die with the chunk;
`backward` only scales the stored gradients by the incoming one. That is three matmuls per
chunk, as the full path's forward + backward, not four as a recompute (checkpoint) would.

The semantics are exactly transformers' `ForCausalLMLoss`: labels shifted (token t predicts
t+1), `-100` ignored, mean over the targets, or `sum / num_items_in_batch` when given.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
CHUNK_LOGITS_BYTES = 256 * 2**20  # one chunk of fp32 logits: 1024 tokens of a 64k vocab


def shift_labels(labels: torch.Tensor) -> torch.Tensor:
    """Targets of each position, flattened: the next token's label, `-100` after the last."""
    return F.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:].reshape(-1)


def full_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: Any = None
) -> torch.Tensor:
    """The reference: transformers' `ForCausalLMLoss` on materialised logits."""
    targets = shift_labels(labels).to(logits.device)
    flat = logits.float().reshape(-1, logits.shape[-1])
    if num_items_in_batch is None:
        return F.cross_entropy(flat, targets, ignore_index=IGNORE_INDEX)
    return F.cross_entropy(flat, targets, ignore_index=IGNORE_INDEX, reduction="sum") / (
        _on(num_items_in_batch, flat.device)
    )


def chunked_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    num_items_in_batch: Any = None,
    bias: torch.Tensor | None = None,
    chunk_tokens: int | None = None,
) -> torch.Tensor:
    """`full_cross_entropy(hidden @ weight.T + bias, labels, num_items_in_batch)`, the same
    value and gradients, with one chunk of `chunk_tokens` tokens' logits alive at a time.

    `hidden` is `[..., seq, hidden_size]` (the backbone's last hidden state), `labels`
    `[..., seq]`. Default chunk: `CHUNK_LOGITS_BYTES` of fp32 logits.
    """
    flat = hidden.reshape(-1, hidden.shape[-1])
    targets = shift_labels(labels).to(hidden.device)
    valid = targets != IGNORE_INDEX
    count = valid.sum()
    # the denominator is a device tensor: no host sync (the loop never reads one back)
    denominator = count if num_items_in_batch is None else _on(num_items_in_batch, flat.device)
    chunk = chunk_tokens or max(1, CHUNK_LOGITS_BYTES // (4 * weight.shape[0]))
    loss: torch.Tensor = ChunkedLinearCrossEntropy.apply(
        flat, weight, bias, targets, denominator.float(), chunk
    )
    return loss


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Loss and its gradients in one pass over token chunks (see the module docstring)."""

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        denominator: torch.Tensor,
        chunk: int,
    ) -> torch.Tensor:
        want_h, want_w, want_b = ctx.needs_input_grad[:3]
        grads = _Grads(hidden, weight, bias, want_h, want_w, want_b)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        scale = 1.0 / denominator  # 0 targets and no num_items: 0/0 = NaN, as transformers
        for start in range(0, hidden.shape[0], chunk):
            rows = slice(start, start + chunk)
            total += _chunk_loss(hidden[rows], weight, bias, targets[rows], scale, grads, rows)
        ctx.save_for_backward(*grads.saved())
        ctx.wants = (want_h, want_w, want_b)
        return total * scale

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        saved = iter(ctx.saved_tensors)
        out: list[torch.Tensor | None] = []
        for wanted in ctx.wants:
            grad = next(saved) if wanted else None
            out.append(None if grad is None else grad * grad_out.to(grad.dtype))
        return (*out, None, None, None)


class _Grads:
    """The gradients `forward` fills in chunk by chunk: d hidden in the hidden's dtype (fp32
    for fp16; each chunk's rows written once), d weight and d bias accumulated in fp32."""

    def __init__(
        self,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        want_h: bool,
        want_w: bool,
        want_b: bool,
    ) -> None:
        # fp16 gradients of a mean underflow before the loss scale reaches them: fp32 matmuls
        self.dtype = torch.float32 if hidden.dtype == torch.float16 else hidden.dtype
        self.lm_weight = weight.to(self.dtype)  # the weight itself unless fp16 (then one copy)
        self.hidden = torch.empty_like(hidden, dtype=self.dtype) if want_h else None
        self.weight = torch.zeros_like(weight, dtype=torch.float32) if want_w else None
        self.bias = (
            torch.zeros_like(bias, dtype=torch.float32) if want_b and bias is not None else None
        )
        self.any = want_h or want_w or want_b

    def saved(self) -> list[torch.Tensor]:
        """Kept in fp32 (no second copy, and fp16 ones must not underflow before `backward`
        applies the loss scale); autograd casts each to its input's dtype."""
        grads = (self.hidden, self.weight, self.bias)
        return [grad for grad in grads if grad is not None]


def _chunk_loss(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    scale: torch.Tensor,
    grads: _Grads,
    rows: slice,
) -> torch.Tensor:
    """One chunk's loss sum; its gradient contributions go into `grads` (logits freed here)."""
    logits = F.linear(hidden, weight, bias).float()  # as lm_head, then transformers' upcast
    # the fused log-softmax (as F.cross_entropy's): twice as fast as logsumexp on the CPU
    logp = torch.log_softmax(logits, dim=-1)
    del logits
    valid = targets != IGNORE_INDEX
    safe = targets.clamp(min=0).unsqueeze(1)
    picked = logp.gather(1, safe).squeeze(1)
    loss = -torch.where(valid, picked, 0.0).sum()
    if not grads.any:
        return loss
    # d loss_sum / d logits = softmax - onehot on valid rows, in place in the chunk
    grad = logp.exp_()
    grad.scatter_add_(1, safe, torch.full_like(picked, -1.0).unsqueeze(1))
    grad.mul_((valid.float() * scale).unsqueeze(1))
    grad_low = grad.to(grads.dtype)
    if grads.hidden is not None:
        grads.hidden[rows] = grad_low @ grads.lm_weight
    if grads.weight is not None:
        grads.weight += (grad_low.T @ hidden.to(grads.dtype)).float()
    if grads.bias is not None:
        grads.bias += grad.sum(0)
    return loss


def _on(value: Any, device: torch.device) -> torch.Tensor:
    """`num_items_in_batch` as transformers takes it: a tensor (moved) or a plain number."""
    if torch.is_tensor(value):
        return value.to(device)
    return torch.tensor(value, device=device)
