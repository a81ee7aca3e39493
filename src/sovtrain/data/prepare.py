"""`sovtrain data prepare`: corpus -> tokenizer -> packed shards, incrementally.

The output is keyed by a digest of everything that determines it (data and tokenizer
sections, seq_len, seed, format version). Re-running with the same key finds a verified
manifest and does nothing, so `train` can call this unconditionally.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.progress import Progress

from sovtrain import storage
from sovtrain.data import shards, synth, tokenizer
from sovtrain.errors import DataError
from sovtrain.recipe.schema import Recipe

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
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
        "seed": recipe.run.seed,
        "seq_len": recipe.train.seq_len,
        "data": recipe.data.model_dump(mode="json", exclude={"prepared_uri"}),
        "tokenizer": recipe.tokenizer.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


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

    source = recipe.data.source
    lineage = (source.card,)
    docs = list(
        synth.generate(source.domain, recipe.run.seed, source.documents, list(source.languages))
    )
    heldout = _heldout_ids(docs, recipe.data.heldout_fraction)
    train_docs = [d for d in docs if d.doc_id not in heldout]

    log.info("training byte-level BPE (vocab %d)", recipe.tokenizer.vocab_size)
    bpe = tokenizer.train_bpe(
        _sample_texts(train_docs, recipe.tokenizer.train_chars),
        recipe.tokenizer.vocab_size,
        recipe.tokenizer.special_tokens,
    )
    tok_digest = tokenizer.save_hf(bpe, tok_uri, recipe.tokenizer.special_tokens)
    eos_id = bpe.token_to_id(tokenizer.EOS_TOKEN)
    if eos_id is None:
        raise DataError(f"special tokens must include {tokenizer.EOS_TOKEN}")

    dtype = shards.token_dtype(bpe.get_vocab_size())
    writers = {
        split: shards.ShardWriter(
            shard_uri, split, recipe.train.seq_len, dtype, recipe.data.shard_sequences, lineage
        )
        for split in shards.SPLITS
    }
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("tokenizing and packing", total=len(docs))
        for batch in _batches(docs, _BATCH):
            encodings = bpe.encode_batch([d.text for d in batch])
            for doc, enc in zip(batch, encodings, strict=True):
                split = "heldout" if doc.doc_id in heldout else "train"
                writers[split].add([*enc.ids, eos_id], doc.lang)
            progress.advance(task, len(batch))

    manifest = {
        "prepare_key": key,
        "format": FORMAT_VERSION,
        "seq_len": recipe.train.seq_len,
        "dtype": dtype.str,
        "vocab_size": bpe.get_vocab_size(),
        "eos_id": eos_id,
        "tokenizer_digest": tok_digest,
        "sources": [source.model_dump(mode="json")],
        "shards": [s for split in shards.SPLITS for s in writers[split].close()],
        "tokens_by_lang": {split: writers[split].tokens_by_lang for split in shards.SPLITS},
    }
    for split in shards.SPLITS:
        if shards.summarize(manifest["shards"], split) == 0:
            raise DataError(
                f"the {split} split has no full {recipe.train.seq_len}-token sequence: "
                "raise data.source.documents or data.heldout_fraction"
            )
    digest = shards.write_manifest(shard_uri, manifest, lineage)
    return PreparedData(tok_uri, shard_uri, manifest, digest, False)


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


def _heldout_ids(docs: list[synth.Document], fraction: float) -> set[str]:
    """Held-out by document id, so all language renderings of a document share a split."""
    cut = int(fraction * 10_000)
    return {d.doc_id for d in docs if zlib.crc32(d.doc_id.encode()) % 10_000 < cut}


def _sample_texts(docs: list[synth.Document], max_chars: int) -> Iterator[str]:
    used = 0
    for doc in docs:
        if used >= max_chars:
            return
        used += len(doc.text)
        yield doc.text


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
