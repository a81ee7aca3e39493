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

# device key -> precision -> dense peak TFLOPS
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "h100-sxm": {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9},
    "h100-pcie": {"bf16": 756.0, "fp16": 756.0, "fp32": 51.2},
    "h200": {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9},
    "h800": {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9},
    "h20": {"bf16": 148.0, "fp16": 148.0, "fp32": 44.0},
    "a100": {"bf16": 312.0, "fp16": 312.0, "fp32": 19.5},
    "a800": {"bf16": 312.0, "fp16": 312.0, "fp32": 19.5},
    "l40s": {"bf16": 362.1, "fp16": 362.1, "fp32": 91.6},
    "ascend-910b": {"bf16": 320.0, "fp16": 320.0, "fp32": 80.0},
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
    """Table lookup by our key (for `sovtrain flops --device h100`)."""
    key = device_name.lower()
    aliases = {"h100": "h100-sxm", "910b": "ascend-910b", "ascend": "ascend-910b"}
    key = aliases.get(key, key)
    if key not in PEAK_TFLOPS:
        raise KeyError(f"unknown device {device_name!r}; known: {', '.join(sorted(PEAK_TFLOPS))}")
    return PEAK_TFLOPS[key][precision]


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
