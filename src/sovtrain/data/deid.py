"""De-identification evidence: the PII detector run over the FINAL shards, decoded.

Why the final shards and not the cleaning report: the cleaning report counts what the
cleaner saw, before tokenization, packing and any later stage. What crosses a boundary
under a transfer is the shard bytes, so the evidence a reviewer (and `data transfer`)
relies on is the detector's count over exactly those bytes, decoded back to text with the
tokenizer shipped next to them.

Documents are packed across row (and shard-file) boundaries, so a shard is never scanned
row by row: each (split, bucket)'s shards are decoded in order as one stream, cut only
after an end-of-document token, so a PII string split by a row or file boundary is still
one string to the detector. Chat shards (3 channels) hold whole examples per row: channel
0 (the ids) is decoded with each row's padding tail removed.

The block is stored in the shard manifest under `deidentification` before the manifest is
written, so the manifest digest (what lineage and transfers point at) covers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sovtrain.data import shards
from sovtrain.data.clean import pii

DETECTOR = "sovtrain.data.clean.pii"
SCANNED = "final shards (decoded)"
TYPES: tuple[str, ...] = tuple(sorted(pii.DETECTORS))


def scan_shards(
    shards_uri: str,
    manifest: dict[str, Any],
    tokenizer: Any,
    pii_action: str,
    show_progress: bool = True,
) -> dict[str, Any]:
    """The `deidentification` block for the shards listed in `manifest` (not yet written).

    `tokenizer` is the prepared tokenizer (a transformers tokenizer, or a `tokenizers`
    core: anything with `decode(ids, skip_special_tokens=...)`). Every detector type is
    counted, whatever the recipe's `pii.types`: evidence of zero PII must not depend on
    which types the cleaner was asked to look for. Shards are read through the shard
    reader (`shards.shard_rows`, hence through `sovtrain.storage` and its guards).
    """
    found = dict.fromkeys(TYPES, 0)
    tokens = 0
    entries = manifest["shards"]
    with _progress(show_progress) as progress:
        task = progress.add_task("scanning shards for PII", total=len(entries))
        for ids in _streams(shards_uri, manifest, progress, task):
            tokens += len(ids)
            if not ids:
                continue
            text = _decode(tokenizer, ids)
            for name, count in pii.find_and_mask(text, TYPES, mask=False).found.items():
                found[name] += count
    return {
        "detector": DETECTOR,
        "detector_version": pii.DETECTOR_VERSION,
        "scanned": SCANNED,
        "types": list(TYPES),
        "found": found,
        "shards": len(entries),
        "tokens": tokens,
        "pii_action": pii_action,
    }


def _streams(
    shards_uri: str, manifest: dict[str, Any], progress: Progress, task: Any
) -> Iterator[list[int]]:
    """Token-id runs to decode, each made of whole documents (pre-training: cut after an
    EOS, the rest carried into the bucket's next shard) or whole chat rows."""
    seq_len, channels = int(manifest["seq_len"]), int(manifest.get("channels", 1))
    dtype = np.dtype(manifest["dtype"])
    eos = manifest.get("eos_id")
    pad = manifest.get("pad_id")
    carry: dict[tuple[str, str], list[int]] = {}
    for shard in _in_stream_order(manifest["shards"]):
        rows = shards.shard_rows(shards_uri, shard, seq_len * channels, dtype)
        if channels > 1:
            yield _chat_ids(rows, seq_len, pad)
        else:
            slot = (shard["split"], shard["bucket"])
            ids = carry.pop(slot, []) + rows.reshape(-1).tolist()
            cut = _after_last(ids, eos)
            carry[slot] = ids[cut:]
            yield ids[:cut]
        progress.advance(task)
    yield from (rest for rest in carry.values() if rest)


def _in_stream_order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shards of one (split, bucket) in the order they were written (their names number
    them), so the carried tail of one is followed by the head of the next."""
    return sorted(entries, key=lambda s: (s["split"], s["bucket"], s["name"]))


def _after_last(ids: list[int], eos: int | None) -> int:
    """Index just after the last EOS (0 when none: the whole run is carried on)."""
    if eos is None:
        return len(ids)
    for index in range(len(ids) - 1, -1, -1):
        if ids[index] == eos:
            return index + 1
    return 0


def _chat_ids(rows: np.ndarray, seq_len: int, pad: int | None) -> list[int]:
    """Channel 0 of each [ids, mask, positions] row, its padding tail dropped, in order.

    Padding is the tail after the row's last example, where the loss mask is 0 and the
    pad id repeats; trimming trailing pad ids removes it (at worst also a final EOS when
    the pad id is the EOS, which only separates examples)."""
    out: list[int] = []
    for row in rows.reshape(len(rows), -1, seq_len):
        ids = row[0].tolist()
        end = len(ids)
        while pad is not None and end and ids[end - 1] == pad:
            end -= 1
        out += ids[:end]
    return out


def _decode(tokenizer: Any, ids: list[int]) -> str:
    """Special tokens kept: they separate documents, so text of two documents is never
    glued into one spurious identifier."""
    try:
        return str(tokenizer.decode(ids, skip_special_tokens=False,
                                    clean_up_tokenization_spaces=False))  # fmt: skip
    except TypeError:  # a `tokenizers` core takes no clean_up argument
        return str(tokenizer.decode(ids, skip_special_tokens=False))


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), disable=not show, transient=True,
    )  # fmt: skip
