"""A spool of cleaned documents on local scratch disk, so `prepare` never holds a corpus.

Preparing needs three looks at the cleaned corpus (sample it to train the tokenizer, measure
fertility, tokenize and pack everything), and cleaning is the expensive, stateful part
(dedup). So cleaning runs once, writing JSON lines here; the later passes stream them back.
Memory stays bounded by the dedup state, whatever the corpus size. The spool is written
through `sovtrain.storage` like every other byte, carrying the sources' lineage.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

from sovtrain import storage
from sovtrain.data.clean import Record

_PURPOSE = "scratch"


def is_heldout(doc_id: str, fraction: float) -> bool:
    """By document id, so all language renderings of one document share a split."""
    return zlib.crc32(doc_id.encode()) % 10_000 < int(fraction * 10_000)


def _rate(budget: int, available: int) -> float:
    """Share of documents to take so that about `budget` of `available` characters come out."""
    return 1.0 if available <= budget else budget / available


def _unit_hash(doc_id: str, salt: str) -> float:
    return zlib.crc32(f"{salt}:{doc_id}".encode()) / 2**32


class Spool:
    """Append cleaned records, then read them back any number of times."""

    def __init__(self, uri: str, heldout_fraction: float, lineage: tuple[str, ...]) -> None:
        self.uri = uri
        self.heldout_fraction = heldout_fraction
        self.lineage = lineage
        self.documents = 0
        self.chars: Counter[tuple[str, str]] = Counter()  # (split, lang) -> characters
        self._context: Any = None
        self._handle: IO[str] | None = None

    def __enter__(self) -> Spool:
        self._context = storage.open_uri(self.uri, "w", purpose=_PURPOSE, lineage=self.lineage)
        self._handle = self._context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)
        self._handle = None

    def add(self, record: Record) -> None:
        assert self._handle is not None, "Spool.add outside `with`"
        row = {"i": record.doc_id, "s": record.source, "d": record.domain,
               "l": record.lang, "t": record.text}  # fmt: skip
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.documents += 1
        self.chars[self.split(record.doc_id), record.lang] += len(record.text)

    def split(self, doc_id: str) -> str:
        return "heldout" if is_heldout(doc_id, self.heldout_fraction) else "train"

    def records(self) -> Iterator[tuple[str, Record]]:
        """(split, record) for every spooled document, in spool order."""
        with storage.open_uri(self.uri, "r", purpose=_PURPOSE, lineage=self.lineage) as handle:
            for line in handle:
                row = json.loads(line)
                record = Record(row["i"], row["s"], row["d"], row["t"], row["l"])
                yield self.split(record.doc_id), record

    def sample_texts(
        self, max_chars: int, split: str = "train", lang: str | None = None, salt: str = "bpe"
    ) -> Iterator[str]:
        """About `max_chars` of text drawn evenly from the whole spool (not its first part).

        Each document is taken with probability budget / available, decided by a hash of its
        id, so the sample is deterministic and spans every source in the mixture.
        """
        available = sum(n for (s, g), n in self.chars.items() if s == split and lang in (None, g))
        rate = _rate(max_chars, available)
        used = 0
        for record_split, record in self.records():
            if record_split != split or (lang is not None and record.lang != lang):
                continue
            if used >= max_chars:
                return
            if rate >= 1.0 or _unit_hash(record.doc_id, salt) < rate:
                used += len(record.text)
                yield record.text

    def sample_groups(
        self, budgets: dict[tuple[str, str], int], salt: str = "bpe"
    ) -> dict[tuple[str, str], list[str]]:
        """`sample_texts` for several (split, lang) groups in one pass over the spool: the
        same documents each group would get alone, without re-reading it once per group."""
        rates = {key: _rate(budget, self.chars.get(key, 0)) for key, budget in budgets.items()}
        samples: dict[tuple[str, str], list[str]] = {key: [] for key in budgets}
        used = dict.fromkeys(budgets, 0)
        open_groups = set(budgets)
        for record_split, record in self.records():
            key = (record_split, record.lang)
            if key not in open_groups:
                continue
            if used[key] >= budgets[key]:
                open_groups.discard(key)
                if not open_groups:
                    break
                continue
            if rates[key] >= 1.0 or _unit_hash(record.doc_id, salt) < rates[key]:
                used[key] += len(record.text)
                samples[key].append(record.text)
        return samples

    def languages(self, split: str) -> list[str]:
        return sorted({g for (s, g) in self.chars if s == split})
