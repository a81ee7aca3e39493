"""`sovtrain` command line: thin typer commands over the packages.

Exit codes: 0 ok, 2 bad input, 3 refused by policy, 4 training diverged, 75 checkpointed on a
scheduler signal (run again or requeue to continue).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sovtrain.cli.cards import cards_app
from sovtrain.cli.evaluate import ask_command, eval_command
from sovtrain.cli.export import export_command
from sovtrain.cli.governance import audit_app, residency_app
from sovtrain.cli.options import ClusterOpt, RecipeArg, SetOpt, default_cluster
from sovtrain.cli.slurm import slurm_app
from sovtrain.cli.tracking import tracking_app
from sovtrain.core.errors import Preempted, SovtrainError

app = typer.Typer(
    help="sovtrain: train bilingual sovereign domain models from one recipe.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
recipe_app = typer.Typer(help="Validate and inspect recipes.", no_args_is_help=True)
data_app = typer.Typer(help="Prepare tokenizer and packed token shards.", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")
app.add_typer(data_app, name="data")
app.add_typer(cards_app, name="cards", help="Validate, approve and report on data cards.")
app.add_typer(residency_app, name="residency")
app.add_typer(audit_app, name="audit")
app.add_typer(slurm_app, name="slurm")
app.add_typer(tracking_app, name="tracking")
app.command("eval")(eval_command)
app.command("ask")(ask_command)
app.command("export")(export_command)
console = Console(stderr=True, soft_wrap=True)  # paths in messages stay copyable


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


def _load(recipe: Path, overrides: list[str] | None):
    from sovtrain.recipe import load_recipe

    return load_recipe(recipe, overrides or [])


@recipe_app.command("validate")
def recipe_validate(recipe: RecipeArg, set_: SetOpt = None) -> None:
    """Check a recipe against the schema; print its digest if valid."""
    loaded = _load(recipe, set_)
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
    typer.echo(_load(recipe, set_).resolved_yaml())


@data_app.command("prepare")
def data_prepare(recipe: RecipeArg, set_: SetOpt = None, cluster: ClusterOpt = "") -> None:
    """Generate/read the corpus, train the tokenizer, pack shards (no-op when up to date).

    The residency admission check runs first: a refused job reads nothing.
    """
    from sovtrain.data.prepare import prepare
    from sovtrain.governance.admission import enforce

    loaded = _load(recipe, set_)
    enforce(loaded.recipe, cluster or default_cluster(), f"{loaded.recipe.run.name}/prepare")
    prepared = prepare(loaded.recipe)
    verb = "reused" if prepared.reused else "wrote"
    counts = {s: 0 for s in ("train", "heldout")}
    for shard in prepared.manifest["shards"]:
        counts[shard["split"]] += shard["sequences"]
    console.print(
        f"{verb} {prepared.shards_uri}: {counts['train']} train / {counts['heldout']} held-out "
        f"sequences of {prepared.manifest['seq_len']} tokens; tokenizer {prepared.tokenizer_uri}"
    )
    for kind, rows in prepared.manifest.get("fertility", {}).items():
        for row in rows:
            console.print(
                f"fertility {kind:>9} {row['lang']:>7}: {row['tokens_per_char']:.3f} tokens/char"
                f" = {row['ratio_vs_english_only']:.2f}x English-only BPE"
                f" ({'ok' if row['within_target'] else 'ABOVE TARGET'})",
                highlight=False,
            )


@data_app.command("generate")
def data_generate(
    domain: Annotated[str, typer.Argument(help="Corpus: finance, logistics or hk-bank-comms.")],
    out: Annotated[str, typer.Argument(help="Output directory or storage URI.")],
    documents: Annotated[
        int | None, typer.Option(help="Parallel documents (one line per language each).")
    ] = None,
    size: Annotated[
        str | None, typer.Option(help="Stop at this much JSON, e.g. 50MB, 2GB.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 0,
) -> None:
    """Write a synthetic bilingual corpus as JSON lines (read it back as a `files` source)."""
    from sovtrain.data.generate import generate_corpus
    from sovtrain_synth import CORPORA

    if domain not in CORPORA:
        raise SovtrainError(f"corpus must be one of {', '.join(CORPORA)}, got {domain!r}")
    if (documents is None) == (size is None):
        raise SovtrainError("give exactly one of --documents or --size")
    corpus = generate_corpus(domain, out, seed, documents, _parse_size(size) if size else None)
    console.print(
        f"wrote {corpus.bytes:,} bytes, {corpus.documents:,} documents "
        f"x {len(CORPORA[domain].languages)} languages, "
        f"in {len(corpus.parts)} part(s) under {corpus.uri}"
    )


def _parse_size(text: str) -> int:
    units = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "B": 1}
    for unit, factor in units.items():
        if text.upper().endswith(unit):
            try:
                return int(float(text[: -len(unit)]) * factor)
            except ValueError:
                break
    raise SovtrainError(f"--size: expected a number with KB, MB or GB, got {text!r}")


@data_app.command("stats")
def data_stats(recipe: RecipeArg, set_: SetOpt = None) -> None:
    """Documents and tokens per split, source and language of the prepared shards."""
    from rich.table import Table

    from sovtrain.data.prepare import prepared_locations
    from sovtrain.data.shards import read_manifest

    _, shards_uri = prepared_locations(_load(recipe, set_).recipe)
    manifest = read_manifest(shards_uri)
    table = Table(title=f"{shards_uri} (seq_len {manifest['seq_len']})")
    for column in ("split", "source", "language", "documents", "tokens", "share"):
        table.add_column(column, justify="right" if column in ("documents", "tokens", "share")
                         else "left")  # fmt: skip
    for split, by_source in manifest["counts"].items():
        total = sum(c["tokens"] for langs in by_source.values() for c in langs.values()) or 1
        for source, langs in sorted(by_source.items()):
            for lang, c in sorted(langs.items()):
                table.add_row(split, source, lang, f"{c['documents']:,}", f"{c['tokens']:,}",
                              f"{100 * c['tokens'] / total:.1f}%")  # fmt: skip
    Console().print(table)
    for c in manifest["cleaning_report"]["stages"]:
        typer.echo(
            f"clean {c['stage']:>12}: {c['docs_in']:>9,} -> {c['docs_out']:>9,} documents, "
            f"{c['chars_in']:>12,} -> {c['chars_out']:>12,} chars"
        )


@app.command()
def train(
    recipe: RecipeArg,
    set_: SetOpt = None,
    resume: Annotated[
        str, typer.Option(help="auto: newest verified checkpoint; never; or a checkpoint URI.")
    ] = "auto",
    nproc: Annotated[
        int, typer.Option(help="Start N local data-parallel processes (via torchrun).")
    ] = 1,
    peak_tflops: Annotated[
        float | None, typer.Option(help="Peak TFLOPS per device for MFU (default: table/probe).")
    ] = None,
    stop_after: Annotated[
        int | None,
        typer.Option(help="Checkpoint and exit after N steps of this invocation; rerun continues."),
    ] = None,
    cluster: ClusterOpt = "",
) -> None:
    """Pre-train a model with DeepSpeed. Rerunning the same command continues the run.

    Residency admission runs before anything starts; every storage access is then checked
    and written to the run's audit log.
    """
    loaded = _load(recipe, set_)  # validate before spawning anything
    from sovtrain.distributed.launch import in_distributed_launch, relaunch_with_torchrun
    from sovtrain.governance.admission import enforce

    cluster = cluster or default_cluster()
    if nproc > 1 and not in_distributed_launch():
        enforce(loaded.recipe, cluster, loaded.recipe.run.name, install=False)
        relaunch_with_torchrun(nproc)
    from sovtrain.train.report import print_summary
    from sovtrain.train.session import run_training

    session, summary = run_training(
        loaded, resume=resume, peak_tflops=peak_tflops, stop_after=stop_after, cluster=cluster
    )
    if session.ctx.is_main:
        print_summary(session, summary)
    if summary.stopped_by and summary.final_step < session.trainer.total_steps:
        _stopped_by_signal(session, summary)


def _stopped_by_signal(session, summary) -> None:
    """Under the sbatch template every rank exits 0 and rank 0 leaves a requeue marker
    (a non-zero rank exit would make `srun --kill-on-bad-exit` kill its peers mid-exit);
    elsewhere exit 75, "checkpointed, run again"."""
    marker = os.environ.get("SOVTRAIN_REQUEUE_FILE")
    if marker:
        if session.ctx.is_main:
            Path(marker).write_text(f"{summary.stopped_by} step {summary.final_step}\n")
        logging.getLogger("sovtrain").warning(
            "%s: checkpointed at step %d; the job requeues itself", summary.stopped_by,
            summary.final_step,
        )  # fmt: skip
        return
    raise Preempted(
        f"{summary.stopped_by}: checkpointed at step {summary.final_step}; "
        "run the same command (or requeue the job) to continue"
    )


@app.command()
def flops(
    recipe: RecipeArg,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    gpus: Annotated[int | None, typer.Option(help="Devices for the wall-time estimate.")] = None,
    device: Annotated[str, typer.Option(help="Device type: h100, h200, h800, h20, ...")] = "h100",
    tokens: Annotated[float | None, typer.Option(help="Training tokens D.")] = None,
    mfu: Annotated[float, typer.Option(help="Assumed model FLOPs utilisation.")] = 0.4,
) -> None:
    """Parameters and training FLOPs per token; with --gpus/--tokens, wall time and GPU-hours."""
    from sovtrain.model.build import build_config
    from sovtrain.model.flops import estimate_wall_time, model_cost
    from sovtrain.model.peak import lookup_tflops

    r = _load(recipe, set_).recipe
    cost = model_cost(build_config(r.model, r.tokenizer.vocab_size), r.train.seq_len)
    out: dict[str, float | int | str] = {
        "params": cost.params,
        "flops_per_token": cost.flops_per_token,
        "seq_len": cost.seq_len,
    }
    if gpus and tokens:
        try:
            peak = lookup_tflops(device, r.train.precision) * 1e12
        except KeyError as err:
            raise SovtrainError(str(err)) from None
        out.update(device=device, gpus=gpus, tokens=tokens, mfu=mfu)
        out.update(estimate_wall_time(cost, tokens, gpus, peak, mfu))
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        text = (
            f"{value:,.4g}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else value
        )
        typer.echo(f"{key:>18}: {text}")


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
