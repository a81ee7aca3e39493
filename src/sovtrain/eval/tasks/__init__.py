"""Local lm-evaluation-harness task definitions (YAML beside this file, data in `data/`).

`TASKS_DIR` is the directory lm-eval indexes (`--include_path`). The YAMLs name their data
loader by import path (`!function sovtrain.eval.tasks.loaders.<fn>`), so sovtrain must be
importable wherever lm-eval runs them. The directory stays flat: pyproject ships
`eval/tasks/*.yaml`, `*.py` and `data/*.csv` only.
"""

from __future__ import annotations

from pathlib import Path

TASKS_DIR: Path = Path(__file__).resolve().parent

__all__ = ["TASKS_DIR"]
