"""Distributed context from whichever launcher started us: torchrun, srun, or nothing.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT. srun sets
SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID; the sbatch template exports MASTER_ADDR (first
host of the allocation) and we derive MASTER_PORT from the job id so concurrent jobs on a node
never collide. A bare `python` run is a world of one.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch

from sovtrain.distributed.collectives import new_host_group


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    launcher: str  # "torchrun" | "srun" | "single"
    device: torch.device
    backend: str
    # small host-side agreements (the stop flag) ride here, never on the NCCL stream:
    # a gloo group beside an NCCL default, None (the default group) when that is gloo
    host_group: Any = field(default=None, compare=False, repr=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def detect_launcher(env: dict[str, str] | None = None) -> tuple[str, int, int, int]:
    """(launcher, rank, world_size, local_rank) from the environment."""
    env = dict(os.environ if env is None else env)
    if "RANK" in env and "WORLD_SIZE" in env:
        return "torchrun", int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0))
    if "SLURM_PROCID" in env and "SLURM_NTASKS" in env and "SLURM_STEP_ID" in env:
        return (
            "srun",
            int(env["SLURM_PROCID"]),
            int(env["SLURM_NTASKS"]),
            int(env.get("SLURM_LOCALID", 0)),
        )
    return "single", 0, 1, 0


def slurm_master_port(job_id: str) -> int:
    """A port in [20000, 40000) derived from the job id: stable across ranks, rarely shared."""
    return 20000 + int(job_id) % 20000


def setup_env() -> tuple[str, int, int, int]:
    """Export the variables torch.distributed expects, whatever the launcher was."""
    launcher, rank, world, local_rank = detect_launcher()
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(local_rank))
    if launcher == "srun":
        os.environ.setdefault(
            "MASTER_ADDR", os.environ.get("SLURM_LAUNCH_NODE_IPADDR", "127.0.0.1")
        )
        os.environ.setdefault("MASTER_PORT", str(slurm_master_port(os.environ["SLURM_JOB_ID"])))
    elif launcher == "single":
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
    return launcher, rank, world, local_rank


SETUP_TIMEOUT_S = 6 * 3600.0


def init_distributed(timeout_s: float = SETUP_TIMEOUT_S) -> DistContext:
    """Initialise the process group (NCCL on GPU, gloo on CPU) and pick this rank's device;
    with NCCL, also the gloo group for host-side flags (created once, by every rank).

    `timeout_s` bounds each collective during set-up (`train.setup_timeout_s`), where one
    rank may work for hours while the others wait; the trainer lowers it to the loop's
    bound once set-up is done (`collectives.set_timeout`)."""
    import deepspeed

    launcher, rank, world, local_rank = setup_env()
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    timeout = timedelta(seconds=timeout_s)
    deepspeed.init_distributed(dist_backend=backend, verbose=False, timeout=timeout)
    host_group = new_host_group(backend, timeout)
    return DistContext(rank, world, local_rank, launcher, device, backend, host_group)
