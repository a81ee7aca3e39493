"""`sovtrain export`: a run or checkpoint -> a Hugging Face model directory (local or s3://).

Residency is checked before any weight is read: the run's recipe is admitted again on this
compute site (its cards still approved, this site allowed to process them), the destination
must be a region where artifacts derived from all of the run's data may be stored, and the
guard stays installed so every read and upload of the export is decided and audited. The
export's audit records go to their own chained log next to the run's (`export-audit.jsonl`):
appending to the run's `audit.jsonl` would move its head away from the `audit.head` tag the
training run published.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sovtrain.cli.options import ClusterOpt, default_cluster

console = Console(stderr=True, soft_wrap=True)  # paths in messages stay copyable


def guard_export(recipe: Any, out: str, cluster: str, job: str) -> Any:
    """Admit the run's recipe on `cluster`, refuse a destination outside the regions its
    data allows, then install (and return) the storage guard for the export."""
    from sovtrain import storage
    from sovtrain.core.errors import PolicyRefused
    from sovtrain.governance.admission import ResidencyGuard, admit, audit_path, decide
    from sovtrain.governance.audit import AuditLog

    today = dt.date.today()
    admission = admit(recipe, cluster, today)
    admission.decisions += decide(
        admission.site, admission.cards, out, "write", "export", admission.lineage, today
    )
    run_log = audit_path(recipe, 0)
    audit = AuditLog(run_log.with_name("export-audit.jsonl"), job=job)
    for decision in admission.decisions:
        audit.append(decision.as_record())
    refused = admission.refusals()
    if refused:
        raise PolicyRefused("\n".join(d.refusal() for d in refused))
    storage.set_endpoints(admission.site.endpoints())
    guard = ResidencyGuard(admission, audit, today)
    storage.add_guard(guard)
    return guard


def use_site_endpoints(cluster: str) -> None:
    """Buckets to the S3 endpoints the site's policy names, before anything is read."""
    from sovtrain import storage
    from sovtrain.governance.sites import load_site

    storage.set_endpoints(load_site(cluster).endpoints())


def _echo_weights_digest(result: Any) -> None:
    """The one line a reviewer checks: the weights file's sha256, or for shards the digest
    of their sha256sum listing (`sha256sum model-*.safetensors | sha256sum`)."""
    names = result.weights_files
    if len(names) == 1:
        typer.echo(f"sha256({names[0]}) = {result.weights_sha256}")
    elif names:
        typer.echo(f"sha256(sha256sum model-*.safetensors) = {result.weights_sha256}")


def export_command(
    source: Annotated[str, typer.Argument(help="A run directory or a checkpoint directory.")],
    out: Annotated[str, typer.Argument(help="New output directory or storage URI.")],
    format: Annotated[str, typer.Option("--format", help="Export format: hf.")] = "hf",
    adapter_only: Annotated[
        bool, typer.Option(help="LoRA runs: write the peft adapter instead of merged weights.")
    ] = False,
    dtype: Annotated[
        str,
        typer.Option(
            help="Dtype of the written weights: bf16, fp32, or auto (bf16 if the run trained "
            "in bf16, else fp32). config.json's dtype says the same."
        ),
    ] = "auto",
    max_shard_size: Annotated[
        str,
        typer.Option(
            help="Largest safetensors file, e.g. 5GB, 500MB, 200KB; bigger models are "
            "written as shards with model.safetensors.index.json."
        ),
    ] = "5GB",
    cluster: ClusterOpt = "",
    register: Annotated[
        str,
        typer.Option(
            help="Also register the export in the MLflow model registry under this name "
            "(a version pointing at OUT, tagged with the run's lineage; nothing is copied)."
        ),
    ] = "",
) -> None:
    """Export a verified checkpoint as safetensors + tokenizer + model card (README.md)."""
    from sovtrain.core.errors import SovtrainError
    from sovtrain.export.hf import export_hf, run_recipe_of
    from sovtrain.export.weights_out import export_dtype, parse_size

    if format != "hf":
        raise SovtrainError(f"--format: only 'hf' is supported, got {format!r}")
    parse_size(max_shard_size)  # bad options fail before admission and reading weights
    export_dtype(dtype, "fp32")
    cluster = cluster or default_cluster()
    use_site_endpoints(cluster)  # the run may be in a bucket served by another endpoint
    recipe = run_recipe_of(source)
    guard = guard_export(recipe, out, cluster, f"{recipe.run.name}/export")
    try:
        result = export_hf(
            source, out, merge_lora=not adapter_only, dtype=dtype, max_shard_size=max_shard_size
        )
    finally:  # what the export read and wrote, per region and purpose, closes its log
        guard.finish()
    typer.echo(
        f"exported step {result.step} ({result.kind}, {result.params:,} parameters, "
        f"{result.dtype}, weights from {result.weights_from}) to {result.out_uri}"
    )
    for name in result.files:
        typer.echo(f"  {name:<32} {result.sha256[name]}")
    _echo_weights_digest(result)
    if register:
        from sovtrain.export.registry import register_export
        from sovtrain.governance.lineage import compliance_tags

        entry = register_export(recipe, result, register, compliance_tags(guard.admission))
        typer.echo(f"registered {entry.name} version {entry.version} -> {entry.source} "
                   f"({entry.tracking_uri})")  # fmt: skip
    if result.kind != "adapter" and Path(result.out_uri).is_dir():
        console.print(f"try: sovtrain ask {result.out_uri} 'What is a letter of credit?'")
