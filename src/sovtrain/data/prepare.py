"""`sovtrain data prepare`: corpus -> tokenizer -> packed shards, incrementally.

The output is keyed by a digest of everything that determines it (data and tokenizer
sections, seq_len, seed, format version). Re-running with the same key finds a verified
manifest and does nothing, so `train` can call this unconditionally.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from sovtrain import storage
from sovtrain.data import fertility, shards, synth, tokenizer
from sovtrain.data.clean import Cleaner, batched, cleaning_digest
from sovtrain.data.reference_text import REFERENCE_TEXT
from sovtrain.data.sources import expand, read_source
from sovtrain.data.spool import Spool
from sovtrain.errors import DataError
from sovtrain.recipe.schema import FilesSource, Recipe

log = logging.getLogger(__name__)
FORMAT_VERSION = 2
_BATCH = 512
_FERTILITY_CHARS = 2_000_000  # held-out characters per language measured


@dataclass(frozen=True)
class PreparedData:
    tokenizer_uri: str
    shards_uri: str
    manifest: dict[str, Any]
    manifest_digest: str
    reused: bool


def prepare_key(recipe: Recipe) -> str:
    """Digest of every input that changes the prepared bytes."""
    material = {
        "format": FORMAT_VERSION,
        "generator": synth.GENERATOR_VERSION,
        "seed": recipe.run.seed,
        "seq_len": recipe.train.seq_len,
        "data": recipe.data.model_dump(mode="json", exclude={"prepared_uri", "workers"}),
        "inputs": _input_fingerprints(recipe),
        "tokenizer": recipe.tokenizer.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _input_fingerprints(recipe: Recipe) -> dict[str, list[str]]:
    """Size + modification time / ETag of every input file: an edited input means a rebuild."""
    return {
        source.name: [storage.fingerprint(uri, purpose="raw-data") for uri in expand(source.uri)]
        for source in recipe.data.sources
        if isinstance(source, FilesSource)
    }


def prepared_locations(recipe: Recipe) -> tuple[str, str]:
    base = recipe.data.prepared_uri
    return storage.join(base, "tokenizer"), storage.join(base, "shards")


def prepare(recipe: Recipe, show_progress: bool = True) -> PreparedData:
    """Build (or reuse) the tokenizer and shards the recipe trains on.

    Three streaming passes over a local spool of cleaned documents (see `spool.py`):
    clean once, sample to train the tokenizer (+ fertility), tokenize and pack.
    """
    if recipe.finetune is not None:  # chat examples on the base model's tokenizer
        from sovtrain.data.sft import prepare_sft
        from sovtrain.model.init import resolve_base

        base = resolve_base(recipe.model.init_from or "", pick_checkpoint=False)
        return prepare_sft(recipe, base.tokenizer_uri, show_progress)
    tok_uri, shard_uri = prepared_locations(recipe)
    key = prepare_key(recipe)
    existing = reusable_manifest(shard_uri, key)
    if existing is not None:
        log.info("prepared data at %s is up to date (key %s)", shard_uri, key[:12])
        return PreparedData(tok_uri, shard_uri, existing, shards.manifest_digest(shard_uri), True)

    lineage = tuple(sorted({source.card for source in recipe.data.sources}))
    scratch_root = shards.cache_root() / "scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prepare-", dir=scratch_root) as scratch:
        spool = Spool(storage.join(scratch, "cleaned.jsonl"), recipe.data.heldout_fraction, lineage)
        cleaner, source_counts = _clean_into(spool, recipe, show_progress)
        log.info("training byte-level BPE (vocab %d) on %d cleaned documents",
                 recipe.tokenizer.vocab_size, spool.documents)  # fmt: skip
        bpe = tokenizer.train_bpe(
            spool.sample_texts(recipe.tokenizer.train_chars),
            recipe.tokenizer.vocab_size,
            recipe.tokenizer.special_tokens,
        )
        tok_digest = tokenizer.save_hf(bpe, tok_uri, recipe.tokenizer.special_tokens)
        report = _fertility(recipe, bpe, spool)
        writers = _pack(spool, bpe, recipe, shard_uri, lineage, show_progress)

    manifest = {
        "prepare_key": key,
        "format": FORMAT_VERSION,
        "seq_len": recipe.train.seq_len,
        "dtype": shards.token_dtype(bpe.get_vocab_size()).str,
        "vocab_size": bpe.get_vocab_size(),
        "eos_id": bpe.token_to_id(tokenizer.EOS_TOKEN),
        "tokenizer_digest": tok_digest,
        "sources": [source.model_dump(mode="json") for source in recipe.data.sources],
        "source_rows": source_counts,
        "cleaning_digest": cleaning_digest(recipe.data.cleaning),
        "cleaning_report": cleaner.report.as_dict(),
        "fertility": report,
        "shards": [s for key in sorted(writers) for s in writers[key].close()],
        "counts": merge_counts(writers),
    }
    for split in shards.SPLITS:
        if shards.summarize(manifest["shards"], split) == 0:
            raise DataError(
                f"the {split} split has no full {recipe.train.seq_len}-token sequence: "
                "add documents to data.sources or raise data.heldout_fraction"
            )
    digest = shards.write_manifest(shard_uri, manifest, lineage)
    return PreparedData(tok_uri, shard_uri, manifest, digest, False)


def _clean_into(
    spool: Spool, recipe: Recipe, show_progress: bool
) -> tuple[Cleaner, dict[str, dict[str, int]]]:
    """Pass 1: read every source, clean, spool. Returns the cleaner (its report) and the
    per-source row counts (rows read, rows dropped by the source's filters)."""
    cleaner = Cleaner(recipe.data.cleaning)
    workers = recipe.data.workers or min(os.cpu_count() or 1, 8)
    counts: dict[str, dict[str, int]] = {}
    with spool, _progress(show_progress) as progress:
        task = progress.add_task("reading and cleaning", total=None)
        for source in recipe.data.sources:
            rows = read_source(source, recipe.run.seed, counts.setdefault(source.name, {}))
            for record in cleaner.parallel(rows, workers):
                spool.add(record)
                progress.advance(task)
    return cleaner, counts


def _pack(
    spool: Spool,
    bpe: Any,
    recipe: Recipe,
    shard_uri: str,
    lineage: tuple[str, ...],
    show_progress: bool,
) -> dict[tuple[str, str], shards.ShardWriter]:
    """Pass 3: tokenize the spool in batches (the Rust tokenizer uses every core) and pack
    each document, EOS-terminated, into its split x domain/language bucket."""
    eos_id = bpe.token_to_id(tokenizer.EOS_TOKEN)
    if eos_id is None:
        raise DataError(f"tokenizer.special_tokens must include {tokenizer.EOS_TOKEN}")
    dtype = shards.token_dtype(bpe.get_vocab_size())
    writers: dict[tuple[str, str], shards.ShardWriter] = {}
    with _progress(show_progress) as progress:
        task = progress.add_task("tokenizing and packing", total=spool.documents)
        for batch in batched(spool.records(), _BATCH):
            encodings = bpe.encode_batch([record.text for _, record in batch])
            for (split, doc), enc in zip(batch, encodings, strict=True):
                bucket = f"{doc.domain}/{doc.lang}"
                if (split, bucket) not in writers:
                    writers[split, bucket] = shards.ShardWriter(
                        shard_uri, split, bucket, recipe.train.seq_len, dtype,
                        recipe.data.shard_sequences, lineage,
                    )  # fmt: skip
                writers[split, bucket].add([*enc.ids, eos_id], doc.source, doc.lang)
            progress.advance(task, len(batch))
    return writers


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), disable=not show, transient=True,
    )  # fmt: skip


