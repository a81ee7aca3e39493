"""Where harness results live, and how they reach the model card.

A run's harness results are lm-eval's own JSON, one file per evaluation, under
`<output_uri>/eval/harness/step_XXXXXXXX/results_<time>.json`: the step says which weights
were scored (the same step an export carries), the time keeps repeated evaluations apart.
Beside them, `card.json` holds the model card's rows for that step, rebuilt from every
results file there (the newest evaluation of each task wins, so two evaluations at once
cannot drop each other's tasks for long): export reads it as it reads `eval/eval.json`,
without importing this package.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import Any

from sovtrain import storage
from sovtrain.eval.harness import HarnessRun, card_rows, metric_rows

log = logging.getLogger(__name__)
_PURPOSE = "artifact"
CARD_ROWS = "card.json"


def step_dir(run_uri: str, step: int) -> str:
    """Where the harness results of a run's weights at `step` live."""
    return storage.join(run_uri, "eval", "harness", f"step_{step:08d}")


def write_results(run: HarnessRun, out_uri: str, lineage: tuple[str, ...] = ()) -> str:
    """lm-eval's results JSON under `out_uri` (atomic), then the step's `card.json` rebuilt;
    returns the results file's URI."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S.%f")
    uri = storage.join(out_uri, f"results_{stamp}.json")
    storage.write_text_atomic(uri, run.json(), purpose=_PURPOSE, lineage=lineage)
    rows = table_rows(card_rows_in(out_uri))
    text = json.dumps({"rows": rows}, indent=2, ensure_ascii=False)
    storage.write_text_atomic(storage.join(out_uri, CARD_ROWS), text, purpose=_PURPOSE,
                              lineage=lineage)  # fmt: skip
    return uri


def card_rows_in(where: str) -> list[dict[str, Any]]:
    """The card rows of every task evaluated in `where` (newest evaluation per task); a
    results file that cannot be read is skipped with a warning."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    try:
        if not storage.exists(where, purpose=_PURPOSE):
            return []
        names = sorted(n for n in storage.listdir(where, purpose=_PURPOSE)
                       if n.startswith("results_") and n.endswith(".json"))  # fmt: skip
        for name in names:  # oldest first: a later evaluation of a task replaces its rows
            results = json.loads(storage.read_text(storage.join(where, name), purpose=_PURPOSE))
            fresh: dict[str, list[dict[str, Any]]] = {}
            for row in metric_rows(results):
                fresh.setdefault(row["task"], []).append(row)
            by_task.update(fresh)
    except (OSError, ValueError) as err:
        log.warning("ignoring harness results in %s: %s", where, err)
        return []
    return card_rows([row for task in sorted(by_task) for row in by_task[task]])


def table_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Card rows as the Evaluation table shows them: the stderr beside the value."""
    out = []
    for row in rows:
        value = row["value"]
        if isinstance(value, float) and row.get("stderr") is not None:
            value = f"{value:.4g} ± {row['stderr']:.2g}"
        out.append({**row, "value": value})
    return out
