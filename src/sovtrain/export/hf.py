"""Export a verified checkpoint as a Hugging Face model directory (safetensors + tokenizer).

Why no DeepSpeed engine: exporting happens on a login node or a laptop, without GPUs or a
process group. For ZeRO 0-2 the model states file holds full module weights; those are exact
for fp32 training, but with bf16/fp16 they are rounded copies, so then (and for ZeRO-3,
which shards the weights) the fp32 master weights are rebuilt from the optimizer shards with
DeepSpeed's offline `zero_to_fp32` helpers; the export dtype is chosen after that (see
`sovtrain.export.weights_out`: bf16 for bf16 runs, fp32 otherwise, or `--dtype`).

A run from an open-weight base keeps what makes it that base: `build_config` gives the
base's config (model_type and keys, plus the recipe's allowed overrides), and the tokenizer
shipped is the one next to the prepared shards, the base's own with its chat template.
Weights larger than `--max-shard-size` are written as shards with an index.

Every byte read and written goes through `sovtrain.storage` with purpose "export" and the
data lineage of the run (its cards, plus its base model's), so an active residency guard
decides on the destination before anything is uploaded. The directory is built locally and
uploaded with `put_dir`, which works the same for paths and s3:// URIs.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import CheckpointError, SovtrainError
from sovtrain.core.hashing import sha256_file
from sovtrain.export.lora import (
    LoraSettings,
    adapter_state,
    has_lora,
    lora_settings,
    merge_lora_weights,
    plain_key,
    write_adapter,
)
from sovtrain.export.tokenizer_out import apply_config_ids, export_tokenizer, generation_ids
from sovtrain.export.weights_out import (
    DEFAULT_MAX_SHARD_SIZE,
    build_loaded_model,
    export_dtype,
    parse_size,
    weights_digest,
    weights_files,
    write_model,
)
from sovtrain.model.weights import consolidate
from sovtrain.recipe.load import LoadedRecipe, load_recipe

__all__ = [  # the LoRA and model helpers stay importable from here, where they used to live
    "ExportResult", "ExportSource", "LoraSettings", "adapter_state", "build_loaded_model",
    "export_hf", "has_lora", "lora_settings", "merge_lora_weights", "plain_key",
    "resolve_source", "run_recipe_of",
]  # fmt: skip
log = logging.getLogger(__name__)
_PURPOSE = "export"
STATE = "sovtrain_state.json"


@dataclass(frozen=True)
class ExportResult:
    """What was written: the destination, every file with its sha256, and what it holds."""

    out_uri: str
    files: list[str]
    sha256: dict[str, str]
    params: int
    step: int
    kind: str  # "full" (plain weights), "merged" (LoRA merged in) or "adapter" (peft only)
    weights_from: str  # "fp32-master" (optimizer shards) or "module" (model states file)
    lineage: tuple[str, ...] = ()
    mlflow_run_id: str | None = None  # the training run the weights came from
    dtype: str = "float32"  # of the tensors written (config.json's dtype / torch_dtype)

    @property
    def weights_file(self) -> str:
        """The single weights file (an unsharded export's, or the adapter's)."""
        return "adapter_model.safetensors" if self.kind == "adapter" else "model.safetensors"

    @property
    def weights_files(self) -> list[str]:
        """Every file holding weights: one, or the shards in order."""
        return weights_files(self.files, self.kind)

    @property
    def weights_sha256(self) -> str:
        """One digest for the weights, sharded or not (see `weights_out.weights_digest`)."""
        return weights_digest(self.weights_files, self.sha256)


@dataclass(frozen=True)
class ExportSource:
    """A verified checkpoint and the run around it."""

    run_uri: str
    step_uri: str
    loaded: LoadedRecipe
    manifest: dict[str, Any]
    manifest_digest: str
    lineage: tuple[str, ...]


# --------------------------------------------------------------------------- source
def _locate(source: str) -> tuple[str, str | None]:
    """(run URI, checkpoint URI) of a checkpoint directory, or (run URI, None) for a run."""
    uri = storage.canonical_uri(source).rstrip("/")
    if storage.exists(storage.join(uri, STATE), purpose=_PURPOSE):
        return uri.rsplit("/", 2)[0], uri  # <run>/checkpoints/step_X
    if storage.exists(storage.join(uri, "recipe.resolved.yaml"), purpose=_PURPOSE):
        return uri, None
    raise SovtrainError(
        f"{source}: not a run directory (recipe.resolved.yaml) or a checkpoint "
        "directory (sovtrain_state.json)"
    )


def run_recipe_of(source: str) -> Any:
    """The resolved recipe of the run `source` belongs to (nothing verified or hashed)."""
    return _run_recipe(_locate(source)[0]).recipe


def resolve_source(source: str) -> ExportSource:
    """A run directory (its newest verified checkpoint) or one checkpoint directory."""
    from sovtrain.data.shards import manifest_digest, read_manifest
    from sovtrain.train.checkpoint import CheckpointStore, checkpoints_root

    run_uri, step_uri = _locate(source)
    if step_uri is not None:
        parent, _, name = step_uri.rpartition("/")
        if not CheckpointStore(parent, 0, 1).verify(name):
            raise CheckpointError(f"{source}: checkpoint does not verify against its manifest")
    else:
        store = CheckpointStore(checkpoints_root(run_uri), 0, 1)
        newest = store.newest_verified()
        if newest is None:
            raise CheckpointError(f"{source}: the run has no verified checkpoint")
        step_uri = storage.join(store.root, newest)
    loaded = _run_recipe(run_uri)
    shards_uri = storage.join(loaded.recipe.data.prepared_uri, "shards")
    manifest = read_manifest(shards_uri)
    cards = {s["card"] for s in manifest.get("sources", []) if s.get("card")}
    if loaded.recipe.model.init_from:  # fine-tuned weights also derive from the base's data
        from sovtrain.model.init import resolve_base

        base = resolve_base(loaded.recipe.model.init_from)
        cards |= set(base.lineage)
    return ExportSource(
        run_uri, step_uri, loaded, manifest, manifest_digest(shards_uri), tuple(sorted(cards))
    )


def _run_eval_table(run_uri: str, step: int) -> list[dict[str, Any]] | None:
    """Rows of `sovtrain eval` for this very step: perplexity and task metrics
    (`<run>/eval/eval.json`), then lm-eval harness tasks scored on the same weights
    (`<run>/eval/harness/step_XXXXXXXX/card.json`); None when there are none."""
    rows = _eval_file_rows(storage.join(run_uri, "eval", "eval.json"), step)
    harness = storage.join(run_uri, "eval", "harness", f"step_{step:08d}", "card.json")
    return [*rows, *_eval_file_rows(harness, None)] or None


def _eval_file_rows(uri: str, step: int | None) -> list[dict[str, Any]]:
    """The `rows` of an eval JSON file; none when absent, unreadable (an export must not fail
    over an eval file) or written for another step than `step`."""
    try:
        if not storage.exists(uri, purpose="artifact"):
            return []
        payload = json.loads(storage.read_text(uri, purpose="artifact"))
    except (OSError, ValueError) as err:
        log.warning("ignoring %s: %s", uri, err)
        return []
    if step is not None and payload.get("step") != step:
        log.info("%s is not for the exported step %d: not in the model card", uri, step)
        return []
    return list(payload.get("rows") or [])


def _run_recipe(run_uri: str) -> LoadedRecipe:
    """The run's resolved recipe, validated by the same loader that trains (local copy)."""
    text = storage.read_text(storage.join(run_uri, "recipe.resolved.yaml"), purpose=_PURPOSE)
    with tempfile.TemporaryDirectory(prefix="sovtrain-export-") as tmp:
        path = Path(tmp) / "recipe.resolved.yaml"
        path.write_text(text, encoding="utf-8")
        return load_recipe(path)


