"""`sovtrain train --nproc N` on one machine: re-exec ourselves under torchrun.

On a cluster the launcher is `srun` (one task per GPU, see slurm/); this exists so a laptop,
a single GPU box and CI start N data-parallel processes with the same command.
"""

from __future__ import annotations

import os
import sys

from sovtrain.train.dist import _free_port, detect_launcher


def in_distributed_launch() -> bool:
    return detect_launcher()[0] != "single"


def strip_option(argv: list[str], name: str) -> list[str]:
    """Remove `--name V` / `--name=V` from argv."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(f"{name}="):
            out.append(arg)
    return out


def relaunch_with_torchrun(nproc: int) -> None:
    """Replace this process with `torchrun --nproc_per_node N -m sovtrain.cli <same args>`."""
    args = strip_option(sys.argv[1:], "--nproc")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(nproc),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "sovtrain.cli",
        *args,
    ]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    sys.stdout.flush()
    os.execvpe(sys.executable, command, env)
