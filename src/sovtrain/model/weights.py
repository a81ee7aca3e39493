"""Full-precision weights of a DeepSpeed checkpoint, read offline (no engine, no process group).

One reader for every consumer (fine-tuning from a base, `sovtrain eval`, `sovtrain export`),
because the subtle part is shared: with ZeRO 0-2 the model states file holds full module
weights, which are exact for fp32 training but only rounded copies under bf16/fp16; ZeRO-3
shards them. In those two cases the fp32 master weights are rebuilt from the optimizer
shards with DeepSpeed's `zero_to_fp32` helpers, so a bf16 base is not fine-tuned, evaluated
or exported from its rounded copy.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

import torch

from sovtrain.core.errors import CheckpointError

log = logging.getLogger(__name__)


def consolidate(
    step_dir: Path, precision: str, zero_stage: int, exact: bool = True, keep_dtype: bool = False
) -> tuple[dict[str, Any], str]:
    """Full fp32 weights of a local DeepSpeed checkpoint directory, and where they came from
    ("fp32-master" or "module").

    `exact=False` takes the bf16/fp16 module copies of a ZeRO 0-2 checkpoint as they are:
    for a consumer that trains in bf16 anyway (rebuilding the masters reads every optimizer
    shard, 12 bytes per parameter, into the memory of every rank that loads the base).
    """
    if zero_stage == 3 or (exact and precision != "fp32"):
        try:
            return _fp32_masters(step_dir), "fp32-master"
        except Exception as err:  # DeepSpeed raises many types on odd layouts
            if zero_stage == 3:
                raise CheckpointError(f"{step_dir}: cannot consolidate ZeRO-3: {err}") from err
            log.warning("%s: no fp32 masters (%s); using the module weights", step_dir, err)
    files = sorted(step_dir.glob("mp_rank_*_model_states.pt"))
    if not files:
        raise CheckpointError(f"{step_dir}: no DeepSpeed model states (mp_rank_*_model_states.pt)")
    module = torch.load(files[0], map_location="cpu", weights_only=False)["module"]
    cast = (lambda v: v) if keep_dtype else _fp32
    return {k: cast(v) for k, v in module.items() if v is not None}, "module"


def _fp32_masters(step_dir: Path) -> dict[str, Any]:
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

    with contextlib.redirect_stdout(io.StringIO()):  # it prints progress lines
        state = get_fp32_state_dict_from_zero_checkpoint(str(step_dir.parent), tag=step_dir.name)
    return {k: _fp32(v) for k, v in state.items()}


def _fp32(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.float() if tensor.is_floating_point() else tensor
