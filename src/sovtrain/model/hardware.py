"""What the recipe's speed switches need from the hardware, checked before anything is built.

Why here, and twice: `model.kernels: liger` runs Triton kernels (NVIDIA GPUs only) and
`train.precision: fp8` runs float8 matmuls (fp8 tensor cores: compute capability 8.9, Ada and
Hopper, and newer). On anything else the job would fail minutes in, inside a kernel, or
worse, silently fall back to a slow path. So every rank checks its own device at the start
of a run (`require_accelerator`, before admission writes a byte) and `sovtrain slurm submit`
checks the cluster profile's device type (`require_device_type`) before the job queues for
hours. Both raise `HardwareError` (exit 2) naming the field, what it needs, what the machine
has, and the fix. `train.compile` runs everywhere inductor does (CPU included) and is not
checked here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch

from sovtrain.core.errors import HardwareError
from sovtrain.model.devices import DeviceSpec
from sovtrain.recipe.schema import Recipe

FP8_CAPABILITY = (8, 9)  # Ada (L40S) and Hopper (H100/H200/H800/H20) and newer
_FP8_FIX = "set train.precision: bf16"
_LIGER_FIX = "set model.kernels: none"


@dataclass(frozen=True)
class Accelerator:
    """The facts the checks read about one rank's device."""

    kind: str  # torch device type: cuda, cpu, npu ...
    name: str  # e.g. "NVIDIA H100 80GB HBM3", or the device type
    capability: tuple[int, int] | None = None  # CUDA compute capability

    @classmethod
    def of(cls, device: torch.device) -> Accelerator:
        if device.type != "cuda":
            return cls(device.type, device.type)
        major, minor = torch.cuda.get_device_capability(device)
        return cls("cuda", torch.cuda.get_device_name(device), (major, minor))

    def describe(self) -> str:
        if self.capability is None:
            return f"this rank runs on {self.name}"
        return f"this rank has {self.name} (sm_{self.capability[0]}{self.capability[1]})"


def require_accelerator(recipe: Recipe, accelerator: Accelerator) -> None:
    """Refuse the switches this device cannot run, all of them in one message."""
    problems = []
    if recipe.train.precision == "fp8":
        problems += _fp8_problems(accelerator)
    if recipe.model.kernels == "liger":
        problems += _liger_problems(accelerator)
    if problems:
        raise HardwareError("; ".join(problems))


def require_device_type(recipe: Recipe, spec: DeviceSpec, where: str) -> None:
    """The same refusals from a cluster profile's datasheet row (`where` names the profile)."""
    problems = []
    if recipe.train.precision == "fp8" and spec.fp8_tflops is None:
        problems.append(
            f"train.precision: fp8 needs fp8 tensor cores, and {where} is {spec.key} (none); "
            f"{_FP8_FIX}"
        )
    if recipe.model.kernels == "liger" and spec.key.startswith("ascend"):
        problems.append(
            f"model.kernels: liger runs Triton kernels on NVIDIA GPUs, and {where} is "
            f"{spec.key}; {_LIGER_FIX}"
        )
    if problems:
        raise HardwareError("; ".join(problems))


def _fp8_problems(accelerator: Accelerator) -> list[str]:
    capability = accelerator.capability
    if capability is None or capability < FP8_CAPABILITY:
        return [
            "train.precision: fp8 needs an NVIDIA GPU with fp8 tensor cores (compute "
            f"capability {FP8_CAPABILITY[0]}.{FP8_CAPABILITY[1]}+: H100, H200, H800, H20, "
            f"L40S); {accelerator.describe()}; {_FP8_FIX}"
        ]
    if not _installed("torchao"):
        return ["train.precision: fp8 needs torchao (pip install 'sovtrain[gpu]')"]
    return []


def _liger_problems(accelerator: Accelerator) -> list[str]:
    if accelerator.kind != "cuda":
        return [
            "model.kernels: liger needs a CUDA GPU (Liger-Kernel's kernels are Triton); "
            f"{accelerator.describe()}; {_LIGER_FIX}"
        ]
    if not _installed("liger_kernel"):
        return ["model.kernels: liger needs liger-kernel (pip install 'sovtrain[gpu]')"]
    return []


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
