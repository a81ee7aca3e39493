"""Deterministic, rank-sharded, resumable reading of packed shards.

The global order is one stream of sequence indices: epoch `e` is a permutation of all train
rows drawn from `seed + e`. Each micro step consumes `micro_batch * world_size` consecutive
stream entries and rank `r` takes its slice. The whole sampler state is therefore one integer,
`position` (stream entries consumed), identical on every rank, which makes resume exact and
cheap to checkpoint.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from sovtrain.data import shards


class PackedDataset:
    """All rows of one split, addressable by a global row index."""

    def __init__(self, shards_uri: str, split: str) -> None:
        manifest = shards.read_manifest(shards_uri)
        self.seq_len: int = manifest["seq_len"]
        dtype = np.dtype(manifest["dtype"])
        entries = [s for s in manifest["shards"] if s["split"] == split]
        self._arrays = [shards.shard_rows(shards_uri, s, self.seq_len, dtype) for s in entries]
        self._offsets = np.cumsum([0] + [len(a) for a in self._arrays])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Gather rows by global index into one int64 array [len(indices), seq_len]."""
        out = np.empty((len(indices), self.seq_len), dtype=np.int64)
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


class BatchLoader:
    """Yields device tensors of token ids, preparing the next batch while the GPU works.

    A background thread gathers rows into pinned host memory; the copy to the device is
    non-blocking, so host work overlaps device compute and the hot loop never waits on I/O.
    """

    def __init__(
        self,
        dataset: PackedDataset,
        sampler: StreamSampler,
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
            item = (self.sampler.position, rows)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue

    def next(self) -> torch.Tensor:
        position, rows = self._queue.get()
        self._consumed_position = position
        return rows.to(self.device, non_blocking=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def fixed_batches(
    dataset: PackedDataset, rank: int, world_size: int, micro_batch: int, count: int
) -> Iterator[np.ndarray]:
    """The same `count` held-out micro batches every time: eval loss is comparable across steps."""
    total = micro_batch * world_size
    for step in range(count):
        start = (step * total + rank * micro_batch) % max(len(dataset), 1)
        indices = (np.arange(start, start + micro_batch)) % len(dataset)
        yield dataset.rows(indices)
