"""`sovtrain`: the command table. Each noun's commands live in their own module here and call
the package that owns the work; this file only maps names to them, sets up logging and turns a
`SovtrainError` into its exit code.

Exit codes: 0 ok, 2 bad input, 3 refused by policy, 4 training diverged, 75 checkpointed on a
scheduler signal (run again or requeue to continue).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

import typer

from sovtrain.cli.cards import cards_app
from sovtrain.cli.data import data_app
from sovtrain.cli.evaluate import ask_command, eval_command
from sovtrain.cli.export import export_command
from sovtrain.cli.governance import audit_app, residency_app
from sovtrain.cli.options import console
from sovtrain.cli.plan import plan_command
from sovtrain.cli.recipe import recipe_app
from sovtrain.cli.slurm import slurm_app
from sovtrain.cli.tracking import tracking_app
from sovtrain.cli.train import flops, train
from sovtrain.core.errors import SovtrainError

app = typer.Typer(
    help="sovtrain: train bilingual sovereign domain models from one recipe.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# noun -> command group, verb -> command: `sovtrain NOUN VERB ...` and `sovtrain VERB ...`
GROUPS: dict[str, typer.Typer] = {
    "recipe": recipe_app,
    "data": data_app,
    "cards": cards_app,
    "residency": residency_app,
    "audit": audit_app,
    "slurm": slurm_app,
    "tracking": tracking_app,
}
COMMANDS: dict[str, Callable[..., None]] = {
    "train": train,
    "flops": flops,
    "plan": plan_command,
    "eval": eval_command,
    "ask": ask_command,
    "export": export_command,
}
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
for _name, _command in COMMANDS.items():
    app.command(_name)(_command)


def _setup_logging() -> None:
    """Concise logs: INFO from rank 0 only, libraries at WARNING, plain lines when piped."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")  # skips DeepSpeed's probing warning
    rank = int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")))
    level = logging.INFO if rank == 0 else logging.WARNING
    if console.is_terminal:
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=console, show_path=False, markup=False)
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler(sys.stderr)
        fmt = f"%(asctime)s [rank {rank}] %(levelname)s %(message)s"
    logging.basicConfig(level=level, format=fmt, handlers=[handler], force=True)
    for noisy in ("DeepSpeed", "deepspeed", "torch.distributed", "alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    _setup_logging()
    try:
        app()
    except SovtrainError as err:
        from rich.markup import escape

        # soft_wrap: one error stays one line in logs and pipes (grep-able, copyable paths)
        from sovtrain.distributed.launch import record_exit_code

        console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)
        record_exit_code(err.exit_code)  # under `--nproc N`, for the launching parent
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
