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

from sovtrain import storage
from sovtrain.data import synth
from sovtrain.data.clean import Record
from sovtrain.errors import DataError
from sovtrain.recipe.schema import FilesSource, SourceSection, SyntheticSource


def read_source(source: SourceSection, seed: int) -> Iterator[Record]:
    """Every document of one source, in a deterministic order."""
    if isinstance(source, SyntheticSource):
        for doc in synth.generate(source.domain, seed, source.documents, list(source.languages)):
            yield Record(doc.doc_id, source.name, doc.domain, doc.text)
        return
    count = 0
    for uri in expand(source.uri):
        for number, text in _read_file(uri, source):
            if source.max_documents is not None and count >= source.max_documents:
                return
            count += 1
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


def _read_file(uri: str, source: FilesSource) -> Iterator[tuple[int, str]]:
    lineage = (source.card,)
    if source.format == "jsonl":
        with storage.open_uri(uri, "rb", purpose="raw-data", lineage=lineage) as handle:
            for number, line in enumerate(handle):
                if line.strip():
                    yield number, _field(json.loads(line), source.text_field, uri, number)
    elif source.format == "parquet":
        import pyarrow.parquet as pq

        with storage.open_uri(uri, "rb", purpose="raw-data", lineage=lineage) as handle:
            number = 0
            for batch in pq.ParquetFile(handle).iter_batches(columns=[source.text_field]):
                for text in batch.column(0).to_pylist():
                    yield number, text or ""
                    number += 1
    else:
        text = storage.read_text(uri, purpose="raw-data", lineage=lineage)
        for number, block in enumerate(b for b in text.split("\n\n") if b.strip()):
            yield number, block


def _field(row: dict, name: str, uri: str, number: int) -> str:
    if name not in row:
        raise DataError(f"{uri} line {number + 1}: no field {name!r} (data.sources text_field)")
    return str(row[name])


def as_dataset(source: SourceSection, seed: int):
    """The source as a streaming `datasets.IterableDataset` of {doc_id, source, domain, text}."""
    from datasets import IterableDataset

    def rows() -> Iterator[dict[str, str]]:
        for record in read_source(source, seed):
            yield {"doc_id": record.doc_id, "source": record.source,
                   "domain": record.domain, "text": record.text}  # fmt: skip

    return IterableDataset.from_generator(rows)
