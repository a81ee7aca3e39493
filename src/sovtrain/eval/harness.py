"""lm-evaluation-harness on a model that is already in memory: the field's task numbers.

Why in memory: the model comes from sovtrain's own loading (a checkpoint consolidated, an
export read through the residency-checked storage door, or the live module during training),
so the harness never reads a second copy of the weights from somewhere else. lm-eval's
`HFLM` accepts a `PreTrainedModel` instance; with the same tokenizer, dtype, batch size and
seeds it computes exactly what `lm_eval --model hf --model_args pretrained=DIR` computes.

Tasks are looked up in the shipped task directory (`sovtrain.eval.tasks`) and any
`include_path` first; lm-eval's ~15k built-in task definitions are indexed (seconds) only
when a requested name is not found there. Built-in tasks fetch their data from the Hub,
which a sovereign site cannot reach: the local ones read files through `sovtrain.storage`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sovtrain.core.errors import DataError, SovtrainError

log = logging.getLogger(__name__)
# lm-eval's metric keys are "<metric>,<filter>"; "none" is the unfiltered score
_NO_FILTER = "none"


@dataclass(frozen=True)
class HarnessSpec:
    """What to run: the same knobs as `lm_eval`'s, with its defaults."""

    tasks: tuple[str, ...]
    include_path: tuple[str, ...] = ()
    limit: int | float | None = None
    num_fewshot: int | None = None
    batch_size: int = 1
    data_dir: str | None = None  # the external benchmarks' files (`<data_dir>/ceval/...`)

    def metadata(self) -> dict[str, Any]:
        """What lm-eval hands each task's `custom_dataset` loader."""
        return {"data_dir": self.data_dir} if self.data_dir else {}

    def include_paths(self) -> list[str]:
        from sovtrain.eval.tasks import TASKS_DIR

        return [str(TASKS_DIR), *self.include_path]


@dataclass
class HarnessRun:
    """One harness evaluation: lm-eval's own results dict and the rows we report from it."""

    results: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def mlflow_metrics(self) -> dict[str, float]:
        """`eval/harness/<task>/<metric>` for every finite number (stderr included)."""
        return {
            f"eval/harness/{row['task']}/{row['metric']}": row["value"]
            for row in self.rows
            if isinstance(row["value"], float) and math.isfinite(row["value"])
        }

    def json(self) -> str:
        """lm-eval's results JSON, serialised the way its CLI writes `results_*.json`."""
        from lm_eval.utils import handle_non_serializable

        return json.dumps(
            self.results, indent=2, default=handle_non_serializable, ensure_ascii=False
        )


def lm_eval_limit(value: float | None) -> int | float | None:
    """lm_eval's `--limit` convention: a whole number is a count, below 1 a fraction."""
    if value is None or value < 1:
        return value
    return int(value)


def task_manager(spec: HarnessSpec) -> Any:
    """A TaskManager that knows every requested task; a clear error naming the unknown ones."""
    from lm_eval.tasks import TaskManager

    metadata = spec.metadata()
    manager = TaskManager(
        include_path=spec.include_paths(), include_defaults=False, metadata=metadata
    )
    if _unknown(manager, spec.tasks):
        manager = TaskManager(include_path=spec.include_paths(), metadata=metadata)
    unknown = _unknown(manager, spec.tasks)
    if unknown:
        local = sorted(
            TaskManager(include_path=spec.include_paths(), include_defaults=False).all_tasks
        )
        raise SovtrainError(
            f"unknown lm-eval task(s) {', '.join(unknown)} (looked in "
            f"{', '.join(spec.include_paths())} and lm-eval's own tasks); local tasks: "
            f"{', '.join(local)}"
        )
    return manager


@contextlib.contextmanager
def quiet_lm_eval() -> Iterator[None]:
    """lm-eval logs every request phase at INFO; our log says what runs. DEBUG shows all."""
    logger = logging.getLogger("lm_eval")
    before = logger.level
    if not log.isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(before)


def _unknown(manager: Any, tasks: Sequence[str]) -> list[str]:
    known = set(manager.all_tasks)
    return [name for name in tasks if name not in known]


