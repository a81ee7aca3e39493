"""`sovtrain recipe validate|show`: check a recipe and print it resolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sovtrain.cli.options import RecipeArg, SetOpt, console, load
from sovtrain.core.errors import SovtrainError

recipe_app = typer.Typer(help="Validate and inspect recipes.", no_args_is_help=True)


@recipe_app.command("validate")
def recipe_validate(recipe: RecipeArg, set_: SetOpt = None) -> None:
    """Check a recipe against the schema; print its digest if valid."""
    loaded = load(recipe, set_)
    console.print(f"[green]ok[/green] {recipe} digest={loaded.digest[:16]}")


@recipe_app.command("show")
def recipe_show(
    recipe: Annotated[Path | None, typer.Argument(help="Recipe YAML file.")] = None,
    set_: SetOpt = None,
    schema: Annotated[bool, typer.Option(help="Print the JSON schema instead.")] = False,
) -> None:
    """Print the fully resolved recipe (extends, overrides and defaults applied)."""
    if schema:
        from sovtrain.recipe import Recipe

        typer.echo(json.dumps(Recipe.model_json_schema(), indent=2))
        return
    if recipe is None:
        raise SovtrainError("give a RECIPE, or --schema")
    typer.echo(load(recipe, set_).resolved_yaml())
