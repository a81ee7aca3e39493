"""Accelerator datasheet facts the planner needs: peak FLOPS, memory, board power, links.

One row per device key (the keys of `peak.PEAK_TFLOPS`, which is derived from this table).
Peaks are dense (no 2:4 sparsity) tensor-core TFLOPS; "fp32" is plain fp32 matmul (TF32 off).
`link_gb_s` is the intra-node device-to-device bandwidth as the vendor quotes it, i.e. the
aggregate of both directions (NVLink 4: 900 GB/s = 450 GB/s each way); the communication
model uses half of it, the one-way figure a ring collective moves data at.

Sources (retrieved 2024-2025; "approx." marks figures that are not on a datasheet):
- H100 SXM5 80 GB, H100 PCIe: NVIDIA H100 Tensor Core GPU datasheet (bf16 989 / fp8 1979
  dense SXM; 700 W SXM, 350 W PCIe; NVLink 900 GB/s SXM, NVLink bridge 600 GB/s PCIe).
- H200 SXM 141 GB: NVIDIA H200 datasheet (same tensor cores as H100 SXM; 700 W; 900 GB/s).
- H800 SXM 80 GB: NVIDIA H800 product brief (H100 compute, NVLink cut to 400 GB/s; 700 W).
- H20 96 GB: NVIDIA H20 (HGX) spec sheet as reported by distributors (148 bf16 / 296 fp8
  TFLOPS dense, 400 W, NVLink 900 GB/s) -- approx. (no public NVIDIA datasheet).
- A100 SXM 80 GB / A800: NVIDIA A100 datasheet (312 bf16, 400 W, NVLink 600 GB/s; A800 400
  GB/s); no fp8.
- L40S 48 GB: NVIDIA L40S datasheet (362 bf16 / 733 fp8 dense, 350 W, PCIe Gen4 x16 64 GB/s,
  no NVLink).
- Ascend 910B (64 GB HBM2e): Huawei Atlas 800T A2 material and public benchmarks -- approx.
  (~320 TFLOPS fp16/bf16, ~400 W, HCCS 392 GB/s; no fp8).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceSpec:
    """Datasheet facts of one accelerator (see the module docstring for the sources)."""

    key: str
    bf16_tflops: float
    fp32_tflops: float
    fp8_tflops: float | None  # None: no fp8 tensor cores
    memory_gb: float  # GB = 1e9 bytes
    tdp_w: float
    link_gb_s: float  # intra-node, both directions together (vendor figure)
    interconnect: str  # interconnect class and its GB/s, for the comparison table
    tier: str  # export-control tier as the issue uses it: 1, 2 (export-compliant), 3 (domestic)
    approximate: bool = False

    def tflops(self, precision: str) -> float:
        """Peak for a training precision (bf16/fp16 share tensor cores)."""
        return self.fp32_tflops if precision == "fp32" else self.bf16_tflops


DEVICES: dict[str, DeviceSpec] = {
    spec.key: spec
    for spec in (
        DeviceSpec("h100-sxm", 989.4, 66.9, 1978.9, 80, 700, 900, "NVLink 900", "1"),
        DeviceSpec("h100-pcie", 756.0, 51.2, 1513.0, 80, 350, 600, "NVLink bridge 600", "1"),
        DeviceSpec("h200", 989.4, 66.9, 1978.9, 141, 700, 900, "NVLink 900", "1"),
        DeviceSpec("h800", 989.4, 66.9, 1978.9, 80, 700, 400, "NVLink 400", "2"),
        DeviceSpec("h20", 148.0, 44.0, 296.0, 96, 400, 900, "NVLink 900", "2", True),
        DeviceSpec("a100", 312.0, 19.5, None, 80, 400, 600, "NVLink 600", "1"),
        DeviceSpec("a800", 312.0, 19.5, None, 80, 400, 400, "NVLink 400", "2"),
        DeviceSpec("l40s", 362.1, 91.6, 733.0, 48, 350, 64, "PCIe4 64", "2"),
        DeviceSpec("ascend-910b", 320.0, 80.0, None, 64, 400, 392, "HCCS 392", "3", True),
    )
}

ALIASES = {"h100": "h100-sxm", "910b": "ascend-910b", "ascend": "ascend-910b"}


def lookup_device(name: str) -> DeviceSpec:
    """The row for `name` (a key or an alias: h100, 910b); KeyError naming the known keys."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in DEVICES:
        raise KeyError(f"unknown device {name!r}; known: {', '.join(sorted(DEVICES))}")
    return DEVICES[key]