def check_tasks(spec: HarnessSpec, manager: Any | None = None) -> Any:
    """Load every task and its data now: a missing or malformed file fails before any model
    work (and, in training, before step 1), with the loader's message naming the file.

    lm-eval logs and skips a task whose loader raises; this call does not let it."""
    manager = manager or task_manager(spec)
    try:
        with quiet_lm_eval():
            manager.load(list(spec.tasks))
    except DataError:
        raise
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"lm-eval tasks {', '.join(spec.tasks)}: {err}") from None
    return manager


def harness_lm(model: Any, tokenizer: Any, batch_size: int,
               on_batch: Callable[[], None] | None = None) -> Any:  # fmt: skip
    """lm-eval's HF model around an in-memory transformers model; `on_batch` runs before each
    forward (training marks the stall watchdog there: a long eval is progress, not a hang)."""
    from lm_eval.models.huggingface import HFLM

    class _ProgressLM(HFLM):
        def _model_call(self, *args: Any, **kwargs: Any) -> Any:
            if on_batch is not None:
                on_batch()
            return super()._model_call(*args, **kwargs)

    with quiet_lm_eval():  # its warning that an instance skips its own loading: we know
        return _ProgressLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)


def run_harness(lm: Any, spec: HarnessSpec, manager: Any | None = None) -> HarnessRun:
    """Evaluate `lm` (see `harness_lm`) on the spec's tasks, with lm-eval's own defaults.
    Callers check the tasks first (`check_tasks`): lm-eval builds its model before it reads
    any task file, and a loader's `DataError` passes through it unchanged."""
    import lm_eval

    manager = manager or task_manager(spec)
    with quiet_lm_eval():
        results = lm_eval.simple_evaluate(
            model=lm,
            tasks=list(spec.tasks),
            num_fewshot=spec.num_fewshot,
            limit=spec.limit,
            batch_size=spec.batch_size,
            task_manager=manager,
            log_samples=False,
            metadata=spec.metadata(),
        )
    if results is None:
        # lm-eval aggregates only where LOCAL_RANK is 0; the other ranks of a training job
        # ran the same requests (ZeRO-3 needs them all) and report nothing
        if os.environ.get("LOCAL_RANK", "0") != "0":
            return HarnessRun({}, [])
        raise SovtrainError("lm-eval returned no results")
    return HarnessRun(results, metric_rows(results))


def metric_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per task (and group) x metric: value, the task's language and domain (from
    its YAML `metadata`), few-shot count and the number of documents scored."""
    rows: list[dict[str, Any]] = []
    configs = results.get("configs", {})
    for task, scores in sorted(results.get("results", {}).items()):
        meta = configs.get(task, {}).get("metadata", {}) or {}
        n = results.get("n-samples", {}).get(task, {}).get("effective")
        shots = results.get("n-shot", {}).get(task)
        for key, value in scores.items():
            if "," not in key:  # "alias", "name"
                continue
            metric, filtered = key.split(",", 1)
            name = metric if filtered == _NO_FILTER else f"{metric}_{filtered}"
            rows.append({
                "task": task, "metric": name, "value": _number(value), "n": n,
                "lang": str(meta.get("lang", "")), "domain": str(meta.get("domain", "")),
                "num_fewshot": shots,
            })  # fmt: skip
    return rows


def _number(value: Any) -> float | str:
    """lm-eval writes "N/A" for a stderr it could not compute."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def card_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model card's eval-table rows (metric, domain, lang, value, n): scores only, the
    stderr beside its score."""
    errors = {(r["task"], r["metric"].removesuffix("_stderr")): r["value"]
              for r in rows if r["metric"].endswith("_stderr")}  # fmt: skip
    out = []
    for row in rows:
        if row["metric"].endswith("_stderr") or not isinstance(row["value"], float):
            continue
        stderr = errors.get((row["task"], row["metric"]))
        out.append({
            "metric": f"{row['task']}/{row['metric']}", "domain": row["domain"] or "lm-eval",
            "lang": row["lang"], "value": round(row["value"], 4),
            "n": row["n"] if row["n"] is not None else "",
            "stderr": round(stderr, 4) if isinstance(stderr, float) else None,
            "num_fewshot": row["num_fewshot"],
        })  # fmt: skip
    return out
