"""`sovtrain data prepare`: corpus -> tokenizer -> packed shards, incrementally.

The tokenizer is a byte-level BPE trained on the corpus, or, when the recipe starts from a
base (`model.init_from`, pre-training or fine-tuning), the base's own tokenizer unchanged:
its ids are what the base's embeddings mean, so documents are tokenized with it and ended
with its EOS, and it is copied next to the shards as is.

The output is keyed by a digest of everything that determines it (data and tokenizer
sections or the base tokenizer's digest, seq_len, seed, format version). Re-running with the
same key finds a verified manifest and does nothing, so `train` can call this
unconditionally.

`PreparedData`, `prepared_locations`, `reusable_manifest` and `merge_counts` live in
`prepared.py`, shared with `sft.py` (which `prepare` hands fine-tuning recipes to); callers
still find them here.
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
from sovtrain.core.errors import DataError
from sovtrain.core.generators import generators
from sovtrain.core.paths import cache_root
from sovtrain.data import deid, fertility, shards, tokenizer
from sovtrain.data.clean import Cleaner, batched, cleaning_digest
from sovtrain.data.prepared import (
    PreparedData,
    merge_counts,
    prepared_locations,
    reusable_manifest,
    transferred,
)
from sovtrain.data.reference_text import REFERENCE_TEXT
from sovtrain.data.sft import prepare_sft
from sovtrain.data.sources import check_card_domains, read_source, source_files
from sovtrain.data.spool import Spool
from sovtrain.recipe.schema import FilesSource, Recipe, SourceSection

log = logging.getLogger(__name__)
FORMAT_VERSION = 2
_BATCH = 512
_FERTILITY_CHARS = 2_000_000  # held-out characters per language measured


def prepare_key(recipe: Recipe, base_tokenizer: str | None = None) -> str:
    """Digest of every input that changes the prepared bytes; `base_tokenizer` is the base
    tokenizer's digest (`tokenizer.base_digest`) when the recipe has `model.init_from`, in
    place of the tokenizer section it does not use."""
    tokenizer_material = (
        {"base": base_tokenizer} if base_tokenizer else recipe.tokenizer.model_dump(mode="json")
    )
    material = {
        "format": FORMAT_VERSION,
        "generator": generators.generator_version(),
        "seed": recipe.run.seed,
        "seq_len": recipe.train.seq_len,
        "data": recipe.data.model_dump(mode="json", exclude={"prepared_uri", "workers"}),
        "inputs": _input_fingerprints(recipe),
        "tokenizer": tokenizer_material,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _input_fingerprints(recipe: Recipe) -> dict[str, list[str]]:
    """Size + modification time / ETag of every input file: an edited input means a rebuild."""
    return {
        source.name: [storage.fingerprint(uri, purpose="raw-data") for uri in source_files(source)]
        for source in recipe.data.sources
        if isinstance(source, FilesSource)
    }


@dataclass(frozen=True)
class _Tokenizer:
    """What packing needs: the `tokenizers` core, the id that ends a document, and where it
    came from (a base's tokenizer loaded from `base_uri`, or a BPE trained here)."""

    core: Any
    eos_id: int
    fast: Any = None  # the base's transformers tokenizer, copied as is
    base_uri: str | None = None


def prepare(recipe: Recipe, show_progress: bool = True) -> PreparedData:
    """Build (or reuse) the tokenizer and shards the recipe trains on.

    Three streaming passes over a local spool of cleaned documents (see `spool.py`):
    clean once, sample to train the tokenizer (+ fertility) unless the base brings its
    own, tokenize and pack.
    """
    crossed = transferred(recipe)  # shards moved by `data transfer`: never prepared again
    if crossed is not None:
        return crossed
    base = None
    if recipe.model.init_from:
        from sovtrain.model.init import resolve_base

        base = resolve_base(recipe.model.init_from)
    if recipe.finetune is not None:  # chat examples on the base model's tokenizer
        assert base is not None  # the schema requires init_from with finetune
        return prepare_sft(recipe, base.tokenizer_uri, show_progress, base.lineage)
    check_card_domains(recipe.data.sources)
    tok_uri, shard_uri = prepared_locations(recipe)
    key = prepare_key(recipe, tokenizer.base_digest(base.tokenizer_uri) if base else None)
    existing = reusable_manifest(shard_uri, key)
    if existing is not None:
        log.info("prepared data at %s is up to date (key %s)", shard_uri, key[:12])
        return PreparedData(tok_uri, shard_uri, existing, shards.manifest_digest(shard_uri), True)

    lineage = tuple(sorted({source.card for source in recipe.data.sources}))
    scratch_root = cache_root() / "scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="prepare-", dir=scratch_root) as scratch:
        spool = Spool(storage.join(scratch, "cleaned.jsonl"), recipe.data.heldout_fraction, lineage)
        cleaner, source_counts = _clean_into(spool, recipe, show_progress)
        check_corpus(recipe, spool, source_counts)  # before anything is trained or written
        _log_bad_rows(source_counts)
        tok = _base_tokenizer(base.tokenizer_uri) if base else _train_tokenizer(recipe, spool)
        report = {} if base else _fertility(recipe, tok.core, spool)
        writers = _pack(spool, tok, recipe, shard_uri, lineage, show_progress)
    shard_list = [s for key in sorted(writers) for s in writers[key].close()]
    _check_splits(shard_list, recipe)
    if tok.fast is not None:  # the base's, unchanged; derived from the base's data too
        tok_lineage = tuple(sorted({*lineage, *(base.lineage if base else ())}))
        tok_digest = tokenizer.copy_base(tok.fast, tok_uri, tok_lineage)
    else:
        tok_digest = tokenizer.save_hf(tok.core, tok_uri, recipe.tokenizer.special_tokens)
    manifest = {
        "prepare_key": key,
        "format": FORMAT_VERSION,
        "seq_len": recipe.train.seq_len,
        "dtype": shards.token_dtype(tok.core.get_vocab_size()).str,
        "vocab_size": tok.core.get_vocab_size(),
        "eos_id": tok.eos_id,
        "tokenizer_digest": tok_digest,
        "base_tokenizer": tok.base_uri,
        "sources": [source.model_dump(mode="json") for source in recipe.data.sources],
        "source_rows": source_counts,
        "cleaning_digest": cleaning_digest(recipe.data.cleaning),
        "cleaning_report": cleaner.report.as_dict(),
        "fertility": report,
        "shards": shard_list,
        "counts": merge_counts(writers),
    }
    # evidence over the final shards, decoded by the tokenizer shipped with them
    manifest["deidentification"] = deid.scan_shards(
        shard_uri, manifest, tokenizer.load_hf(tok_uri), recipe.data.cleaning.pii.action,
        show_progress,
    )  # fmt: skip
    digest = shards.write_manifest(shard_uri, manifest, lineage)
    return PreparedData(tok_uri, shard_uri, manifest, digest, False)


def _base_tokenizer(uri: str) -> _Tokenizer:
    """The base's tokenizer as it is: no training, no added tokens, its own EOS."""
    fast = tokenizer.load_hf(uri)
    log.info("tokenizing with the base's tokenizer (%d ids) from %s", len(fast), uri)
    return _Tokenizer(fast.backend_tokenizer, tokenizer.base_eos_id(fast, uri), fast, uri)


def _train_tokenizer(recipe: Recipe, spool: Spool) -> _Tokenizer:
    """Pass 2: a byte-level BPE on a sample of the cleaned corpus."""
    log.info("training byte-level BPE (vocab %d) on %d cleaned documents",
             recipe.tokenizer.vocab_size, spool.documents)  # fmt: skip
    bpe = tokenizer.train_bpe(
        spool.sample_texts(recipe.tokenizer.train_chars),
        recipe.tokenizer.vocab_size,
        recipe.tokenizer.special_tokens,
    )
    eos_id = bpe.token_to_id(tokenizer.EOS_TOKEN)
    if eos_id is None:
        raise DataError(f"tokenizer.special_tokens must include {tokenizer.EOS_TOKEN}")
    return _Tokenizer(bpe, eos_id)


def _check_splits(shard_list: list[dict[str, Any]], recipe: Recipe) -> None:
    """Both splits need a full sequence; checked before the tokenizer and manifest are
    written, so a too-small corpus leaves no tokenizer behind."""
    for split in shards.SPLITS:
        if shards.summarize(shard_list, split) == 0:
            raise DataError(
                f"the {split} split has no full {recipe.train.seq_len}-token sequence: "
                "add documents to data.sources or raise data.heldout_fraction"
            )


def _clean_into(
    spool: Spool, recipe: Recipe, show_progress: bool
) -> tuple[Cleaner, dict[str, dict[str, Any]]]:
    """Pass 1: read every source, clean, spool. Returns the cleaner (its report) and the
    per-source counts: rows read, dropped by the source's filters (`filtered`, and per
    filter `filtered_by`), bad rows skipped, dropped per cleaning stage (`cleaning`) and
    the `documents` spooled."""
    cleaner = Cleaner(recipe.data.cleaning)
    workers = recipe.data.workers or min(os.cpu_count() or 1, 8)
    counts: dict[str, dict[str, Any]] = {}
    with spool, _progress(show_progress) as progress:
        task = progress.add_task("reading and cleaning", total=None)
        for source in recipe.data.sources:
            mine = counts.setdefault(source.name, {})
            before = _stage_drops(cleaner)
            documents = 0
            for record in cleaner.parallel(read_source(source, recipe.run.seed, mine), workers):
                spool.add(record)
                documents += 1
                progress.advance(task)
            after = _stage_drops(cleaner)
            mine["cleaning"] = {k: after[k] - before[k] for k in after if after[k] > before[k]}
            mine["documents"] = documents
    return cleaner, counts


def _stage_drops(cleaner: Cleaner) -> dict[str, int]:
    """Documents each cleaning stage has dropped so far."""
    return {name: c.docs_in - c.docs_out for name, c in cleaner.report.stages.items()}


def check_corpus(recipe: Recipe, spool: Spool, counts: dict[str, dict[str, Any]]) -> None:
    """Refuse to train a tokenizer on nothing: every source must contribute documents and
    both splits must get some. The message says what removed them, per source."""
    empty = [s for s in recipe.data.sources if counts[s.name].get("documents", 0) == 0]
    if empty and len(empty) == len(recipe.data.sources):
        raise DataError(
            "no documents to train on (no tokenizer or shards written): "
            + "; ".join(_source_story(s, counts[s.name]) for s in empty)
        )
    if empty:
        raise DataError(
            f"{len(empty)} source(s) yielded no documents (no tokenizer or shards written): "
            + "; ".join(_source_story(s, counts[s.name]) for s in empty)
        )
    for split in shards.SPLITS:
        if not any(spool.chars[key] for key in spool.chars if key[0] == split):
            raise DataError(
                f"the {split} split got none of the {spool.documents:,} cleaned documents "
                f"(data.heldout_fraction {recipe.data.heldout_fraction}): add documents to "
                "data.sources or change data.heldout_fraction (no tokenizer or shards written)"
            )


def _source_story(source: SourceSection, counts: dict[str, Any]) -> str:
    """`data.sources 'x' (files a/*.jsonl): 120 rows read, 120 removed by row filters
    (desk in ['fx']: 120), 0 bad rows skipped, 0 removed by cleaning, 0 documents left`."""
    origin = source.uri if isinstance(source, FilesSource) else source.kind
    parts = [f"{counts.get('rows', 0):,} rows read"]
    if isinstance(source, FilesSource):
        drops = counts.get("filtered_by", [counts.get("filtered", 0)])
        by_filter = ", ".join(
            f"{f.field} {f.op} {f.value!r}: {n:,}"
            for f, n in zip(source.filters, drops, strict=False)
        )
        parts.append(f"{counts.get('filtered', 0):,} removed by row filters"
                     + (f" ({by_filter})" if by_filter else ""))  # fmt: skip
        parts.append(f"{counts.get('bad_rows', 0):,} bad rows skipped")
    cleaning = counts.get("cleaning", {})
    detail = ", ".join(f"{stage}: {n:,}" for stage, n in cleaning.items())
    parts.append(f"{sum(cleaning.values()):,} removed by data.cleaning"
                 + (f" ({detail})" if detail else ""))  # fmt: skip
    return f"data.sources {source.name!r} ({origin}): " + ", ".join(parts) + ", 0 documents left"


def _log_bad_rows(counts: dict[str, dict[str, Any]]) -> None:
    for name, mine in counts.items():
        if mine.get("bad_rows"):
            log.warning("source %s: skipped %d bad row(s) of %d (on_bad_rows: skip)", name,
                        mine["bad_rows"], mine["rows"])  # fmt: skip


def _pack(
    spool: Spool,
    tok: _Tokenizer,
    recipe: Recipe,
    shard_uri: str,
    lineage: tuple[str, ...],
    show_progress: bool,
) -> dict[tuple[str, str], shards.ShardWriter]:
    """Pass 3: tokenize the spool in batches (the Rust tokenizer uses every core) and pack
    each document, EOS-terminated, into its split x domain/language bucket.

    Documents are encoded as the tokenizer's own `__call__` would (its post-processor
    included, so a base that starts documents with BOS gets it); EOS is appended unless
    the post-processor already ended the document with it."""
    dtype = shards.token_dtype(tok.core.get_vocab_size())
    writers: dict[tuple[str, str], shards.ShardWriter] = {}
    with _progress(show_progress) as progress:
        task = progress.add_task("tokenizing and packing", total=spool.documents)
        for batch in batched(spool.records(), _BATCH):
            encodings = tok.core.encode_batch([record.text for _, record in batch])
            for (split, doc), enc in zip(batch, encodings, strict=True):
                bucket = f"{doc.domain}/{doc.lang}"
                if (split, bucket) not in writers:
                    writers[split, bucket] = shards.ShardWriter(
                        shard_uri, split, bucket, recipe.train.seq_len, dtype,
                        recipe.data.shard_sequences, lineage,
                    )  # fmt: skip
                ids = enc.ids if enc.ids[-1:] == [tok.eos_id] else [*enc.ids, tok.eos_id]
                writers[split, bucket].add(ids, doc.source, doc.lang)
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
