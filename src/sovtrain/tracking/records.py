"""Tracking records: what the training thread queues, and how one batch reaches MLflow.

A record is a plain JSON-able dict, so the very same object can sit in memory, be spilled
to the backlog file and be replayed later by `sovtrain tracking sync`. Everything a record
needs is captured when it is made (metric timestamps, artifact text, a snapshot of a file),
so sending it minutes later logs what the run saw at that moment.

Keys: `op` (metrics | params | tags | text | file | datasets | finish), `run` (run id),
`a` (the attempt that made it) and `s` (its sequence number within that attempt).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

Record = dict[str, Any]
Outcome = Literal["ok", "down", "refused", "error", "held"]


class StoreMoved(Exception):
    """The tracking store is no longer in the place it was admitted in (held: not sent)."""


METRICS_PER_BATCH = 1000  # MLflow's log_batch limit
_PARAMS_PER_BATCH = 100


def metrics_record(run_id: str, metrics: Mapping[str, float], step: int, stamp: int) -> Record:
    rows = [[key, float(value), stamp, step] for key, value in metrics.items()]
    return {"op": "metrics", "run": run_id, "m": rows}


def points(record: Record) -> int:
    """How many metric points a record carries (0 for everything that is not metrics)."""
    return len(record["m"]) if record["op"] == "metrics" else 0


def joins(batch: list[Record], record: Record) -> bool:
    """May `record` ride in the same log_batch call as `batch`? (metrics of one run, capped)."""
    if not batch:
        return True
    first = batch[0]
    return (
        first["op"] == "metrics"
        and record["op"] == "metrics"
        and record["run"] == first["run"]
        and sum(map(points, batch)) + points(record) <= METRICS_PER_BATCH
    )


def max_step(records: Iterable[Record], run_id: str, key: str) -> int:
    """Highest step of metric `key` for `run_id` among `records` (-1 if none)."""
    best = -1
    for record in records:
        if record["op"] == "metrics" and record["run"] == run_id:
            for name, _, _, step in record["m"]:
                if name == key and step > best:
                    best = step
    return best


def send(client: Any, batch: list[Record], base: Path) -> None:
    """One MLflow call (or a few, for params) for a batch built with `joins`."""
    first = batch[0]
    op, run_id = first["op"], first["run"]
    if op == "metrics":
        _send_metrics(client, run_id, [p for r in batch for p in r["m"]])
    elif op == "params":
        _send_params(client, run_id, first["p"])
    elif op == "tags":
        from mlflow.entities import RunTag

        tags = [RunTag(k, v) for k, v in first["t"].items()]
        client.log_batch(run_id, tags=tags, synchronous=True)
    elif op == "text":
        client.log_text(run_id, first["text"], first["path"])
    elif op == "file":
        client.log_artifact(run_id, str(base / first["file"]), first["path"])
    elif op == "datasets":
        _send_datasets(client, run_id, first["d"])
    elif op == "finish":
        client.set_terminated(run_id, status=first["status"], end_time=first["end"])
    else:
        raise ValueError(f"unknown tracking record op {op!r}")


def _send_metrics(client: Any, run_id: str, rows: list[list[Any]]) -> None:
    from mlflow.entities import Metric

    metrics = [Metric(key, value, stamp, step) for key, value, stamp, step in rows]
    client.log_batch(run_id, metrics=metrics, synchronous=True)


def _send_params(client: Any, run_id: str, params: Mapping[str, str]) -> None:
    """Params are write-once in MLflow: a resumed run keeps the values it started with."""
    from mlflow.entities import Param

    existing = client.get_run(run_id).data.params
    items = [Param(k, v) for k, v in params.items() if k not in existing]
    for start in range(0, len(items), _PARAMS_PER_BATCH):
        chunk = items[start : start + _PARAMS_PER_BATCH]
        client.log_batch(run_id, params=chunk, synchronous=True)


def _send_datasets(client: Any, run_id: str, datasets: list[Mapping[str, Any]]) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag

    inputs = [
        DatasetInput(
            Dataset(d["name"], d["digest"], d["source_type"], d["source"]),
            tags=[InputTag(k, v) for k, v in d.get("tags", {}).items()],
        )
        for d in datasets
    ]
    client.log_inputs(run_id, datasets=inputs)


def snapshot(path: Path, base: Path, name: str) -> str:
    """Copy `path` now (the audit log keeps growing) to `base/files/<name>/`; the record
    keeps the copy's path relative to `base`, so a backlog directory can be moved whole."""
    folder = base / "files" / name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, folder / path.name)
    return f"files/{name}/{path.name}"


def forget_snapshot(record: Record, base: Path) -> None:
    """Remove a sent (or refused) record's file snapshot."""
    if record["op"] == "file":
        folder = (base / record["file"]).parent
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()  # `files/`, once empty


def classify(err: BaseException) -> Outcome:
    """down: the server is away (retry later, forever); refused: it said no (drop);
    error: anything else (retried a few times, then dropped)."""
    import requests

    gone = (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError)
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, (*gone, ConnectionError, TimeoutError)):
            return "down"
        seen = seen.__cause__ or seen.__context__
    status = _http_status(err)
    if status in (429, 502, 503, 504):
        return "down"
    if status is not None and 400 <= status < 500:
        return "refused"
    return "error"


def _http_status(err: BaseException) -> int | None:
    from mlflow.exceptions import MlflowException

    return err.get_http_status_code() if isinstance(err, MlflowException) else None


def reason(err: BaseException) -> str:
    """One short line for a log: MLflow's messages carry whole URLs and nested reprs."""
    text = str(err)
    found = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    if found:
        return found.group(0).strip()
    if "Read timed out" in text:
        return "read timed out"
    return (text.splitlines() or [type(err).__name__])[0][:160]


def dumps(record: Record) -> str:
    """One line of the backlog (ASCII, so byte offsets and lines agree everywhere)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True)
