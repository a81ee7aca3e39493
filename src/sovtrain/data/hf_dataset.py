"""`kind: hf-dataset` sources: a directory that `datasets` reads, row by row.

Two layouts are understood:
    save_to_disk     state.json + *.arrow (a Dataset), or dataset_dict.json + one such
                     directory per split (a DatasetDict): `load_from_disk`, memory-mapped
    parquet / json   *.parquet, or *.jsonl / *.json, directly in the directory:
                     `load_dataset(format, data_files=..., streaming=True)`

Why these choices: the directory is reached through `storage.local_dir` (the path itself
when local, else a temporary copy), so the residency guard decides the read like any other;
`streaming=True` and a throwaway `cache_dir` keep `datasets` from writing an Arrow cache
(a derived copy of the data) outside the storage layer. Rows then go through the same
filters / text_field / bad-row handling as `files` sources (`sources._documents`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.recipe.sources import HfDatasetSource

_PURPOSE = "raw-data"
_SAVED = ("state.json", "dataset_dict.json")
_SUFFIXES = {"parquet": (".parquet",), "json": (".jsonl", ".json")}


def dataset_files(source: HfDatasetSource) -> list[str]:
    """Every file the source reads, found by listing (no download): the prepare key
    fingerprints them, so an edited dataset means new shards."""
    uri = source.uri.rstrip("/")
    names = storage.listdir(uri, purpose=_PURPOSE)
    layout = _layout(source, names)
    if layout != "arrow":
        return [storage.join(uri, n) for n in _data_files(source, names, layout)]
    if "dataset_dict.json" not in names:
        return [storage.join(uri, n) for n in names]
    text = storage.read_text(storage.join(uri, "dataset_dict.json"), purpose=_PURPOSE,
                             lineage=(source.card,))  # fmt: skip
    split_dir = storage.join(uri, _split(source, _splits(source, text)))
    files = [storage.join(uri, "dataset_dict.json")]
    return files + [
        storage.join(split_dir, n) for n in storage.listdir(split_dir, purpose=_PURPOSE)
    ]


def dataset_rows(source: HfDatasetSource) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    """(uri, doc id prefix, row number, row) for every row, in the dataset's order; only the
    columns the source uses (text_field and filter fields) are read."""
    columns = list(dict.fromkeys([source.text_field, *(f.field for f in source.filters)]))
    with (
        storage.local_dir(source.uri, purpose=_PURPOSE, lineage=(source.card,)) as local,
        tempfile.TemporaryDirectory(prefix="sovtrain-datasets-") as cache,
    ):
        dataset = _open(source, local, cache)
        present = dataset.column_names
        missing = [c for c in columns if present is not None and c not in present]
        if missing:
            raise DataError(
                f"data.sources {source.name!r}: {source.uri}: no column "
                f"{missing[0]!r} (text_field or filters); columns: {present}"
            )
        rows = iter(dataset.select_columns(columns))
        number = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except _read_errors() as err:  # a file datasets cannot parse
                raise _unreadable(source, err) from None
            yield source.uri, source.name, number, row
            number += 1


def _open(source: HfDatasetSource, local: Path, cache: str) -> Any:
    import datasets

    names = sorted(p.name for p in local.iterdir()) if local.is_dir() else []
    layout = _layout(source, names)
    try:
        if layout == "arrow":
            loaded = datasets.load_from_disk(str(local), keep_in_memory=False)
            if isinstance(loaded, datasets.DatasetDict):
                loaded = loaded[_split(source, list(loaded))]
            return loaded
        files = [str(local / n) for n in _data_files(source, names, layout)]
        return datasets.load_dataset(layout, data_files=files, split="train", streaming=True,
                                     cache_dir=cache)  # fmt: skip
    except DataError:
        raise
    except _read_errors() as err:  # corrupt state.json, unreadable parquet, ...
        raise _unreadable(source, err) from None


def _layout(source: HfDatasetSource, names: list[str]) -> str:
    """arrow, parquet or json: what `format` says, or what the directory holds (auto)."""
    if source.format != "auto":
        return source.format
    if any(n in names for n in _SAVED):
        return "arrow"
    found = [
        kind for kind, suffixes in _SUFFIXES.items() if any(n.endswith(suffixes) for n in names)
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(
            f"data.sources {source.name!r}: {source.uri} holds no dataset: expected a "
            "`save_to_disk` directory (state.json or dataset_dict.json) or parquet / "
            "json(l) files" + ("" if names else " (the directory is empty or missing)")
        )
    raise DataError(f"data.sources {source.name!r}: {source.uri} holds both parquet and "
                    "json(l) files: set format: parquet or format: json")  # fmt: skip


def _data_files(source: HfDatasetSource, names: list[str], layout: str) -> list[str]:
    files = sorted(n for n in names if n.endswith(_SUFFIXES[layout]))
    if not files:
        raise DataError(f"data.sources {source.name!r}: no {layout} files in {source.uri}")
    return files


def _splits(source: HfDatasetSource, text: str) -> list[str]:
    try:
        return [str(s) for s in json.loads(text)["splits"]]
    except (ValueError, KeyError, TypeError):
        raise DataError(f"data.sources {source.name!r}: {source.uri}/dataset_dict.json is "
                        "not a datasets DatasetDict (no splits)") from None  # fmt: skip


def _split(source: HfDatasetSource, splits: list[str]) -> str:
    """The split to read from a saved DatasetDict; an unknown one is named with the rest."""
    if source.split not in splits:
        raise DataError(f"data.sources {source.name!r}: {source.uri} has no split "
                        f"{source.split!r}; its splits: {', '.join(splits)}")  # fmt: skip
    return source.split


def _read_errors() -> tuple[type[Exception], ...]:
    """What a file `datasets` cannot parse raises: pyarrow's ArrowInvalid is a ValueError, a
    directory that is not a dataset FileNotFoundError, a failed build a DatasetsError."""
    from datasets.exceptions import DatasetsError

    return (ValueError, OSError, KeyError, TypeError, DatasetsError)


def _unreadable(source: HfDatasetSource, err: Exception) -> DataError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return DataError(f"data.sources {source.name!r}: {source.uri}: `datasets` cannot read "
                     f"it ({type(err).__name__}: {first[:300]})")  # fmt: skip
