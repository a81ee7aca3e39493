"""`sovtrain residency ...` and `sovtrain audit ...`: the admission check and the audit log,
for reviewers and for people about to submit a job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sovtrain.cli.options import (
    ClusterOpt,
    RecipeArg,
    ReportFormat,
    ReportFormatOpt,
    ReportOutputOpt,
    default_cluster,
    emit_report,
)
from sovtrain.core.errors import PolicyRefused, SovtrainError

residency_app = typer.Typer(help="Check where a job may run and write.", no_args_is_help=True)
audit_app = typer.Typer(
    help="Verify hash-chained audit logs and report on runs.", no_args_is_help=True
)
out = Console()


@residency_app.command("check")
def residency_check(
    recipe: RecipeArg,
    cluster: ClusterOpt = "",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a recipe field (repeatable).")
    ] = None,
) -> None:
    """Explain, dataset by dataset, whether RECIPE may run on CLUSTER and where outputs may go.

    Exit 0 when admitted, 3 when refused (the refusing rule is named). Nothing is read or
    written; `data prepare`, `train` and Slurm submission run the same check first.
    """
    from sovtrain.governance.admission import admit
    from sovtrain.recipe import load_recipe

    loaded = load_recipe(recipe, set_ or [])
    admission = admit(loaded.recipe, cluster or default_cluster())
    site = admission.site
    table = Table(title=f"{recipe} on {site.cluster.name} (compute region {site.compute_region})")
    for column in ("dataset", "check", "where", "storage region", "rule", "result", "reason"):
        table.add_column(column, overflow="fold")
    for d in admission.decisions:
        result = "[green]allow[/green]" if d.allowed else "[red]DENY[/red]"
        table.add_row(d.dataset, f"{d.action} {d.purpose}", d.uri, d.storage_region or "-",
                      d.rule, result, d.reason)  # fmt: skip
    out.print(table)
    regions = ", ".join(admission.output_regions) or "none"
    out.print(f"outputs derived from these datasets may be stored in: {regions}", highlight=False)
    for mapping in site.policy.storage:
        if mapping.region in admission.output_regions:
            out.print(f"  {mapping.prefix} ({mapping.region})", highlight=False)
    if not admission.allowed:
        raise PolicyRefused("\n".join(d.refusal() for d in admission.refusals()))
    out.print("[green]admitted[/green]")


@audit_app.command("verify")
def audit_verify(
    paths: Annotated[list[Path], typer.Argument(help="audit.jsonl file(s) to check.")],
    head: Annotated[
        str | None,
        typer.Option(help="Expected head 'N:HASH' (the MLflow run's audit.head tag)."),
    ] = None,
) -> None:
    """Check every record's hash and the chain; exit 2 if anything was edited or removed."""
    from sovtrain.governance.audit import verify

    failed = False
    for path in paths:
        if not path.is_file():
            raise SovtrainError(f"{path}: no such audit log")
        result = verify(path, expect_head=head)
        status = "[green]ok[/green]" if result.ok else "[red]TAMPERED[/red]"
        out.print(f"{status} {path}: {result.records} records, {result.denied} denied, "
                  f"head {result.head[:24]}...", highlight=False)  # fmt: skip
        for problem in result.problems:
            out.print(f"  {problem}", highlight=False)
        failed |= not result.ok
    if failed:
        raise SovtrainError("audit verification failed")


@audit_app.command("report")
def audit_report(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run directories (a recipe's run.output_uri, local or s3://), in chain "
            "order: e.g. the prepare run, then the training run.",
            metavar="RUN...",
        ),
    ],
    fmt: ReportFormatOpt = ReportFormat.md,
    output: ReportOutputOpt = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 1 (after writing the report) when any check is FAILED."
        ),
    ] = False,
) -> None:
    """The page a reviewer signs, per run: bytes read and written per region and purpose,
    every refusal, each audit chain verified (and against the run's MLflow `audit.head`),
    the input cards and base model with their digests, the transfer that brought the data
    (both sides' logs, the filing, the de-identification evidence) and where the weights
    are (checkpoints, exports, the model card's weights_storage_regions).

    What a run lacks shows as "none" or "not recorded".
    A chain that does not verify is marked FAILED at the top of the page.
    So is a head that differs from MLflow's, or a transfer record missing from its logs.
    Exit 0: report written, even with FAILED; 1: with --strict, anything FAILED;
    2: a RUN that is not a run directory (no recipe.resolved.yaml).

    Example: sovtrain audit report runs/bank-prepare runs/bank-train -f html -o audit.html
    """
    from sovtrain.governance.audit_gather import build_report
    from sovtrain.governance.audit_report import render

    report = build_report(runs)
    emit_report(render(report, fmt.value), output, fmt)
    for run, failure in report.failed:
        typer.echo(f"FAILED {run.name}: {failure}", err=True)
    if report.failed and strict:
        raise typer.Exit(code=1)
