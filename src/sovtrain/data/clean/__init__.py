"""Cleaning: a fixed sequence of stages, each counting documents and characters in and out.

    normalize -> script -> language -> length -> quality -> pii -> exact dedup -> near dedup

The configuration (recipe `data.cleaning`) and the detector version are digested into the
shard manifest, so a shard always says which cleaning produced it.
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TypeVar

from sovtrain.data.clean import pii
from sovtrain.data.clean.dedup import ExactDedup, NearDedup
from sovtrain.data.clean.text import (
    convert_script,
    detect_language,
    nfkc,
    normalize_whitespace,
    text_ratio,
)
from sovtrain.recipe.schema import CleaningSection


@dataclass(frozen=True)
class Record:
    """One document on its way from a source to the tokenizer."""

    doc_id: str
    source: str
    domain: str
    text: str
    lang: str = ""


@dataclass
class StageCount:
    docs_in: int = 0
    docs_out: int = 0
    chars_in: int = 0
    chars_out: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class CleaningReport:
    stages: dict[str, StageCount] = field(default_factory=dict)
    pii_found: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {  # a list, so the pipeline order survives sorted-key JSON
            "stages": [{"stage": name, **count.as_dict()} for name, count in self.stages.items()],
            "pii_found": dict(sorted(self.pii_found.items())),
        }


def cleaning_digest(config: CleaningSection) -> str:
    material = {"config": config.model_dump(mode="json"), "pii": pii.DETECTOR_VERSION}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


Stage = Callable[[Record], Record | None]
T = TypeVar("T")


class Cleaner:
    """Applies the stages to a stream of records; dedup state lives for the whole stream."""

    def __init__(self, config: CleaningSection) -> None:
        self.config = config
        self.report = CleaningReport()
        self._exact = ExactDedup()
        near = config.near_dup
        self._near = NearDedup(near.threshold, near.num_perm, near.ngram) if near.enabled else None
        self._stages: list[tuple[str, Stage]] = [
            ("normalize", self._normalize),
            ("script", self._script),
            ("language", self._language),
            ("length", self._length),
            ("quality", self._quality),
            ("pii", self._pii),
            ("exact_dedup", self._exact_dedup),
            ("near_dedup", self._near_dedup),
        ]
        for name, _ in self._stages:
            self.report.stages[name] = StageCount()
        assert self._stages[_PER_DOCUMENT][0] == "exact_dedup"

    def __call__(self, records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            out = self.clean(record)
            if out is not None:
                yield out

    def clean(self, record: Record, stages: slice = slice(None)) -> Record | None:
        current = record
        for name, stage in self._stages[stages]:
            count = self.report.stages[name]
            count.docs_in += 1
            count.chars_in += len(current.text)
            kept = stage(current)
            if kept is None:
                return None
            current = kept
            count.docs_out += 1
            count.chars_out += len(current.text)
        return current

    def parallel(
        self, records: Iterable[Record], workers: int, chunk: int = 512
    ) -> Iterator[Record]:
        """Like `__call__`, with the per-document stages in `workers` processes.

        Everything before dedup looks at one document at a time, so it fans out; the two
        dedup stages need every earlier document and run here, in input order, so the output
        is identical to the serial run.
        """
        import multiprocessing

        if workers <= 1:
            yield from self(records)
            return
        context = multiprocessing.get_context("spawn")  # never fork a process holding threads
        with context.Pool(workers) as pool:
            # A bounded window of batches in flight: Pool.imap would drain the whole input
            # into its task queue, which for a corpus larger than memory is the bug.
            window: collections.deque = collections.deque()
            for batch in batched(records, chunk):
                window.append(pool.apply_async(_clean_batch, ((self.config, batch),)))
                if len(window) >= 2 * workers:
                    yield from self._finish(window.popleft().get())
            while window:
                yield from self._finish(window.popleft().get())

    def _finish(self, result: tuple[list[Record], dict, dict]) -> Iterator[Record]:
        """Merge one worker batch's counts, then run the dedup stages here, in order."""
        kept, counts, found = result
        for name, count in counts.items():
            mine = self.report.stages[name]
            for key, value in count.items():
                setattr(mine, key, getattr(mine, key) + value)
        for name, n in found.items():
            self.report.pii_found[name] = self.report.pii_found.get(name, 0) + n
        for record in kept:
            out = self.clean(record, slice(_PER_DOCUMENT, None))
            if out is not None:
                yield out

    # -- stages: each returns the (possibly changed) record, or None to drop it
    def _normalize(self, r: Record) -> Record:
        text = nfkc(r.text) if self.config.nfkc else r.text
        text = normalize_whitespace(text) if self.config.normalize_whitespace else text
        return replace(r, text=text)

    def _script(self, r: Record) -> Record:
        return replace(r, text=convert_script(r.text, self.config.script))

    def _language(self, r: Record) -> Record | None:
        lang = detect_language(r.text)
        allowed = self.config.languages
        return replace(r, lang=lang) if allowed is None or lang in allowed else None

    def _length(self, r: Record) -> Record | None:
        return r if self.config.min_chars <= len(r.text) <= self.config.max_chars else None

    def _quality(self, r: Record) -> Record | None:
        return r if text_ratio(r.text) >= self.config.min_text_ratio else None

    def _pii(self, r: Record) -> Record | None:
        settings = self.config.pii
        result = pii.find_and_mask(r.text, tuple(settings.types), mask=settings.action == "mask")
        for name, n in result.found.items():
            self.report.pii_found[name] = self.report.pii_found.get(name, 0) + n
        if result.found and settings.action == "drop":
            return None
        return replace(r, text=result.text)

    def _exact_dedup(self, r: Record) -> Record | None:
        if not self.config.dedup_exact:
            return r
        return None if self._exact.is_duplicate(r.text) else r

    def _near_dedup(self, r: Record) -> Record | None:
        if self._near is None:
            return r
        return None if self._near.is_duplicate(r.text) else r


_PER_DOCUMENT = 6  # stages before exact_dedup look at one document at a time


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """itertools.batched (3.12+) for 3.11, as lists."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _clean_batch(job: tuple[CleaningSection, list[Record]]):
    """Worker: the per-document stages over one batch; returns kept records and counts."""
    config, batch = job
    cleaner = Cleaner(config)
    kept = [r for r in (cleaner.clean(rec, slice(0, _PER_DOCUMENT)) for rec in batch) if r]
    counts = {name: c.as_dict() for name, c in cleaner.report.stages.items() if c.docs_in}
    return kept, counts, cleaner.report.pii_found
