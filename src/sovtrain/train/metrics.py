"""Training metrics that live on the device until a logging step asks for them.

`.item()` on a CUDA tensor stalls the CPU until the GPU drains its queue; doing it every
micro step would serialise host and device. So losses are summed into device tensors and
read once per `log_interval` in a single all-reduce + copy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from sovtrain.distributed.collectives import all_reduce_sum


class DeviceAccumulator:
    """Sum of losses, count, and a sticky non-finite flag, all on the device."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._totals = torch.zeros(3, device=device, dtype=torch.float32)  # sum, count, bad

    def add(self, loss: torch.Tensor) -> None:
        loss = loss.detach().float()
        finite = torch.isfinite(loss)
        self._totals[0] += torch.where(finite, loss, torch.zeros_like(loss))
        self._totals[1] += 1
        self._totals[2] += (~finite).float()

    def collect(self) -> tuple[float, int]:
        """(mean loss over all ranks, non-finite count) since the last collect; resets.

        This is the one host-device sync of a logging step. (The ranks' stop requests no
        longer ride along: they are agreed every step on a host group, see `any_rank`.)
        """
        totals = all_reduce_sum(self._totals.clone())
        loss_sum, count, bad = totals.tolist()
        self._totals.zero_()
        mean = loss_sum / count if count else math.nan
        return mean, int(bad)

    def nonfinite_count(self) -> int:
        """Non-finite losses since the last collect, summed over ranks (does not reset)."""
        return int(all_reduce_sum(self._totals[2:3].clone()).item())


@dataclass
class ThroughputMeter:
    """Tokens/s, TFLOPS and MFU between two logging points; `mfu` counts the full attention,
    `mfu_causal` its causal half (`model/flops.py`)."""

    flops_per_token: float
    peak_flops_per_device: float
    world_size: int
    flops_per_token_causal: float = math.nan
    _last_time: float = field(default_factory=time.perf_counter)
    _last_tokens: int = 0
    _last_step: int = 0

    def reset(self, tokens: int, step: int) -> None:
        self._last_time, self._last_tokens, self._last_step = time.perf_counter(), tokens, step

    def exclude(self, seconds: float) -> None:
        """Leave `seconds` (eval, checkpointing) out of the current throughput window."""
        self._last_time += seconds

    def measure(self, tokens: int, step: int) -> dict[str, float]:
        now = time.perf_counter()
        elapsed = max(now - self._last_time, 1e-9)
        steps = max(step - self._last_step, 1)
        tokens_per_s = (tokens - self._last_tokens) / elapsed
        per_device = tokens_per_s / self.world_size
        achieved = per_device * self.flops_per_token
        self.reset(tokens, step)
        return {
            "tokens_per_s": tokens_per_s,
            "tokens_per_s_per_device": per_device,
            "tflops_per_device": achieved / 1e12,
            "mfu": achieved / self.peak_flops_per_device,
            "mfu_causal": per_device * self.flops_per_token_causal / self.peak_flops_per_device,
            "step_time": elapsed / steps,
        }
