"""Read a recipe's sources as `Record`s: generated corpora, or files on any storage.

Files are opened only through `sovtrain.storage` (so residency guards see every read) and
parsed here: JSON lines, Parquet (streamed by row group, so large files never sit in memory)
or plain text (one document per blank-line-separated block). `datasets` gets the records
through `IterableDataset.from_generator`, which keeps its map/filter/streaming tools
available without letting it open files behind the storage layer's back.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
from collections.abc import Iterator
from typing import Any

from sovtrain import storage
from sovtrain.data import synth
from sovtrain.data.clean import Record
from sovtrain.errors import DataError
from sovtrain.recipe.schema import FilesSource, SourceSection, SyntheticSource


def read_source(
    source: SourceSection, seed: int, counts: dict[str, int] | None = None
) -> Iterator[Record]:
    """Every document of one source, in a deterministic order.

    `counts`, when given, receives `rows` read and `filtered` (dropped by the source's row
    filters), so the prepare report can say what a filter removed before cleaning saw it.
    """
    counts = counts if counts is not None else {}
    counts.setdefault("rows", 0)
    counts.setdefault("filtered", 0)
    if isinstance(source, SyntheticSource):
        corpus = source.corpus or source.domain
        for doc in synth.generate(corpus, seed, source.documents, list(source.languages)):
            counts["rows"] += 1
            yield Record(doc.doc_id, source.name, doc.domain, doc.text)
        return
    kept = 0
    for uri in expand(source.uri):
        for number, row in _read_rows(uri, source):
            if source.max_documents is not None and kept >= source.max_documents:
                return
            counts["rows"] += 1
            if not all(f.passes(row) for f in source.filters):
                counts["filtered"] += 1
                continue
            kept += 1
            text = _field(row, source.text_field, uri, number)
            yield Record(f"{source.name}:{posixpath.basename(uri)}:{number}", source.name,
                         source.domain, text)  # fmt: skip


def expand(pattern: str) -> list[str]:
    """A URI, or a glob in its last path component (`.../raw/*.jsonl`), sorted."""
    parent, _, name = pattern.rstrip("/").rpartition("/")
    if not any(ch in name for ch in "*?["):
        return [pattern]
    names = storage.listdir(parent, purpose="raw-data")
    matches = [storage.join(parent, n) for n in names if fnmatch.fnmatch(n, name)]
    if not matches:
        raise DataError(f"no files match {pattern}")
    return matches


def _read_rows(uri: str, source: FilesSource) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) pairs; plain text yields {text_field: block}."""
    lineage = (source.card,)
    if source.format == "jsonl":
        with storage.open_uri(uri, "rb", purpose="raw-data", lineage=lineage) as handle:
            for number, line in enumerate(handle):
                if line.strip():
                    yield number, _json_row(line, uri, number)
    elif source.format == "parquet":
        import pyarrow.parquet as pq

        columns = list(dict.fromkeys([source.text_field, *(f.field for f in source.filters)]))
        with storage.open_uri(uri, "rb", purpose="raw-data", lineage=lineage) as handle:
            parquet = pq.ParquetFile(handle)
            missing = [c for c in columns if c not in parquet.schema_arrow.names]
            if missing:
                raise DataError(f"{uri}: no column {missing[0]!r} (text_field or filters)")
            number = 0
            for batch in parquet.iter_batches(columns=columns):
                for row in batch.to_pylist():
                    yield number, row
                    number += 1
    else:
        text = storage.read_text(uri, purpose="raw-data", lineage=lineage)
        for number, block in enumerate(b for b in text.split("\n\n") if b.strip()):
            yield number, {source.text_field: block}


def _json_row(line: bytes, uri: str, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{uri} line {number + 1}: not JSON ({err.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{uri} line {number + 1}: expected a JSON object")
    return row


def _field(row: dict[str, Any], name: str, uri: str, number: int) -> str:
    if name not in row:
        raise DataError(f"{uri} row {number + 1}: no field {name!r} (data.sources text_field)")
    value = row[name]
    return "" if value is None else str(value)


def as_dataset(source: SourceSection, seed: int):
    """The source as a streaming `datasets.IterableDataset` of {doc_id, source, domain, text}."""
    from datasets import IterableDataset

    def rows() -> Iterator[dict[str, str]]:
        for record in read_source(source, seed):
            yield {"doc_id": record.doc_id, "source": record.source,
                   "domain": record.domain, "text": record.text}  # fmt: skip

    return IterableDataset.from_generator(rows)
