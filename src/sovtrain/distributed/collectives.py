"""Collectives that are no-ops in a world of one, so callers never test for a process group.

`torch.distributed` raises when no group is initialised; code that runs both under a launcher
and in a plain `python` process (tests, `sovtrain eval`, export) used to guard every call with
`world_size > 1 and dist.is_initialized()`. These helpers are that guard, once.

Every helper takes an optional `group`: `None` is the default (world) group, a process group
from `new_host_group` carries small host-side agreements, and `ALONE` says "this caller acts
by itself even inside a launched job" (a checkpoint store opened with `world_size=1` by
export or `slurm status`): with it every helper is the world-of-one no-op.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


class _Alone:
    def __repr__(self) -> str:
        return "ALONE"


ALONE: Final = _Alone()


def is_distributed() -> bool:
    """True when a process group with more than one rank is up."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _together(group: Any) -> bool:
    return group is not ALONE and is_distributed()


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def all_reduce_sum(tensor: torch.Tensor, group: Any = None) -> torch.Tensor:
    """Sum `tensor` over the ranks in place (unchanged alone) and return it."""
    if _together(group):
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
    return tensor


def barrier(group: Any = None) -> None:
    if _together(group):
        dist.barrier(group=group)


def broadcast_object(value: T, src: int = 0, group: Any = None) -> T:
    """Rank `src`'s `value` on every rank (itself alone)."""
    if not _together(group):
        return value
    box = [value]
    dist.broadcast_object_list(box, src=src, group=group)
    return box[0]


def all_gather_object(value: T, group: Any = None) -> list[T]:
    """Every rank's `value`, in rank order, on every rank (`[value]` alone)."""
    if not _together(group):
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size(group=group)
    dist.all_gather_object(gathered, value, group=group)
    return gathered


def any_rank(flag: bool, group: Any = None) -> bool:
    """True on every rank when `flag` is true on any rank.

    The flag travels as a one-element CPU tensor, so on a gloo group (`new_host_group`) the
    agreement is a few bytes over the host network and never waits for the device's queue
    to drain; the training loop can afford it every step.
    """
    if not _together(group):
        return flag
    box = torch.tensor([int(flag)], dtype=torch.int32)
    dist.all_reduce(box, op=dist.ReduceOp.MAX, group=group)
    return bool(box.item())


def new_host_group(backend: str, timeout: timedelta | None = None) -> Any:
    """A gloo group over all ranks for host-side flags, or `None` (the default group) when
    the default is already gloo or the world is one; every rank must call it, once."""
    if backend == "gloo" or not is_distributed():
        return None
    return dist.new_group(backend="gloo", timeout=timeout)


def set_timeout(seconds: float, host_group: Any = None) -> None:
    """Bound every later collective on the default group (and `host_group`) by `seconds`.

    Why after set-up and not at init: set-up has long one-off waits (rank 0 preparing data
    or verifying checkpoints while the others sit in a barrier) that a training-sized bound
    would kill; the loop's collectives are short. torchtitan lowers its timeout after the
    first step for the same reason. A no-op alone.
    """
    if not is_distributed():
        return
    from torch.distributed.distributed_c10d import _set_pg_timeout

    bound = timedelta(seconds=seconds)
    for group in {id(g): g for g in (None, host_group)}.values():
        _set_pg_timeout(bound, group)


def broadcast_tensor(tensor: torch.Tensor, src: int = 0, group: Any = None) -> torch.Tensor:
    """Rank `src`'s values into `tensor` on every rank, in place (unchanged alone)."""
    if _together(group):
        dist.broadcast(tensor, src=src, group=group)
    return tensor
