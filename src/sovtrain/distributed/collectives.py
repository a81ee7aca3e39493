"""Collectives that are no-ops in a world of one, so callers never test for a process group.

`torch.distributed` raises when no group is initialised; code that runs both under a launcher
and in a plain `python` process (tests, `sovtrain eval`, export) used to guard every call with
`world_size > 1 and dist.is_initialized()`. These helpers are that guard, once.
"""

from __future__ import annotations

from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


def is_distributed() -> bool:
    """True when a process group with more than one rank is up."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def all_reduce_sum(tensor: torch.Tensor, group: Any = None) -> torch.Tensor:
    """Sum `tensor` over the ranks in place (unchanged alone) and return it."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
    return tensor


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def broadcast_object(value: T, src: int = 0) -> T:
    """Rank `src`'s `value` on every rank (itself alone)."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=src)
    return box[0]
