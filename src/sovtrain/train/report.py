"""The end-of-run summary a person reads: losses, throughput, MFU, where things are."""

from __future__ import annotations

import math

from rich.console import Console

from sovtrain import storage
from sovtrain.recipe.schema import Recipe
from sovtrain.train.energy import kwh
from sovtrain.train.loop import RunSummary
from sovtrain.train.session import Session


def summary_rows(session: Session, summary: RunSummary) -> list[tuple[str, str]]:
    recipe = session.loaded.recipe
    tracking_uri = getattr(session.tracker, "tracking_uri", None)
    run_id = session.tracker.run_id or "(tracking disabled)"
    ckpt = summary.last_checkpoint.uri if summary.last_checkpoint else "(none written)"
    rows = [
        (
            "run",
            f"{recipe.run.name} ({session.ctx.world_size} process(es), "
            f"ZeRO-{recipe.deepspeed.zero_stage}, {_switches(recipe)})",
        ),
        ("steps", f"{summary.final_step} ({summary.tokens_seen:,} tokens)"),
        (
            "final train loss",
            f"{summary.train_loss:.4f}  (ln(vocab) = {math.log(_vocab_size(session)):.2f})",
        ),
        eval_row(summary),
        *(row for hook in session.trainer.hooks.hooks for row in hook.summary_rows()),
        ("throughput", f"{summary.tokens_per_s:,.0f} tokens/s"),
        mfu_row(session, summary),
        *energy_rows(summary, session.admission.site.cluster.pue),
        ("checkpoint", ckpt),
        ("MLflow run", run_id),
    ]
    if tracking_uri:
        rows.append(("MLflow UI", f"mlflow ui --backend-store-uri {tracking_uri}"))
    if storage.local_path(recipe.run.output_uri) is not None:
        rows.append(("output", str(storage.local_path(recipe.run.output_uri))))
    return rows


def mfu_row(session: Session, summary: RunSummary) -> tuple[str, str]:
    """Both conventions (`model/flops.py`); an fp8 run's peak is the bf16 one, and says so."""
    train = session.loaded.recipe.train
    peak = f"{session.peak / 1e12:.3g} TFLOPS/device"
    if train.precision == "fp8":
        peak += " (the bf16 peak: fp8 is measured against it)"
    both = f"{100 * summary.mfu:.1f}% (full attention), {100 * summary.mfu_causal:.1f}% causal"
    return "MFU", f"{both}, of {peak}"


def eval_row(summary: RunSummary) -> tuple[str, str]:
    """The final held-out loss; for a run from a base, next to the base's own at step 0, so
    the row says whether training helped (and a fine-tune that made it worse shows)."""
    at = f" (step {summary.eval_step})" if summary.eval_step is not None else ""
    final = f"{summary.eval_loss:.4f}{at}"
    if math.isnan(summary.eval_loss_before):
        return "final eval loss", final
    return "eval loss", f"{summary.eval_loss_before:.4f} (base, step 0) -> {final}"


def energy_rows(summary: RunSummary, pue: float) -> list[tuple[str, str]]:
    """`energy  X kWh (X kWh x PUE p = Z kWh at the site)` when this invocation measured
    GPU energy; no row at all otherwise (a CPU run has no energy figure, not a zero one).
    Z is the sum of each window's joules times the PUE of the site it ran at, so a run
    resumed on another site is still right; `pue` is this invocation's site."""
    if summary.energy_j is None:
        return []
    total, site = kwh(summary.energy_j), kwh(summary.energy_site_j or summary.energy_j * pue)
    text = f"{total:.4g} kWh ({total:.4g} kWh x PUE {pue:g} = {site:.4g} kWh at the site)"
    if summary.energy_site_j is not None and abs(site - total * pue) > 1e-9 * max(site, 1):
        text = f"{total:.4g} kWh ({site:.4g} kWh at the sites, PUE {pue:g} here)"
    invocation = summary.energy_invocation_j
    if invocation is not None and abs(invocation - summary.energy_j) > 1e-6:
        text += f"; this invocation {kwh(invocation):.4g} kWh"
    return [("energy", text)]


def print_summary(session: Session, summary: RunSummary) -> None:
    """Plain `key: value` lines under a rule: readable in a terminal, in Slurm logs, and the
    MLflow UI command stays copyable (a table would wrap it)."""
    console = Console(soft_wrap=True)
    console.rule("sovtrain run summary", align="left")
    rows = summary_rows(session, summary)
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        console.print(f"{key:>{width}}  {value}", markup=False, highlight=False)


def _vocab_size(session: Session) -> int:
    module = session.trainer.engine.module
    return int(module.config.vocab_size)  # a peft wrapper forwards .config to its base


def _switches(recipe: Recipe) -> str:
    """Precision and the speed switches that are on, e.g. `fp8 rowwise, liger, compiled`."""
    train = recipe.train
    parts = [f"fp8 {train.fp8_recipe}" if train.precision == "fp8" else train.precision]
    if recipe.model.kernels != "none":
        parts.append(recipe.model.kernels)
    if train.compile:
        parts.append("compiled")
    return ", ".join(parts)
