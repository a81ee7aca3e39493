"""Data for the local lm-eval tasks: the shipped `hkfin_mc` set and a team's own copies of
C-Eval, CMMLU, FinanceIQ and FinEval, each file read through `sovtrain.storage` and checked
row by row.

Why not `datasets.load_dataset`: it reaches for the Hugging Face Hub and reads bytes behind
the residency guards' back. Here every byte passes the one storage door (purpose
`eval-data`), and a malformed file fails with a `DataError` naming the file, the line and
the field instead of a scoring run that silently drops or misreads rows.

lm-eval calls each task's `custom_dataset` as `fn(**metadata, **dataset_kwargs)`: metadata
holds the YAML's own keys (version, lang, ...), `config_source`, whatever the caller passed
as TaskManager metadata (`data_dir` here) and, from `simple_evaluate` without a
TaskManager, the model_args (`pretrained=...`). So every loader accepts and ignores extras.

The YAMLs name these functions by their full import path
(`!function sovtrain.eval.tasks.loaders.ceval`), not as `loaders.ceval`: lm-eval would
otherwise execute this file a second time under a module named after its path, apart from
the one the rest of sovtrain imports. No dataclasses here all the same (a by-path import
breaks them), and no module state.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import datasets

from sovtrain import storage
from sovtrain.core.errors import DataError

PURPOSE = "eval-data"
DATA_ENV = "SOVTRAIN_EVAL_DATA"
LETTERS = ("A", "B", "C", "D")
SHIPPED_DIR = Path(__file__).resolve().parent / "data"
_REQUIRED = ("question", "a", "b", "c", "d", "answer")
_EXPECTED = "question, A, B, C, D, answer (any letter case)"


class Layout(NamedTuple):
    """Where a published benchmark keeps its files under `<data_dir>/<name>/`.

    `scored` is the split with public answers: C-Eval and FinEval publish their test split
    without answers, so they are scored on `val` (as lm-eval's own ceval-valid tasks are).
    `suffixed`: file names carry the split (`accountant_val.csv`) rather than being the bare
    subject (`agronomy.csv`).
    """

    task: str
    name: str
    scored: str
    suffixed: bool

    def file_name(self, subject: str, split: str) -> str:
        return f"{subject}_{split}.csv" if self.suffixed else f"{subject}.csv"

    def hint(self) -> str:
        example = self.file_name("<subject>", self.scored)
        dev = self.file_name("<subject>", "dev")
        return f"{self.scored}/{example} and dev/{dev} (optionally under data/)"


LAYOUTS: dict[str, Layout] = {
    "ceval": Layout("ceval_local", "ceval", "val", True),
    "cmmlu": Layout("cmmlu_local", "cmmlu", "test", False),
    "financeiq": Layout("financeiq_local", "financeiq", "test", False),
    "fineval": Layout("fineval_local", "fineval", "val", True),
}


# --- one CSV -----------------------------------------------------------------------------


def parse_mc_csv(uri: str, text: str, keep: Iterable[str] = ()) -> list[dict[str, str]]:
    """Rows of a multiple-choice CSV as `question, A, B, C, D, answer` (+ `keep` columns).

    Column names are matched case-insensitively (C-Eval writes `question`, CMMLU
    `Question`); unnamed columns (CMMLU's pandas index) and unknown ones are ignored.
    Line numbers are those of the file (a quoted field may span lines: the record's first).
    """
    kept = tuple(k.lower() for k in keep)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{uri}: empty file (expected a header row: {_EXPECTED})")
        columns = _columns(uri, header, _REQUIRED + kept)
        rows: list[dict[str, str]] = []
        line = reader.line_num + 1
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(field.strip() for field in record):
                continue  # a blank line
            if len(record) != len(header):
                raise DataError(
                    f"{uri} line {start}: {len(record)} fields where the header has "
                    f"{len(header)} (a stray comma or quote?)"
                )
            rows.append(_row(uri, start, {k: record[i] for k, i in columns.items()}, kept))
    except csv.Error as err:
        raise DataError(f"{uri} line {reader.line_num}: unreadable CSV ({err})") from None
    if not rows:
        raise DataError(f"{uri}: no rows (expected at least one question after the header)")
    return rows


def _columns(uri: str, header: list[str], wanted: tuple[str, ...]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        if not key or key.startswith("unnamed"):
            continue
        if key in columns:
            raise DataError(f"{uri} line 1: column {name!r} appears twice (names ignore case)")
        columns[key] = index
    for key in wanted:
        if key not in columns:
            found = ", ".join(h for h in header if h.strip()) or "none"
            raise DataError(
                f"{uri} line 1: missing column '{key if len(key) > 1 else key.upper()}' "
                f"(found: {found}; expected {_EXPECTED})"
            )
    return {key: columns[key] for key in wanted}


def _row(uri: str, line: int, raw: dict[str, str], kept: tuple[str, ...]) -> dict[str, str]:
    question = raw["question"].strip()
    if not question:
        raise DataError(f"{uri} line {line}: question is empty (expected the question text)")
    answer = raw["answer"].strip().upper()
    if answer not in LETTERS:
        raise DataError(f"{uri} line {line}: answer {raw['answer']!r} is not one of A, B, C, D")
    row = {"question": question, **{x: raw[x.lower()].strip() for x in LETTERS}}
    row["answer"] = answer
    row.update({key: raw[key].strip() for key in kept})
    return row


def read_mc_csv(uri: str, keep: Iterable[str] = ()) -> list[dict[str, str]]:
    """`parse_mc_csv` of a file read through the storage door."""
    if not storage.exists(uri, purpose=PURPOSE):
        raise DataError(f"{uri}: file not found")
    try:
        text = storage.read_text(uri, purpose=PURPOSE)
    except UnicodeDecodeError as err:
        raise DataError(f"{uri}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return parse_mc_csv(uri, text, keep)


def _dataset_dict(test: list[dict[str, str]], dev: list[dict[str, str]]) -> datasets.DatasetDict:
    return datasets.DatasetDict(
        {"test": datasets.Dataset.from_list(test), "dev": datasets.Dataset.from_list(dev)}
    )


# --- the shipped set -----------------------------------------------------------------------


def shipped_file(lang: str, split: str) -> str:
    """Path of a shipped CSV (`lang`: en, zh_hant, zh_hans; `split`: test, dev)."""
    return str(SHIPPED_DIR / f"hkfin_mc_{lang}_{split}.csv")


def load_shipped(lang: str) -> datasets.DatasetDict:
    """The hkfin_mc set for one language (card hkfin-mc-eval@1), `id` and `domain` kept."""
    test, dev = (read_mc_csv(shipped_file(lang, s), keep=("id", "domain")) for s in ("test", "dev"))
    return _dataset_dict(test, dev)


def hkfin_en(**_: Any) -> datasets.DatasetDict:
    return load_shipped("en")


def hkfin_zh_hant(**_: Any) -> datasets.DatasetDict:
    return load_shipped("zh_hant")


def hkfin_zh_hans(**_: Any) -> datasets.DatasetDict:
    return load_shipped("zh_hans")


# --- the external benchmarks ---------------------------------------------------------------


def benchmark_root(layout: Layout, data_dir: str | None) -> str:
    """`<data_dir>/<name>`, data_dir from the metadata else SOVTRAIN_EVAL_DATA; must exist."""
    how = (
        f"pass the directory as lm-eval metadata data_dir (--metadata "
        f'\'{{"data_dir": "/path"}}\') or set {DATA_ENV}; the {layout.name} files go under '
        f"<data_dir>/{layout.name}/ as published: {layout.hint()}"
    )
    source = "metadata data_dir"
    if not data_dir:
        data_dir, source = os.environ.get(DATA_ENV) or None, DATA_ENV
    if not data_dir:
        raise DataError(f"{layout.task}: no benchmark data directory given: {how}")
    root = storage.join(str(data_dir), layout.name)
    if not storage.exists(root, purpose=PURPOSE):
        raise DataError(f"{layout.task}: no {layout.name} data at {root} ({source}): {how}")
    for base in (root, storage.join(root, "data")):
        if storage.exists(storage.join(base, layout.scored), purpose=PURPOSE):
            return base
    raise DataError(
        f"{layout.task}: no {layout.scored}/ split directory under {root} (looked in "
        f"{storage.join(root, layout.scored)} and {storage.join(root, 'data', layout.scored)}):"
        f" expected {layout.hint()}"
    )


def subjects(layout: Layout, split_dir: str, split: str) -> list[str]:
    """Subjects that have a file in `split_dir`, named as the layout says."""
    suffix = f"_{split}.csv" if layout.suffixed else ".csv"
    found = []
    for name in storage.listdir(split_dir, purpose=PURPOSE):
        if not name.endswith(".csv"):
            continue  # .DS_Store, README ...
        if not name.endswith(suffix):
            raise DataError(
                f"{storage.join(split_dir, name)}: not a {layout.name} {split} file name "
                f"(expected <subject>{suffix})"
            )
        found.append(name.removesuffix(suffix))
    if not found:
        raise DataError(
            f"{layout.task}: no <subject>{suffix} files in {split_dir} (expected {layout.hint()})"
        )
    return sorted(found)


def load_benchmark(name: str, data_dir: str | None = None) -> datasets.DatasetDict:
    """Every subject of a published benchmark: `test` = its scored split, `dev` = few-shot.

    Each scored subject needs its dev file (the benchmarks publish one per subject); rows
    carry `subject` (the file's subject name).
    """
    layout = LAYOUTS[name]
    base = benchmark_root(layout, data_dir)
    split_rows: dict[str, list[dict[str, str]]] = {}
    names = subjects(layout, storage.join(base, layout.scored), layout.scored)
    for split in (layout.scored, "dev"):
        split_dir = storage.join(base, split)
        if split == "dev" and not storage.exists(split_dir, purpose=PURPOSE):
            raise DataError(
                f"{layout.task}: no dev/ split directory at {split_dir} (the few-shot "
                f"examples; expected {layout.hint()})"
            )
        rows: list[dict[str, str]] = []
        for subject in names:
            uri = storage.join(split_dir, layout.file_name(subject, split))
            if not storage.exists(uri, purpose=PURPOSE):
                where = f"{layout.scored}/ has {subject!r}"
                raise DataError(f"{uri}: file not found ({where}: every subject needs both)")
            rows += [{**row, "subject": subject} for row in read_mc_csv(uri)]
        split_rows[split] = rows
    return _dataset_dict(split_rows[layout.scored], split_rows["dev"])


def ceval(data_dir: str | None = None, **_: Any) -> datasets.DatasetDict:
    return load_benchmark("ceval", data_dir)


def cmmlu(data_dir: str | None = None, **_: Any) -> datasets.DatasetDict:
    return load_benchmark("cmmlu", data_dir)


def financeiq(data_dir: str | None = None, **_: Any) -> datasets.DatasetDict:
    return load_benchmark("financeiq", data_dir)


def fineval(data_dir: str | None = None, **_: Any) -> datasets.DatasetDict:
    return load_benchmark("fineval", data_dir)
