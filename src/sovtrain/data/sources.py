"""Read a recipe's sources as `Record`s: generated corpora, or files on any storage.

Generated corpora come from whichever generator package registered them (`registry.py`), so
reading files never needs the generators installed.

Files are opened only through `sovtrain.storage` (so residency guards see every read) and
parsed here: JSON lines, Parquet (streamed by row group, so large files never sit in memory)
or plain text (one document per blank-line-separated block). `hf-dataset` sources are
directories that `datasets` reads itself (`hf_dataset.py`), reached through
`storage.local_dir`, so the guard decides that read too. `datasets` gets the records through
`IterableDataset.from_generator`, which keeps its map/filter/streaming tools available without
letting it open files behind the storage layer's back.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.core.generators import generators
from sovtrain.data.clean import Record
from sovtrain.recipe.schema import FilesSource, SourceSection, SyntheticSource
from sovtrain.recipe.sources import HfDatasetSource

log = logging.getLogger(__name__)
NEWLINE = b"\n"


def read_source(
    source: SourceSection, seed: int, counts: dict[str, Any] | None = None
) -> Iterator[Record]:
    """Every document of one source, in a deterministic order.

    `counts`, when given, receives `rows` read and `filtered` (dropped by the source's row
    filters), so the prepare report can say what was removed before cleaning saw it; with
    several filters also `filtered_by` (per filter, each row charged to the first filter it
    fails) and, once a row is skipped under `on_bad_rows: skip`, `bad_rows`.
    """
    counts = counts if counts is not None else {}
    counts.setdefault("rows", 0)
    counts.setdefault("filtered", 0)
    if isinstance(source, SyntheticSource):
        corpus = generators.corpus(source.corpus or source.domain)
        for doc in corpus.generate(seed, source.documents, list(source.languages)):
            counts["rows"] += 1
            yield Record(doc.doc_id, source.name, doc.domain, doc.text)
        return
    if isinstance(source, HfDatasetSource):
        from sovtrain.data.hf_dataset import dataset_rows

        yield from _documents(source, dataset_rows(source), counts)
        return
    if not isinstance(source, FilesSource):  # chat kinds are read by sft.read_chat_source
        raise TypeError(f"source {source.name!r}: kind {source.kind} holds chats, not documents")
    rows = ((uri, f"{source.name}:{posixpath.basename(uri)}", number, row)
            for uri in expand(source.uri) for number, row in _read_rows(uri, source))  # fmt: skip
    yield from _documents(source, rows, counts)


Row = tuple[str, str, int, "dict[str, Any] | BadRow"]  # (uri, doc id prefix, number, row)


def _documents(
    source: FilesSource, rows: Iterator[Row], counts: dict[str, Any]
) -> Iterator[Record]:
    """Rows -> documents, the same way for every row-shaped source: max_documents, row
    filters, text_field and `on_bad_rows`, each counted per source."""
    if len(source.filters) > 1:
        counts.setdefault("filtered_by", [0] * len(source.filters))
    kept = 0
    for uri, prefix, number, row in rows:
        if source.max_documents is not None and kept >= source.max_documents:
            return
        counts["rows"] += 1
        text: str | BadRow
        if isinstance(row, BadRow):
            text = row
        elif _dropped(row, source, counts):
            continue
        else:
            text = _text(row, source.text_field, uri, _location(source, number))
        if isinstance(text, BadRow):
            _bad_row(text, source, counts)
            continue
        kept += 1
        yield Record(f"{prefix}:{number}", source.name, source.domain, text)


def _location(source: FilesSource, number: int) -> str:
    unit = {"jsonl": "line", "text": "block"}.get(source.format, "row")
    return f"{unit} {number + 1}"


def source_files(source: SourceSection) -> list[str]:
    """Every file a source reads (its change detector): none for generated sources."""
    if isinstance(source, HfDatasetSource):
        from sovtrain.data.hf_dataset import dataset_files

        return dataset_files(source)
    if isinstance(source, FilesSource):
        return expand(source.uri)
    return []


def check_card_domains(sources: list[Any]) -> None:
    """A source's domain must be its data card's: the card is what governance reviewed, so a
    recipe cannot relabel a dataset. Cards that do not load are left to admission, which
    names them (and `data prepare` run outside admission has no cards to compare)."""
    from sovtrain.governance.cards import CardError, DataCard, load_card
    from sovtrain.governance.policy import cards_dir

    for source in sources:
        path = cards_dir() / f"{source.card}.yaml"
        try:
            card = load_card(path).card
        except CardError:
            continue
        if isinstance(card, DataCard) and card.domain != source.domain:
            raise DataError(
                f"data.sources {source.name!r}: domain {source.domain!r}, but its data card "
                f"{source.card!r} ({path}) says domain {card.domain!r}: make them agree"
            )


def _dropped(row: dict[str, Any], source: FilesSource, counts: dict[str, Any]) -> bool:
    """Whether a row filter drops the row (counted against the first filter it fails)."""
    for index, row_filter in enumerate(source.filters):
        if not row_filter.passes(row):
            counts["filtered"] += 1
            if "filtered_by" in counts:
                counts["filtered_by"][index] += 1
            return True
    return False


def _bad_row(bad: BadRow, source: FilesSource, counts: dict[str, Any]) -> None:
    """`on_bad_rows: error` stops, naming source, file, line and rule; `skip` counts it."""
    where = f"data.sources {source.name!r}: {bad.uri} {bad.where}"
    if source.on_bad_rows == "error":
        raise DataError(f"{where}: {bad.problem} (on_bad_rows: skip would skip such rows)")
    if not counts.get("bad_rows"):
        log.warning("%s: %s; skipping it and any other bad rows (on_bad_rows: skip)", where,
                    bad.problem)  # fmt: skip
    counts["bad_rows"] = counts.get("bad_rows", 0) + 1


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


@dataclass(frozen=True)
class BadRow:
    """A row that cannot become a document: where it is and which rule it breaks."""

    uri: str
    where: str  # "line 7" (jsonl; text: where the block starts), "row 3" (parquet)
    problem: str


def _read_rows(uri: str, source: FilesSource) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    """(row number, row or BadRow) pairs; plain text yields {text_field: block}."""
    lineage = (source.card,)
    if source.format == "jsonl":
        with storage.open_uri(uri, "rb", purpose="raw-data", lineage=lineage) as handle:
            for number, line in enumerate(handle):
                if line.strip():
                    yield number, json_row(line, uri, number)
    elif source.format == "parquet":
        yield from _parquet_rows(uri, source, lineage)
    else:
        data = storage.read_bytes(uri, purpose="raw-data", lineage=lineage)
        yield from _text_blocks(data, uri, source.text_field)


def _parquet_rows(
    uri: str, source: FilesSource, lineage: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, Any]]]:
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


def _text_blocks(
    data: bytes, uri: str, text_field: str
) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    """Blank-line-separated blocks, decoded one by one (a newline byte never occurs inside a
    UTF-8 sequence), so a bad byte names its line and spoils only its own block."""
    parts = data.split(b"\n\n")
    number, line = 0, 1
    for index, raw in enumerate(parts):
        try:
            block = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            at = f"line {line + raw.count(NEWLINE, 0, err.start)}"
            yield number, BadRow(uri, at, _utf8_problem(err, raw, index == len(parts) - 1))
            number += 1
        else:
            if block.strip():
                yield number, {text_field: block}
                number += 1
        line += raw.count(b"\n") + 2


def json_row(line: bytes, uri: str, number: int) -> dict[str, Any] | BadRow:
    where = f"line {number + 1}"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return BadRow(uri, where, _utf8_problem(err, line, not line.endswith(b"\n")))
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        return BadRow(uri, where, f"not JSON ({err.msg})")
    if not isinstance(row, dict):
        return BadRow(uri, where, "expected a JSON object")
    return row


def _utf8_problem(err: UnicodeDecodeError, raw: bytes, last: bool) -> str:
    """The rule broken, with a hint for the common case: a file cut mid-character."""
    hint = ""
    if last and err.reason == "unexpected end of data":
        hint = "; the file ends inside a multi-byte character: truncated?"
    byte = f"byte 0x{raw[err.start]:02x} at column {err.start + 1}"
    return f"not valid UTF-8 ({byte}: {err.reason}{hint})"


def _text(row: dict[str, Any], name: str, uri: str, where: str) -> str | BadRow:
    if name not in row:
        return BadRow(uri, where, f"no field {name!r} (data.sources text_field)")
    value = row[name]
    text = "" if value is None else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # JSON `\ud800` escapes decode to lone surrogates
        return BadRow(uri, where, f"field {name!r} holds an unpaired UTF-16 surrogate (\\u escape)")
    return text


def as_dataset(source: SourceSection, seed: int):
    """The source as a streaming `datasets.IterableDataset` of {doc_id, source, domain, text}."""
    from datasets import IterableDataset

    def rows() -> Iterator[dict[str, str]]:
        for record in read_source(source, seed):
            yield {"doc_id": record.doc_id, "source": record.source,
                   "domain": record.domain, "text": record.text}  # fmt: skip

    return IterableDataset.from_generator(rows)
