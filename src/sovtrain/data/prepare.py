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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.progress import Progress

from sovtrain import storage
from sovtrain.data import fertility, shards, synth, tokenizer
from sovtrain.data.clean import Cleaner, Record, cleaning_digest
from sovtrain.data.reference_text import REFERENCE_TEXT
from sovtrain.data.sources import expand, read_source
from sovtrain.errors import DataError
from sovtrain.recipe.schema import FilesSource, Recipe

log = logging.getLogger(__name__)
FORMAT_VERSION = 2
_BATCH = 512


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
    """Build (or reuse) the tokenizer and shards the recipe trains on."""
    tok_uri, shard_uri = prepared_locations(recipe)
    key = prepare_key(recipe)
    existing = _reusable_manifest(shard_uri, key)
    if existing is not None:
        log.info("prepared data at %s is up to date (key %s)", shard_uri, key[:12])
        return PreparedData(tok_uri, shard_uri, existing, shards.manifest_digest(shard_uri), True)

    sources = recipe.data.sources
    lineage = tuple(sorted({source.card for source in sources}))
    cleaner = Cleaner(recipe.data.cleaning)
    workers = recipe.data.workers or min(os.cpu_count() or 1, 8)
    docs = [
        record
        for source in sources
        for record in cleaner.parallel(read_source(source, recipe.run.seed), workers)
    ]
    heldout = _heldout_ids(docs, recipe.data.heldout_fraction)
    train_docs = [d for d in docs if d.doc_id not in heldout]

    log.info("training byte-level BPE (vocab %d)", recipe.tokenizer.vocab_size)
    bpe = tokenizer.train_bpe(
        _sample_texts(train_docs, recipe.tokenizer.train_chars),
        recipe.tokenizer.vocab_size,
        recipe.tokenizer.special_tokens,
    )
    tok_digest = tokenizer.save_hf(bpe, tok_uri, recipe.tokenizer.special_tokens)
    report = _fertility(recipe, bpe, train_docs, [d for d in docs if d.doc_id in heldout])
    eos_id = bpe.token_to_id(tokenizer.EOS_TOKEN)
    if eos_id is None:
        raise DataError(f"special tokens must include {tokenizer.EOS_TOKEN}")

    dtype = shards.token_dtype(bpe.get_vocab_size())
    writers: dict[tuple[str, str], shards.ShardWriter] = {}

    def writer(split: str, bucket: str) -> shards.ShardWriter:
        if (split, bucket) not in writers:
            writers[split, bucket] = shards.ShardWriter(
                shard_uri, split, bucket, recipe.train.seq_len, dtype,
                recipe.data.shard_sequences, lineage,
            )  # fmt: skip
        return writers[split, bucket]

    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("tokenizing and packing", total=len(docs))
        for batch in _batches(docs, _BATCH):
            encodings = bpe.encode_batch([d.text for d in batch])
            for doc, enc in zip(batch, encodings, strict=True):
                split = "heldout" if doc.doc_id in heldout else "train"
                writer(split, f"{doc.domain}/{doc.lang}").add(
                    [*enc.ids, eos_id], doc.source, doc.lang
                )
            progress.advance(task, len(batch))

    manifest = {
        "prepare_key": key,
        "format": FORMAT_VERSION,
        "seq_len": recipe.train.seq_len,
        "dtype": dtype.str,
        "vocab_size": bpe.get_vocab_size(),
        "eos_id": eos_id,
        "tokenizer_digest": tok_digest,
        "sources": [source.model_dump(mode="json") for source in sources],
        "cleaning_digest": cleaning_digest(recipe.data.cleaning),
        "cleaning_report": cleaner.report.as_dict(),
        "fertility": report,
        "shards": [s for key in sorted(writers) for s in writers[key].close()],
        "counts": _merge_counts(writers),
    }
    for split in shards.SPLITS:
        if shards.summarize(manifest["shards"], split) == 0:
            raise DataError(
                f"the {split} split has no full {recipe.train.seq_len}-token sequence: "
                "add documents to data.sources or raise data.heldout_fraction"
            )
    digest = shards.write_manifest(shard_uri, manifest, lineage)
    return PreparedData(tok_uri, shard_uri, manifest, digest, False)


def _fertility(
    recipe: Recipe, bpe: Any, train_docs: list[Record], heldout_docs: list[Record]
) -> dict[str, Any]:
    """Fertility on held-out documents and on hand-written reference text, vs English-only."""
    if not recipe.tokenizer.fertility_report:
        return {}
    english = [d for d in train_docs if d.lang == "en"]
    if not english:
        return {}
    log.info("training the English-only baseline BPE for the fertility report")
    baseline = fertility.english_baseline(
        _sample_texts(english, recipe.tokenizer.train_chars),
        recipe.tokenizer.vocab_size,
        recipe.tokenizer.special_tokens,
    )
    by_lang: dict[str, list[str]] = {}
    for doc in heldout_docs:
        by_lang.setdefault(doc.lang, []).append(doc.text)
    return {
        "heldout": [f.as_dict() for f in fertility.measure(bpe, baseline, by_lang)],
        "reference": [f.as_dict() for f in fertility.measure(bpe, baseline, REFERENCE_TEXT)],
    }


def _merge_counts(writers: dict[tuple[str, str], shards.ShardWriter]) -> dict[str, Any]:
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


def _reusable_manifest(shard_uri: str, key: str) -> dict[str, Any] | None:
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


def _heldout_ids(docs: list[Record], fraction: float) -> set[str]:
    """Held-out by document id, so all language renderings of a document share a split."""
    cut = int(fraction * 10_000)
    return {d.doc_id for d in docs if zlib.crc32(d.doc_id.encode()) % 10_000 < cut}


def _sample_texts(docs: list[Record], max_chars: int) -> Iterator[str]:
    used = 0
    for doc in docs:
        if used >= max_chars:
            return
        used += len(doc.text)
        yield doc.text


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
