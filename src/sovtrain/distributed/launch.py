"""`sovtrain train --nproc N` on one machine: run ourselves under torchrun.

On a cluster the launcher is `srun` (one task per GPU, see slurm/); this exists so a laptop,
a single GPU box and CI start N data-parallel processes with the same command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from sovtrain.distributed.context import _free_port, detect_launcher


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


EXIT_DIR_ENV = "SOVTRAIN_EXIT_DIR"
_FORWARDED = (signal.SIGTERM, signal.SIGUSR1)


def relaunch_with_torchrun(nproc: int) -> NoReturn:
    """Run `torchrun --nproc_per_node N -m sovtrain.cli <same args>` and exit with the
    workers' own exit code.

    Why not exec: torchrun reports any failed worker as 1, and the exit code is the contract
    (2 bad input, 3 refused by policy, 4 diverged, 75 checkpointed on a signal). Each worker
    records its code in SOVTRAIN_EXIT_DIR (`record_exit_code`); we exit with rank 0's, or
    the lowest rank's that recorded one. SIGTERM and SIGUSR1 sent to us go to torchrun.
    """
    args = strip_option(sys.argv[1:], "--nproc")
    command = [
        sys.executable, "-m", "sovtrain.distributed.launch", "--nproc_per_node", str(nproc),
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        "-m", "sovtrain.cli", *args,
    ]  # fmt: skip
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="sovtrain-exit-") as exits:
        env[EXIT_DIR_ENV] = exits
        proc = subprocess.Popen(command, env=env)
        for signum in _FORWARDED:
            signal.signal(signum, lambda sig, _frame: proc.send_signal(sig))
        while True:
            try:
                returncode = proc.wait()
                break
            except KeyboardInterrupt:  # the terminal sent SIGINT to torchrun too: wait for it
                continue
        code = worker_exit_code(Path(exits), returncode)
    sys.exit(code)


def record_exit_code(code: int) -> None:
    """Called by a worker that exits with a sovtrain error code, for the launching parent."""
    exits = os.environ.get(EXIT_DIR_ENV)
    if exits and Path(exits).is_dir():
        rank = int(os.environ.get("RANK", "0"))
        (Path(exits) / f"rank{rank:05d}").write_text(str(code))


def worker_exit_code(exits: Path, returncode: int) -> int:
    """Rank 0's recorded code, else the lowest rank's, else torchrun's own."""
    if returncode == 0:
        return 0
    recorded = sorted(exits.glob("rank*"))
    return int(recorded[0].read_text()) if recorded else returncode


def torchrun(argv: list[str]) -> None:
    """torchrun, minus its traceback: a failed worker has already printed its one-line
    error; torchrun's ChildFailedError would bury it under a stack of launcher frames."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    try:
        run(parse_args(argv))
    except ChildFailedError as err:
        for rank, failure in sorted(err.failures.items()):
            print(f"torchrun: rank {rank} exited with code {failure.exitcode}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    torchrun(sys.argv[1:])
