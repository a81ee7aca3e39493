"""`model.init_from`: start from a pre-training run, a checkpoint, or a Hugging Face directory.

Resolved through `sovtrain.storage` (so residency guards see the reads), with the base's
data lineage carried forward: a model fine-tuned from weights trained on restricted data is
itself derived from that data.

    run directory     has recipe.resolved.yaml: its newest *verified* checkpoint
    checkpoint dir    has manifest.json + sovtrain_state.json (.../checkpoints/step_X)
    HF model dir      has config.json (+ safetensors and tokenizer files)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import yaml

from sovtrain import storage
from sovtrain.core.errors import CheckpointError, SovtrainError

_PURPOSE = "base-model"


@dataclass(frozen=True)
class BaseModel:
    kind: Literal["run", "checkpoint", "hf"]
    uri: str  # what init_from named (canonical)
    weights_uri: str | None  # checkpoint step dir or HF dir; None: a run, checkpoint not picked
    tokenizer_uri: str
    lineage: tuple[str, ...]  # data card ids the base was trained on
    recipe: Any | None  # the base run's resolved Recipe (run / checkpoint kinds)


def resolve_base(
    init_from: str, *, pick_checkpoint: bool = True, rank: int = 0, world_size: int = 1
) -> BaseModel:
    """What `init_from` points at; a clear error when it is none of the three.

    Why `pick_checkpoint`: choosing a run's checkpoint means hashing every byte of it (the
    newest *verified* one), which for a 7B base is ~100 GB. Lineage and tokenizer (all that
    admission, data preparation and export need) come from the run's recipe and shard
    manifest, so they pass `pick_checkpoint=False`. Loading the weights picks it once, on
    rank 0 of `world_size` (the verdict is broadcast), not once per rank.
    """
    uri = storage.canonical_uri(init_from)
    if storage.exists(storage.join(uri, "config.json"), purpose=_PURPOSE):
        return BaseModel("hf", uri, uri, uri, (), None)
    if storage.exists(storage.join(uri, "sovtrain_state.json"), purpose=_PURPOSE):
        run_dir = uri.rstrip("/").rsplit("/", 2)[0]
        return _from_run(run_dir, uri, "checkpoint", uri)
    if storage.exists(storage.join(uri, "recipe.resolved.yaml"), purpose=_PURPOSE):
        if not pick_checkpoint:
            return _from_run(uri, None, "run", uri)
        from sovtrain.train.checkpoint import CheckpointStore, checkpoints_root

        store = CheckpointStore(checkpoints_root(uri), rank, world_size)
        name = store.newest_verified()
        if name is None:
            raise CheckpointError(
                f"model.init_from {init_from}: the run has no verified checkpoint"
            )
        return _from_run(uri, storage.join(store.root, name), "run", uri)
    raise SovtrainError(
        f"model.init_from {init_from}: not a run directory (recipe.resolved.yaml), a "
        "checkpoint (sovtrain_state.json) or a Hugging Face model directory (config.json)"
    )


def _from_run(run_dir: str, checkpoint: str | None, kind: str, uri: str) -> BaseModel:
    from pydantic import ValidationError

    from sovtrain.data import shards
    from sovtrain.recipe.schema import Recipe

    text = storage.read_text(storage.join(run_dir, "recipe.resolved.yaml"), purpose=_PURPOSE)
    try:
        recipe = Recipe.model_validate(yaml.safe_load(text))
    except ValidationError as err:
        raise SovtrainError(
            f"model.init_from {uri}: the base run's recipe.resolved.yaml does not validate "
            f"with this sovtrain ({err.error_count()} problem(s), first: "
            f"{'.'.join(map(str, err.errors()[0]['loc']))}): it was written by an older "
            "version; export it (`sovtrain export`) and start from the HF directory instead"
        ) from None
    prepared = recipe.data.prepared_uri
    manifest = shards.read_manifest(storage.join(prepared, "shards"))
    lineage = tuple(sorted({source["card"] for source in manifest["sources"]}))
    tokenizer = storage.join(prepared, "tokenizer")
    return BaseModel(kind, uri, checkpoint, tokenizer, lineage, recipe)  # type: ignore[arg-type]


def load_into(model: torch.nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """Strict load of a full state dict into a built model (eval of a trained run), with
    the same one-line error as the lean base loader: mismatches name the tensor."""
    from sovtrain.model.load import mismatch, mismatch_error, slots

    own, aliases = slots(model)
    detail = mismatch(own, aliases, {k: tuple(v.shape) for k, v in state.items()})
    if detail:
        raise mismatch_error(where, detail)
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.to(dtypes[k]) for k, v in state.items()}, strict=False)


def apply_lora(model: torch.nn.Module, lora: Any) -> torch.nn.Module:
    """Wrap in peft LoRA adapters: the base weights freeze, only the adapters train."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=lora.target_modules, task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(model, config)
