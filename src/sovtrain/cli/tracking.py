"""`sovtrain tracking ...`: what an MLflow outage left behind, replayed when it is over."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

tracking_app = typer.Typer(
    help="Experiment tracking: replay records an MLflow outage left behind.",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True)  # paths in messages stay copyable


@tracking_app.command("sync")
def tracking_sync(
    run_dir: Annotated[
        str, typer.Argument(help="The run's output directory (or URI), or its backlog file.")
    ],
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="Send to this MLflow instead of the one recorded in the backlog."),
    ] = None,
) -> None:
    """Replay a run's tracking backlog into MLflow, in order, without duplicating a point.

    Safe to interrupt and rerun: it continues after the last acknowledged batch. The run's
    final status is set last, when the training process could not set it itself.
    """
    from sovtrain.tracking.sync import sync

    results = sync(run_dir, tracking_uri)
    if not results:
        console.print(f"{run_dir}: no tracking backlog, nothing to sync", highlight=False)
    for result in results:
        statuses = ", ".join(f"run {run} {status}" for run, status in result.statuses.items())
        dropped = f", {result.dropped} refused by the server" if result.dropped else ""
        console.print(
            f"replayed {result.records} records ({result.points} metric points{dropped}) from "
            f"{result.backlog} to {result.tracking_uri}" + (f"; {statuses}" if statuses else ""),
            highlight=False,
        )
