"""`sovtrain eval SOURCE --tasks ...`: lm-eval tasks on a checkpoint, a run or an export.

The weights are loaded the way the rest of sovtrain loads them: a checkpoint (a run means
its newest verified one) is consolidated in memory, an exported directory is read through
the storage door (in place when local) with purpose `export`. Results go where the run's
other evaluations go (`<output_uri>/eval/harness/step_X/`), into the training run's MLflow
run at that step, and (for an export) into the Evaluation table of its own model card.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import torch
import yaml

from sovtrain import storage
from sovtrain.core.errors import SovtrainError
from sovtrain.eval.harness import (
    HarnessRun,
    HarnessSpec,
    card_rows,
    check_tasks,
    harness_lm,
    run_harness,
    task_manager,
)
from sovtrain.eval.harness_results import step_dir, table_rows, write_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """What is evaluated and where its results belong."""

    label: str
    step: int
    run_uri: str | None  # the training run's output_uri (results, tracking settings)
    mlflow_run_id: str | None
    export_uri: str | None  # an exported directory whose model card gets the rows
    lineage: tuple[str, ...]


@dataclass(frozen=True)
class HarnessReport:
    run: HarnessRun
    target: Target
    results_uri: str
    card_rows: list[dict[str, Any]]  # this evaluation's rows as the model card shows them
    logged_to: str | None  # the MLflow run id the metrics went to


def evaluate_harness(source: str, spec: HarnessSpec, *, out_uri: str | None = None,
                     log_to_mlflow: bool = True) -> HarnessReport:  # fmt: skip
    """Run `spec` on `source` (recipe, run, checkpoint or exported HF directory)."""
    # unknown tasks, and missing or malformed task files, fail before any weight is read
    manager = check_tasks(spec, task_manager(spec))
    model, tokenizer, target = load_target(source)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log.info("lm-eval %s on %s (step %d, %s)", ",".join(spec.tasks), target.label,
             target.step, device)  # fmt: skip
    run = run_harness(harness_lm(model.to(device), tokenizer, spec.batch_size), spec, manager)
    where = out_uri or (step_dir(target.run_uri, target.step) if target.run_uri else None)
    if where is None:
        raise SovtrainError(f"{source}: not a sovtrain run or export; pass --out for the results")
    results_uri = write_results(run, where, target.lineage)
    logged = _log(target, run) if log_to_mlflow else None
    return HarnessReport(run, target, results_uri, table_rows(card_rows(run.rows)), logged)


def load_target(source: str) -> tuple[Any, Any, Target]:
    """(model in eval mode, tokenizer, target) for any source `sovtrain eval` takes."""
    if source.endswith((".yaml", ".yml")):
        from sovtrain.recipe import load_recipe

        source = load_recipe(source).recipe.run.output_uri
    uri = storage.canonical_uri(source)
    card = _export_card(uri)
    if card is not None or storage.exists(storage.join(uri, "config.json"), purpose="export"):
        return _load_export(uri, card or {})
    return _load_checkpoint(source)


def _export_card(uri: str) -> dict[str, Any] | None:
    """The `sovtrain:` block of an exported model card (README.md front matter), if any."""
    readme = storage.join(uri, "README.md")
    if not storage.exists(readme, purpose="export"):
        return None
    text = storage.read_text(readme, purpose="export")
    if not text.startswith("---\n"):
        return None
    front = yaml.safe_load(text.split("\n---", 2)[0].removeprefix("---\n")) or {}
    block = front.get("sovtrain") if isinstance(front, dict) else None
    return block if isinstance(block, dict) else None


def _load_export(uri: str, card: dict[str, Any]) -> tuple[Any, Any, Target]:
    """An exported directory, as `lm_eval --model hf` loads it (`dtype="auto"`: the dtype the
    export wrote), so both score the same numbers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    lineage = tuple(sorted(d["ref"] for d in card.get("datasets", []) if "ref" in d))
    with storage.local_dir(uri, purpose="export", lineage=lineage) as local:
        model = AutoModelForCausalLM.from_pretrained(str(local), dtype="auto").eval()
        tokenizer = AutoTokenizer.from_pretrained(str(local))
    target = Target(
        label=f"export {uri}", step=int(card.get("step", 0)), run_uri=card.get("output_uri"),
        mlflow_run_id=card.get("mlflow_run_id"), export_uri=uri if card else None,
        lineage=lineage,
    )  # fmt: skip
    return model, tokenizer, target


def _load_checkpoint(source: str) -> tuple[Any, Any, Target]:
    """A run's newest verified checkpoint, or one checkpoint, consolidated in memory
    (LoRA adapters merged: the harness scores the model an export would write)."""
    from sovtrain.data.shards import read_manifest
    from sovtrain.data.tokenizer import load_hf
    from sovtrain.eval.runner import load_checkpoint_model
    from sovtrain.train.resume import resolve_base_weights

    base = resolve_base_weights(source)
    if base.recipe is None or base.weights_uri is None:
        raise SovtrainError(f"{source}: not a sovtrain run, checkpoint or exported directory")
    recipe, weights_uri = base.recipe, base.weights_uri
    state = json.loads(storage.read_text(storage.join(weights_uri, "sovtrain_state.json"),
                                         purpose="checkpoint"))  # fmt: skip
    manifest = read_manifest(storage.join(recipe.data.prepared_uri, "shards"))
    model: Any = load_checkpoint_model(recipe, weights_uri, manifest["vocab_size"])
    if hasattr(model, "merge_and_unload"):  # peft: the adapters folded into plain weights
        model = model.merge_and_unload()
    tokenizer = load_hf(storage.join(recipe.data.prepared_uri, "tokenizer"))
    target = Target(
        label=f"checkpoint {weights_uri}", step=int(state["step"]),
        run_uri=recipe.run.output_uri, mlflow_run_id=state.get("mlflow_run_id"),
        export_uri=None, lineage=base.lineage,
    )  # fmt: skip
    return model, tokenizer, target


def _log(target: Target, run: HarnessRun) -> str | None:
    """Into the training run's MLflow run at the evaluated step; None when the run is not
    tracked (no run id, tracking disabled) or its recipe is not readable."""
    if not target.mlflow_run_id or not target.run_uri:
        return None
    from sovtrain.model.init import resolve_base
    from sovtrain.tracking import run_tracking_uri
    from sovtrain.tracking.runs import log_eval

    recipe = resolve_base(target.run_uri).recipe
    if recipe is None or not recipe.tracking.enabled:
        return None
    artifact = f"eval/harness/results_step_{target.step:08d}.json"
    log_eval(run_tracking_uri(recipe), target.mlflow_run_id, target.step, run.mlflow_metrics(),
             run.json(), artifact=artifact)  # fmt: skip
    return target.mlflow_run_id