# --------------------------------------------------------------------------- export
def export_hf(
    source: str,
    out_uri: str,
    *,
    merge_lora: bool = True,
    eval_table: list[dict[str, Any]] | None = None,
    adapter_config: dict[str, Any] | None = None,
    dtype: str | None = None,
    max_shard_size: str | int = DEFAULT_MAX_SHARD_SIZE,
) -> ExportResult:
    """Export `source` (run or checkpoint directory) to `out_uri` as a transformers model.

    LoRA checkpoints are merged into plain weights by default; `merge_lora=False` writes the
    adapter alone in peft format (adapter_model.safetensors + adapter_config.json). `dtype`
    is "bf16", "fp32" or None/"auto" (the run's precision decides); weights over
    `max_shard_size` ("5GB", "500MB", bytes) are sharded with an index.
    """
    shard_bytes = parse_size(max_shard_size)  # bad options fail before any weight is read
    src = resolve_source(source)
    recipe = src.loaded.recipe
    torch_dtype = export_dtype(dtype, recipe.train.weights_precision)
    if storage.listdir(out_uri, purpose=_PURPOSE):
        raise SovtrainError(f"{out_uri} is not empty: export into a new directory")
    with (
        tempfile.TemporaryDirectory(prefix="sovtrain-export-") as tmp,
        # in place when local: a large model's optimizer shards are hundreds of GB
        storage.local_dir(src.step_uri, purpose=_PURPOSE, lineage=src.lineage) as step_dir,
    ):
        scratch, out = Path(tmp) / "scratch", Path(tmp) / "out"
        out.mkdir()
        train_state = json.loads((step_dir / STATE).read_text())
        weights, weights_from = consolidate(
            step_dir, recipe.train.weights_precision, recipe.deepspeed.zero_stage
        )
        tok_uri = storage.join(recipe.data.prepared_uri, "tokenizer")
        tokenizer = export_tokenizer(tok_uri, out, scratch, src.lineage)
        if has_lora(weights) and not merge_lora:
            kind = "adapter"
            settings = lora_settings(recipe, adapter_config)
            params = write_adapter(weights, settings, recipe.model.init_from, out, torch_dtype)
        else:
            kind = "merged" if has_lora(weights) else "full"
            if kind == "merged":
                weights = merge_lora_weights(weights, lora_settings(recipe, adapter_config))
            model = build_loaded_model(recipe.model, src.manifest["vocab_size"], weights)
            del weights  # the model holds the only reference: the cast below is in place
            params = _write_full(model, tokenizer, out, torch_dtype, shard_bytes)
        step = int(train_state.get("step", 0))
        card = _model_card(src, train_state, params, kind, weights_from, eval_table)
        (out / "README.md").write_text(card, encoding="utf-8")
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        digests = {rel: sha256_file(out / rel) for rel in files}
        storage.put_dir(out, out_uri, purpose=_PURPOSE, lineage=src.lineage)
    log.info("exported %s (step %d, %s) to %s", src.step_uri, step, kind, out_uri)
    out_uri = storage.canonical_uri(out_uri)
    run_id = train_state.get("mlflow_run_id")
    dtype_name = str(torch_dtype).removeprefix("torch.")
    return ExportResult(
        out_uri, files, digests, params, step, kind, weights_from, src.lineage, run_id,
        dtype_name,
    )  # fmt: skip


