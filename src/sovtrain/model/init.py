"""`model.init_from`: start from a pre-training run, a checkpoint, or a Hugging Face directory.

Resolved through `sovtrain.storage` (so residency guards see the reads), with the base's
data lineage carried forward: a model fine-tuned from weights trained on restricted data is
itself derived from that data.

    run directory     has recipe.resolved.yaml: its newest *verified* checkpoint
    checkpoint dir    has manifest.json + sovtrain_state.json (.../checkpoints/step_X)
    HF model dir      has config.json (+ safetensors and tokenizer files)
"""

from __future__ import annotations

import torch
import yaml
from pydantic import ValidationError

from sovtrain import storage
from sovtrain.core.errors import SovtrainError
from sovtrain.model.base import BaseKind, BaseModel, base_run_manifest
from sovtrain.recipe.schema import Recipe

__all__ = ["BaseModel", "load_into", "resolve_base"]

_PURPOSE = "base-model"


def resolve_base(init_from: str) -> BaseModel:
    """What `init_from` points at; a clear error when it is none of the three.

    A run directory resolves with `weights_uri=None`: choosing its checkpoint means hashing
    every byte of the newest *verified* one (~100 GB for a 7B base), a collective job of the
    checkpoint store, which lives above this layer. Lineage and tokenizer (all that
    admission, data preparation and export need) come from the run's recipe and shard
    manifest; whoever loads the weights (training, eval) picks the checkpoint once, with
    `sovtrain.train.resume.resolve_base_weights`.
    """
    uri = storage.canonical_uri(init_from)
    if storage.exists(storage.join(uri, "config.json"), purpose=_PURPOSE):
        return BaseModel("hf", uri, uri, uri, (), None)
    if storage.exists(storage.join(uri, "sovtrain_state.json"), purpose=_PURPOSE):
        run_dir = uri.rstrip("/").rsplit("/", 2)[0]
        return _from_run(run_dir, uri, "checkpoint", uri)
    if storage.exists(storage.join(uri, "recipe.resolved.yaml"), purpose=_PURPOSE):
        return _from_run(uri, None, "run", uri)
    raise SovtrainError(
        f"model.init_from {init_from}: not a run directory (recipe.resolved.yaml), a "
        "checkpoint (sovtrain_state.json) or a Hugging Face model directory (config.json)"
    )


def _from_run(run_dir: str, checkpoint: str | None, kind: BaseKind, uri: str) -> BaseModel:
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
    manifest = base_run_manifest(prepared)
    lineage = tuple(sorted({source["card"] for source in manifest["sources"]}))
    tokenizer = storage.join(prepared, "tokenizer")
    return BaseModel(kind, uri, checkpoint, tokenizer, lineage, recipe)


def load_into(model: torch.nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """Strict load of a full state dict into a built model (eval of a trained run), with
    the same one-line error as the lean base loader: mismatches name the tensor."""
    # imported here: the loader pulls in transformers, which resolving a base (admission,
    # data preparation) does not need
    from sovtrain.model.load import mismatch, mismatch_error, slots

    own, aliases = slots(model)
    detail = mismatch(own, aliases, {k: tuple(v.shape) for k, v in state.items()})
    if detail:
        raise mismatch_error(where, detail)
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.to(dtypes[k]) for k, v in state.items()}, strict=False)
