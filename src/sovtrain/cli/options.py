"""Typer argument and option types shared by the command groups, so `--set` and `--cluster`
read and behave the same in `sovtrain train`, `data`, `residency`, `eval`, `export` and
`slurm`."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sovtrain.recipe.load import LoadedRecipe

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


# every command's messages go to stderr; soft_wrap: paths in messages stay copyable
console = Console(stderr=True, soft_wrap=True)


def load(recipe: Path, overrides: list[str] | None) -> LoadedRecipe:
    """The recipe, validated, with `--set` overrides applied (before anything is spawned)."""
    from sovtrain.recipe import load_recipe

    return load_recipe(recipe, overrides or [])


class ReportFormat(StrEnum):
    md = "md"
    html = "html"


# the governance reports' shared options (`cards report`, `audit report`)
ReportFormatOpt = Annotated[
    ReportFormat, typer.Option("--format", "-f", help="md (Markdown) or html (standalone).")
]
ReportOutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write the report to FILE instead of stdout.", metavar="FILE"
    ),
]


def emit_report(text: str, output: Path | None, fmt: ReportFormat) -> None:
    """A rendered report to stdout, or to FILE with one line on stderr saying so."""
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output} ({fmt.value}, {len(text):,} characters)", err=True)
