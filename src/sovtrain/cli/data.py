"""`sovtrain data prepare|generate|stats`: corpus -> tokenizer -> packed shards; a look at them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from sovtrain.cli.options import ClusterOpt, RecipeArg, SetOpt, console, default_cluster, load
from sovtrain.core.errors import SovtrainError

data_app = typer.Typer(help="Prepare tokenizer and packed token shards.", no_args_is_help=True)


@data_app.command("prepare")
def data_prepare(recipe: RecipeArg, set_: SetOpt = None, cluster: ClusterOpt = "") -> None:
    """Generate/read the corpus, train the tokenizer, pack shards (no-op when up to date).

    The residency admission check runs first: a refused job reads nothing.
    """
    from sovtrain import storage
    from sovtrain.data.prepare import prepare
    from sovtrain.governance.admission import enforce

    loaded = load(recipe, set_)
    enforce(loaded.recipe, cluster or default_cluster(), f"{loaded.recipe.run.name}/prepare")
    prepared = prepare(loaded.recipe)
    # the run's home names what prepared it: `audit report` reads a prepare-only run too
    storage.write_text_atomic(storage.join(loaded.recipe.run.output_uri, "recipe.resolved.yaml"),
                              loaded.resolved_yaml(), purpose="artifact")  # fmt: skip
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


@data_app.command("transfer")
def data_transfer(
    prepared: Annotated[str, typer.Argument(help="A prepared directory (tokenizer/, shards/).")],
    dest: Annotated[str, typer.Argument(help="An empty directory or URI in another region.")],
    card: Annotated[
        list[str],
        typer.Option(help="The shards' input card(s), each with a transfer to DEST's region."),
    ],
    purpose: Annotated[
        str,
        typer.Option(
            help="What the destination does with the shards (the transfer must cover it): "
            "processing or storage."
        ),
    ] = "processing",
    cluster: ClusterOpt = "",
) -> None:
    """Copy prepared shards (never raw sources) to another region under a filed transfer.

    Allowed only when every input card has a live transfer naming DEST's region, with its
    mechanism and filing reference, covering PURPOSE and storing derived data there, and the
    shards carry de-identification evidence from preparation (0 detectable PII of the card's
    types). Every file is verified by sha256 after the copy; the decision and the manifest
    digest go to the audit logs of both sides, and DEST/transfer.json is written last.
    Refused (exit 3, the rule named): nothing is copied.
    """
    from sovtrain.data.transfer import transfer_prepared

    result = transfer_prepared(prepared, dest, tuple(card), purpose, cluster or default_cluster())
    record = result.record
    for entry in record["cards"]:
        transfer = entry["transfer"]
        console.print(
            f"{entry['ref']}: {record['source_region']} -> {record['destination_region']} under "
            f"{transfer['mechanism']} (filing {transfer.get('filing_reference') or 'none'}, "
            f"expires {transfer['expires']})", highlight=False,
        )  # fmt: skip
    console.print(
        f"transferred {len(record['files'])} files, {record['bytes']:,} bytes, verified "
        f"(manifest {record['manifest_digest'][:12]}); record {result.record_uri}; audit heads "
        f"{record['audit']['source']['head']} (source), "
        f"{record['audit']['destination']['head']} (destination)", highlight=False,
    )  # fmt: skip


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
    from sovtrain.core.generators import generators
    from sovtrain.data.generate import generate_corpus

    corpora = generators.corpora()
    if not corpora:
        why = generators.missing_note() or "no generator package registered one"
        raise SovtrainError(f"no generated corpora ({why}): install a generator package")
    if domain not in corpora:
        raise SovtrainError(f"corpus must be one of {', '.join(corpora)}, got {domain!r}")
    if (documents is None) == (size is None):
        raise SovtrainError("give exactly one of --documents or --size")
    corpus = generate_corpus(domain, out, seed, documents, _parse_size(size) if size else None)
    console.print(
        f"wrote {corpus.bytes:,} bytes, {corpus.documents:,} documents "
        f"x {len(corpora[domain].languages)} languages, "
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

    _, shards_uri = prepared_locations(load(recipe, set_).recipe)
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
