"""Deterministic, rank-sharded, resumable reading of packed shards.

The global order is one stream of sequence indices: epoch `e` is a permutation of all train
rows drawn from `seed + e`. Each micro step consumes `micro_batch * world_size` consecutive
stream entries and rank `r` takes its slice. The whole sampler state is therefore one integer,
`position` (stream entries consumed), identical on every rank, which makes resume exact and
cheap to checkpoint.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from sovtrain.core.errors import DataError
from sovtrain.data import shards


class PackedDataset:
    """All rows of one split, addressable by a global row index."""

    def __init__(self, shards_uri: str, split: str) -> None:
        manifest = shards.read_manifest(shards_uri)
        self.seq_len: int = manifest["seq_len"]
        # chat shards store [ids, loss mask, position ids] per row (sovtrain.data.chat)
        self.channels: int = manifest.get("channels", 1)
        self.width = self.seq_len * self.channels
        dtype = np.dtype(manifest["dtype"])
        entries = sorted(
            (s for s in manifest["shards"] if s["split"] == split),
            key=lambda s: (s["bucket"], s["name"]),
        )
        self._arrays = [shards.shard_rows(shards_uri, s, self.width, dtype) for s in entries]
        self._offsets = np.cumsum([0] + [len(a) for a in self._arrays])
        # rows of one bucket are contiguous: bucket -> (first row, end row)
        self.buckets: dict[str, tuple[int, int]] = {}
        for entry, start, end in zip(entries, self._offsets[:-1], self._offsets[1:], strict=True):
            first, _ = self.buckets.get(entry["bucket"], (int(start), 0))
            self.buckets[entry["bucket"]] = (first, int(end))

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Gather rows by global index into one int64 array [len(indices), width]."""
        out = np.empty((len(indices), self.width), dtype=np.int64)
        shard_of = np.searchsorted(self._offsets, indices, side="right") - 1
        for i, (shard, index) in enumerate(zip(shard_of, indices, strict=True)):
            out[i] = self._arrays[shard][index - self._offsets[shard]]
        return out


@dataclass
class StreamSampler:
    """Which rows rank `rank` reads next; `position` is the only state."""

    num_rows: int
    seed: int
    rank: int
    world_size: int
    micro_batch: int
    position: int = 0

    def _epoch_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng(self.seed + epoch).permutation(self.num_rows)

    def next_indices(self) -> np.ndarray:
        """Row indices for this rank's next micro batch; advances the shared stream."""
        start = self.position + self.rank * self.micro_batch
        stream = np.arange(start, start + self.micro_batch)
        epochs, offsets = np.divmod(stream, self.num_rows)
        out = np.empty(self.micro_batch, dtype=np.int64)
        for epoch in np.unique(epochs):
            mask = epochs == epoch
            out[mask] = self._epoch_order(int(epoch))[offsets[mask]]
        self.position += self.micro_batch * self.world_size
        return out


class MixtureSampler:
    """Like `StreamSampler`, but each stream entry first draws a bucket by mixture weight.

    Entry `i`'s bucket comes from a counter-based RNG (block `i // BLOCK` seeded by
    `(seed, block)`), and its row is the k-th of that bucket's own epoch-permuted stream,
    where k counts earlier entries that drew the same bucket. Both are pure functions of
    `i`, so `position` is still the whole state: resume replays the counts vectorised.
    """

    BLOCK = 1 << 16

    def __init__(
        self,
        buckets: dict[str, tuple[int, int]],
        weights: dict[str, float],
        seed: int,
        rank: int,
        world_size: int,
        micro_batch: int,
        position: int = 0,
    ) -> None:
        unknown = sorted(set(weights) - set(buckets))
        if unknown:
            raise DataError(
                f"data.mixture names {unknown}, which have no rows; present: {sorted(buckets)}"
            )
        names = sorted(b for b in weights if weights[b] > 0)
        if not names:
            raise DataError("data.mixture gives no bucket a positive weight")
        self.names = names
        self.ranges = [buckets[n] for n in names]
        total = sum(weights[n] for n in names)
        self._cumulative = np.cumsum([weights[n] / total for n in names])
        self._cumulative[-1] = 1.0
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.micro_batch, self.position = micro_batch, position
        self._block_counts: list[np.ndarray] = [np.zeros(len(names), dtype=np.int64)]
        self._choice_cache: tuple[int, np.ndarray] = (-1, np.empty(0, dtype=np.int64))
        self._orders: dict[tuple[int, int], np.ndarray] = {}

    def _choices(self, block: int) -> np.ndarray:
        if self._choice_cache[0] != block:
            uniforms = np.random.default_rng([self.seed, 7919, block]).random(self.BLOCK)
            self._choice_cache = (block, np.searchsorted(self._cumulative, uniforms, "right"))
        return self._choice_cache[1]

    def _counts_before_block(self, block: int) -> np.ndarray:
        while len(self._block_counts) <= block:
            done = len(self._block_counts) - 1
            counts = np.bincount(self._choices(done), minlength=len(self.names))
            self._block_counts.append(self._block_counts[-1] + counts)
        return self._block_counts[block]

    def _row(self, bucket: int, ordinal: int) -> int:
        start, end = self.ranges[bucket]
        epoch, offset = divmod(ordinal, end - start)
        key = (bucket, epoch)
        if key not in self._orders:
            if len(self._orders) > 2 * len(self.names):
                self._orders.clear()
            rng = np.random.default_rng([self.seed, bucket, epoch])
            self._orders[key] = rng.permutation(end - start)
        return start + int(self._orders[key][offset])

    def next_indices(self) -> np.ndarray:
        start = self.position + self.rank * self.micro_batch
        out = np.empty(self.micro_batch, dtype=np.int64)
        for i, entry in enumerate(range(start, start + self.micro_batch)):
            block, within = divmod(entry, self.BLOCK)
            choices = self._choices(block)
            bucket = int(choices[within])
            ordinal = int(self._counts_before_block(block)[bucket])
            ordinal += int(np.count_nonzero(choices[:within] == bucket))
            out[i] = self._row(bucket, ordinal)
        self.position += self.micro_batch * self.world_size
        return out