def _write_full(model: Any, tokenizer: Any, out: Path, dtype: Any, max_shard_size: int) -> int:
    """Plain (or merged) weights with config and generation config ids from the tokenizer;
    returns the parameter count."""
    from transformers import GenerationConfig

    apply_config_ids(model.config, tokenizer)
    model.generation_config = GenerationConfig(**generation_ids(tokenizer, model.config))
    write_model(model, out, dtype, max_shard_size)
    return sum(p.numel() for p in model.parameters())


def _model_card(
    src: ExportSource,
    train_state: dict[str, Any],
    params: int,
    kind: str,
    weights_from: str,
    eval_table: list[dict[str, Any]] | None,
) -> str:
    """README.md: the model card, with the eval rows of this very step when there are."""
    from sovtrain.export.model_card import render_model_card, training_compute, training_energy
    from sovtrain.governance.transfer import read_record

    step = int(train_state.get("step", 0))
    if eval_table is None:
        eval_table = _run_eval_table(src.run_uri, step)
    return render_model_card(
        src.loaded.recipe,
        params=params,
        step=step,
        tokens_seen=int(train_state.get("tokens_seen", 0)),
        lineage=src.lineage,
        manifest=src.manifest,
        manifest_digest=src.manifest_digest,
        eval_table=eval_table,
        compute=training_compute(src.loaded.recipe, src.run_uri, train_state),
        energy=training_energy(train_state),
        kind=kind,
        weights_from=weights_from,
        mlflow_run_id=train_state.get("mlflow_run_id"),
        transfer=read_record(src.loaded.recipe.data.prepared_uri),
    )
