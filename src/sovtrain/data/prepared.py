"""What `data prepare` leaves behind, for both of its kinds (pre-training and chat shards):
where it lives, the result handed to training, whether a previous run's output can be
reused, and the per-source counts its manifest carries.

Its own module because `prepare` (documents) and `sft` (chats) both build on it, and
`prepare` dispatches to `sft`: kept in either one, the two would import each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.data import shards
from sovtrain.recipe.schema import Recipe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedData:
    tokenizer_uri: str
    shards_uri: str
    manifest: dict[str, Any]
    manifest_digest: str
    reused: bool


def prepared_locations(recipe: Recipe) -> tuple[str, str]:
    base = recipe.data.prepared_uri
    return storage.join(base, "tokenizer"), storage.join(base, "shards")


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
    if "deidentification" not in manifest:  # older than the evidence a transfer requires
        log.info("rebuilding prepared data at %s: it predates de-identification evidence",
                 shard_uri)  # fmt: skip
        return None
    try:
        shards.verify_shards(shard_uri, manifest)
    except (DataError, FileNotFoundError) as err:
        log.warning("rebuilding prepared data: %s", err)
        return None
    return manifest


def transferred(recipe: Recipe) -> PreparedData | None:
    """Shards that crossed under a governed transfer (`data transfer` wrote `transfer.json`
    beside them): used as they are, never prepared again here, since preparing would read the
    raw data, which stays in its own region. Every shard is re-hashed against the manifest,
    the manifest against the transfer record, and the recipe must name the same cards."""
    from sovtrain.governance.transfer import input_cards, manifest_sha256, read_record

    record = read_record(recipe.data.prepared_uri)
    if record is None:
        return None
    tok_uri, shard_uri = prepared_locations(recipe)
    manifest = shards.read_manifest(shard_uri)
    digest = manifest_sha256(recipe.data.prepared_uri)
    if digest != record.get("manifest_digest"):
        raise DataError(f"{shard_uri}: the shard manifest changed since transfer "
                        f"{record.get('transfer_id')} (sha256 {digest})")  # fmt: skip
    shards.verify_shards(shard_uri, manifest)
    named = tuple(sorted({source.card for source in recipe.data.sources}))
    if named != input_cards(manifest):
        raise DataError(f"{shard_uri}: transferred shards of {', '.join(input_cards(manifest))}; "
                        f"the recipe's sources name {', '.join(named)}")  # fmt: skip
    log.info("prepared data at %s crossed under transfer %s: used as transferred", shard_uri,
             record.get("transfer_id"))  # fmt: skip
    assert digest is not None
    return PreparedData(tok_uri, shard_uri, manifest, digest, True)