class BatchLoader:
    """Yields device tensors of token ids, preparing the next batch while the GPU works.

    A background thread gathers rows into pinned host memory; the copy to the device is
    non-blocking, so host work overlaps device compute and the hot loop never waits on I/O.
    """

    def __init__(
        self,
        dataset: PackedDataset,
        sampler: StreamSampler | MixtureSampler,
        device: torch.device,
        prefetch: int = 2,
    ) -> None:
        self.dataset = dataset
        self.sampler = sampler
        self.device = device
        self._pin = device.type == "cuda"
        self._queue: queue.Queue[tuple[int, torch.Tensor]] = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, daemon=True)
        self._consumed_position = sampler.position
        self._thread.start()

    @property
    def position(self) -> int:
        """Stream position after the last batch handed out (what a checkpoint must save)."""
        return self._consumed_position

    def _fill(self) -> None:
        while not self._stop.is_set():
            rows = torch.from_numpy(self.dataset.rows(self.sampler.next_indices()))
            if self._pin:
                rows = rows.pin_memory()
            # blocks while the queue is full, with no polling: on a CPU run every wake-up of
            # this thread takes a core from the step's OpenMP threads (`close` unblocks it)
            self._queue.put((self.sampler.position, rows))

    def next(self) -> torch.Tensor:
        position, rows = self._queue.get()
        self._consumed_position = position
        return rows.to(self.device, non_blocking=True)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the filler: draining the queue releases a `put` blocked on it."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()
            self._thread.join(timeout=0.05)


def make_sampler(
    dataset: PackedDataset,
    mixture: dict[str, float] | None,
    seed: int,
    rank: int,
    world_size: int,
    micro_batch: int,
    position: int = 0,
) -> StreamSampler | MixtureSampler:
    """Natural proportions (every row equally likely) unless the recipe sets a mixture."""
    if mixture is None:
        return StreamSampler(len(dataset), seed, rank, world_size, micro_batch, position)
    return MixtureSampler(dataset.buckets, mixture, seed, rank, world_size, micro_batch, position)


def fixed_batches(
    dataset: PackedDataset, rank: int, world_size: int, micro_batch: int, count: int
) -> Iterator[tuple[np.ndarray, bool]]:
    """Held-out micro batches 0..count-1, the same rows every time and at any world size
    (eval loss stays comparable across steps and across a resume on another world size).

    Micro batch `i` is rows `[i * micro_batch, (i + 1) * micro_batch)`; rank `r` takes
    `r, r + world_size, ...`. Every rank runs the same number of forward passes (ZeRO-3
    gathers parameters in each), so when `count` does not divide evenly the last round is
    padded: those batches come with `False` and must not be counted."""
    rounds = -(-count // world_size)
    for step in range(rounds):
        index = step * world_size + rank
        start = (index * micro_batch) % max(len(dataset), 1)
        indices = (np.arange(start, start + micro_batch)) % len(dataset)
        yield dataset.rows(indices), index < count
