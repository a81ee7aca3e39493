"""Write a synthetic corpus to JSON-lines files: kilobytes for a test, gigabytes for a bench.

Output is split into parts of `part_bytes` so large corpora stream through the storage layer
and can be read back in parallel as a `files` source (`uri: OUT/*.jsonl`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from rich.progress import Progress

from sovtrain import storage
from sovtrain.core.generators import Corpus, generators


@dataclass(frozen=True)
class GeneratedCorpus:
    uri: str
    parts: list[str]
    documents: int
    bytes: int


def _lines(corpus: Corpus, seed: int, documents: int | None) -> Iterator[tuple[str, int]]:
    """(JSON line, document ordinal): a line per language per document; None is endless."""
    start, batch = 0, 10_000
    while documents is None or start < documents:
        count = batch if documents is None else min(batch, documents - start)
        # one generator per batch keeps memory flat; the batch seed is derived from the
        # corpus seed, so the whole stream is still a pure function of (corpus, seed)
        ordinal, last_id = start - 1, None
        for doc in corpus.generate(seed * 1_000_003 + start // batch, count, None):
            if doc.doc_id != last_id:
                ordinal, last_id = ordinal + 1, doc.doc_id
            row = {"id": f"{doc.doc_id}-b{start // batch}", "lang": doc.lang,
                   "domain": doc.domain, "kind": doc.kind, "text": doc.text}  # fmt: skip
            yield json.dumps(row, ensure_ascii=False) + "\n", ordinal
        start += count


def generate_corpus(
    domain: str,
    out_uri: str,
    seed: int,
    documents: int | None = None,
    max_bytes: int | None = None,
    part_bytes: int = 64 << 20,
    show_progress: bool = True,
) -> GeneratedCorpus:
    """Generate until `documents` parallel documents or `max_bytes` of JSON lines, in parts.

    `domain` is a generated corpus's name (`registry.generators`: `finance`, `logistics`,
    `hk-bank-comms`); it names the part files, while each row's `domain` field is the corpus's
    domain. Each document is written in the corpus's own languages (two for hk-bank-comms,
    three otherwise).
    """
    corpora = generators.corpora()
    if domain not in corpora:
        missing = generators.missing_note()
        raise ValueError(f"unknown corpus {domain!r}; expected one of {sorted(corpora)}"
                         + (f" ({missing})" if missing else ""))  # fmt: skip
    if documents is None and max_bytes is None:
        raise ValueError("give documents or max_bytes")
    parts: list[str] = []
    buffer: list[str] = []
    size = written = 0
    last_index = -1

    def flush() -> None:
        nonlocal size
        uri = storage.join(out_uri, f"{domain}-{len(parts):05d}.jsonl")
        storage.write_text_atomic(uri, "".join(buffer), purpose="raw-data")
        parts.append(uri)
        buffer.clear()
        size = 0

    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task(f"generating {domain}", total=max_bytes or documents)
        for line, index in _lines(corpora[domain], seed, documents):
            encoded = len(line.encode())
            if max_bytes is not None and written + encoded > max_bytes:
                break
            buffer.append(line)
            size += encoded
            written += encoded
            last_index = index
            progress.update(task, completed=written if max_bytes else index + 1)
            if size >= part_bytes:
                flush()
    if buffer:
        flush()
    return GeneratedCorpus(out_uri, parts, last_index + 1, written)
