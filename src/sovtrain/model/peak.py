"""Peak dense FLOPS per device and precision: the denominator of MFU.

Figures are vendor datasheet dense (no 2:4 sparsity) tensor-core peaks, in TFLOPS. "fp32"
means plain fp32 matmul as PyTorch runs it by default (TF32 off). A cluster profile or
`--peak-tflops` overrides the table, e.g. for power-capped parts. On CPU there is no
datasheet we can trust, so we measure a matmul once and use that as the peak.
"""

from __future__ import annotations

import functools
import os
import time

import torch

from sovtrain.model.devices import DEVICES, lookup_device

# device key -> precision -> dense peak TFLOPS (from the datasheet table in `devices.py`)
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    key: {"bf16": spec.bf16_tflops, "fp16": spec.bf16_tflops, "fp32": spec.fp32_tflops}
    for key, spec in DEVICES.items()
}

# substrings of torch.cuda.get_device_name() -> table key, most specific first
_NAME_PATTERNS = [
    ("H100 PCIE", "h100-pcie"),
    ("H100", "h100-sxm"),
    ("H200", "h200"),
    ("H800", "h800"),
    ("H20", "h20"),
    ("A100", "a100"),
    ("A800", "a800"),
    ("L40S", "l40s"),
    ("910B", "ascend-910b"),
]


def device_key(device: torch.device) -> str:
    """Our table key for `device` ('cpu' for CPUs, 'unknown-gpu' when not in the table)."""
    if device.type != "cuda":
        return "cpu" if device.type == "cpu" else device.type
    name = torch.cuda.get_device_name(device).upper()
    for pattern, key in _NAME_PATTERNS:
        if pattern in name:
            return key
    return "unknown-gpu"


def peak_flops(device: torch.device, precision: str, override_tflops: float | None = None) -> float:
    """Peak FLOP/s for MFU. Order: explicit override, SOVTRAIN_PEAK_TFLOPS, table, CPU probe."""
    if override_tflops:
        return override_tflops * 1e12
    env = os.environ.get("SOVTRAIN_PEAK_TFLOPS")
    if env:
        return float(env) * 1e12
    key = device_key(device)
    if key == "cpu":
        return cpu_matmul_flops()
    if key in PEAK_TFLOPS:
        return PEAK_TFLOPS[key][precision] * 1e12
    return float("nan")


def lookup_tflops(device_name: str, precision: str) -> float:
    """Table lookup by our key or an alias (for `sovtrain flops --device h100`)."""
    spec = lookup_device(device_name)
    return PEAK_TFLOPS[spec.key][precision]


@functools.cache
def cpu_matmul_flops(size: int = 1024, repeats: int = 6) -> float:
    """Best observed fp32 matmul FLOP/s with the threads this process uses.

    Measured once per process: it is the honest 'peak' for a CPU whose datasheet number
    depends on AVX width, clocks and thread count.
    """
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
