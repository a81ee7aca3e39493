"""Typer argument and option types shared by the command groups, so `--set` and `--cluster`
read and behave the same in `sovtrain train`, `data`, `residency`, `eval`, `export` and
`slurm`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

RecipeArg = Annotated[Path, typer.Argument(help="Recipe YAML file (see recipes/).")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field: --set train.optimizer.lr=3e-4 (repeatable)."),
]
ClusterOpt = Annotated[
    str,
    typer.Option(
        "--cluster",
        help="Cluster profile the work runs on, for residency admission "
        "(slurm/clusters/NAME.yaml or a path); default $SOVTRAIN_CLUSTER or 'local'.",
    ),
]
SlurmClusterOpt = Annotated[
    str, typer.Option("--cluster", help="Cluster profile: slurm/clusters/NAME.yaml or a path.")
]


def default_cluster() -> str:
    """The profile a command without --cluster runs on."""
    return os.environ.get("SOVTRAIN_CLUSTER", "local")
