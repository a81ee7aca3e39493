"""Packed token shards: fixed-length sequences in raw little-endian arrays plus a manifest.

Layout under `<prepared_uri>/shards/`:
    train_finance_en_00000.bin ...   row-major [sequences, seq_len] of uint16/uint32, one
                                     (split, domain/language bucket) per file
    manifest.json                    seq_len, dtype, per-shard sha256, bucket and counts

Documents of one bucket are concatenated with an EOS after each, then cut into `seq_len`
rows, so nothing is padded and every token is trained on; keeping buckets apart lets the
loader honour mixture weights by domain x language. The manifest is written last: a shard
set without one is incomplete by definition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.core.paths import cache_root

MANIFEST = "manifest.json"
SPLITS = ("train", "heldout")


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 halves memory and I/O whenever the vocabulary allows it."""
    return np.dtype("<u2") if vocab_size <= 65536 else np.dtype("<u4")


@dataclass
class ShardWriter:
    """Streams token ids into fixed-length rows and flushes full shard files."""

    uri: str
    split: str
    bucket: str  # "domain/lang": rows of one bucket never mix, so a sampler can weight them
    seq_len: int
    dtype: np.dtype
    rows_per_shard: int
    lineage: tuple[str, ...] = ()
    shards: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    _pending: list[int] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list)

    def add(self, token_ids: list[int], source: str, lang: str) -> None:
        """Append one document's tokens (EOS included); count them by source and language."""
        self._pending.extend(token_ids)
        slot = self.counts.setdefault(source, {}).setdefault(lang, {"documents": 0, "tokens": 0})
        slot["documents"] += 1
        slot["tokens"] += len(token_ids)
        while len(self._pending) >= self.seq_len:
            row = np.asarray(self._pending[: self.seq_len], dtype=self.dtype)
            del self._pending[: self.seq_len]
            self._rows.append(row)
            if len(self._rows) == self.rows_per_shard:
                self._flush()

    def add_row(self, row: np.ndarray, source: str, lang: str, documents: int, tokens: int) -> None:
        """Append one ready-made row (chat shards: ids, mask and positions flattened)."""
        slot = self.counts.setdefault(source, {}).setdefault(lang, {"documents": 0, "tokens": 0})
        slot["documents"] += documents
        slot["tokens"] += tokens
        self._rows.append(np.asarray(row, dtype=self.dtype).reshape(-1))
        if len(self._rows) == self.rows_per_shard:
            self._flush()

    def close(self) -> list[dict[str, Any]]:
        """Flush the last partial shard; the tail shorter than one row is dropped."""
        if self._rows:
            self._flush()
        return self.shards

    def _flush(self) -> None:
        data = np.stack(self._rows).tobytes()
        slug = self.bucket.replace("/", "_")
        name = f"{self.split}_{slug}_{len(self.shards):05d}.bin"
        storage.write_bytes_atomic(
            storage.join(self.uri, name), data, purpose="shards", lineage=self.lineage
        )
        self.shards.append(
            {
                "name": name,
                "split": self.split,
                "bucket": self.bucket,
                "sequences": len(self._rows),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
        self._rows = []


def write_manifest(uri: str, manifest: dict[str, Any], lineage: tuple[str, ...] = ()) -> str:
    """Write the manifest last and return its digest (what lineage records point at)."""
    text = json.dumps(manifest, indent=2, sort_keys=True)
    storage.write_text_atomic(storage.join(uri, MANIFEST), text, purpose="shards", lineage=lineage)
    return hashlib.sha256(text.encode()).hexdigest()


def read_manifest(uri: str) -> dict[str, Any]:
    path = storage.join(uri, MANIFEST)
    if not storage.exists(path, purpose="shards"):
        raise DataError(f"no shard manifest at {path}: run `sovtrain data prepare RECIPE` first")
    return json.loads(storage.read_text(path, purpose="shards"))


def manifest_digest(uri: str) -> str:
    text = storage.read_bytes(storage.join(uri, MANIFEST), purpose="shards")
    return hashlib.sha256(text).hexdigest()


def verify_shards(uri: str, manifest: dict[str, Any]) -> None:
    """Re-hash every shard; raise naming the first one whose bytes changed."""
    for shard in manifest["shards"]:
        data = storage.read_bytes(storage.join(uri, shard["name"]), purpose="shards")
        if hashlib.sha256(data).hexdigest() != shard["sha256"]:
            raise DataError(f"shard {shard['name']} in {uri} is corrupt (sha256 mismatch)")


def shard_rows(uri: str, shard: dict[str, Any], seq_len: int, dtype: np.dtype) -> np.ndarray:
    """Memory-map a shard. Remote shards are fetched once into a local cache (named by their
    sha256 and verified on arrival), so every epoch after the first reads local disk."""
    location = storage.join(uri, shard["name"])
    local = storage.local_path(location)
    if local is None:
        local = _cached_copy(location, shard["sha256"])
    else:  # passes the guards before mapping, counted as the file's size
        local = storage.mapped(location, purpose="shards")
    return np.memmap(local, dtype=dtype, mode="r").reshape(-1, seq_len)


def cache_dir() -> Path:
    return cache_root() / "shards"


def _cached_copy(location: str, sha256: str) -> Path:
    target = cache_dir() / sha256[:2] / f"{sha256}.bin"
    if target.exists():
        return target
    data = storage.read_bytes(location, purpose="shards")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise DataError(f"shard {location} is corrupt (sha256 mismatch on download)")
    # the cache is a copy on this machine's disk: it goes through the door like any write
    storage.write_bytes_atomic(str(target), data, purpose="shard-cache")
    return target


def summarize(shards: Iterable[dict[str, Any]], split: str) -> int:
    return sum(s["sequences"] for s in shards if s["split"] == split)