def _fertility(recipe: Recipe, bpe: Any, spool: Spool) -> dict[str, Any]:
    """Fertility on held-out documents and on hand-written reference text, vs a BPE of the
    same size trained on English only (the tokenizer a monolingual stack would ship)."""
    if not recipe.tokenizer.fertility_report or "en" not in spool.languages("train"):
        return {}
    log.info("training the English-only baseline BPE for the fertility report")
    baseline = fertility.english_baseline(  # streamed: train_chars can be 2e9 characters
        spool.sample_texts(recipe.tokenizer.train_chars, lang="en"),
        recipe.tokenizer.vocab_size,
        recipe.tokenizer.special_tokens,
    )
    budgets = {("heldout", lang): _FERTILITY_CHARS for lang in spool.languages("heldout")}
    samples = spool.sample_groups(budgets)  # one pass for every language, not one each
    by_lang = {lang: texts for (_, lang), texts in samples.items()}
    return {
        "heldout": [f.as_dict() for f in fertility.measure(bpe, baseline, by_lang)],
        "reference": [f.as_dict() for f in fertility.measure(bpe, baseline, REFERENCE_TEXT)],
    }


def merge_counts(writers: dict[tuple[str, str], shards.ShardWriter]) -> dict[str, Any]:
    """split -> source -> language -> {documents, tokens}."""
    merged: dict[str, Any] = {split: {} for split in shards.SPLITS}
    for (split, _), w in sorted(writers.items()):
        for source, langs in w.counts.items():
            for lang, c in langs.items():
                slot = (
                    merged[split]
                    .setdefault(source, {})
                    .setdefault(lang, {"documents": 0, "tokens": 0})
                )
                slot["documents"] += c["documents"]
                slot["tokens"] += c["tokens"]
    return merged


def reusable_manifest(shard_uri: str, key: str) -> dict[str, Any] | None:
    try:
        manifest = shards.read_manifest(shard_uri)
    except DataError:
        return None
    if manifest.get("prepare_key") != key:
        return None
    try:
        shards.verify_shards(shard_uri, manifest)
    except (DataError, FileNotFoundError) as err:
        log.warning("rebuilding prepared data: %s", err)
        return None
    return manifest
