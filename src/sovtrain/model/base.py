"""What `model.init_from` resolved to: the value every user of a base shares.

Its own module, below both `init` (which resolves it) and `load` (which reads its weights),
so that neither has to import the other for the type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.recipe.schema import Recipe

BaseKind = Literal["run", "checkpoint", "hf"]


@dataclass(frozen=True)
class BaseModel:
    kind: BaseKind
    uri: str  # what init_from named (canonical)
    weights_uri: str | None  # checkpoint step dir or HF dir; None: a run, checkpoint not picked
    tokenizer_uri: str
    lineage: tuple[str, ...]  # data card ids the base was trained on
    recipe: Recipe | None  # the base run's resolved Recipe (run / checkpoint kinds)

    @property
    def run_recipe(self) -> Recipe:
        """The base run's recipe; run and checkpoint kinds always carry it, an HF
        directory never does (asking for it there is a bug in the caller)."""
        if self.recipe is None:
            raise ValueError(f"{self.uri}: an HF directory has no sovtrain recipe")
        return self.recipe


def base_run_manifest(prepared_uri: str) -> dict[str, Any]:
    """The shard manifest a sovtrain base run prepared: its data lineage and vocabulary.

    Read here rather than through `sovtrain.data.shards`: `model` sits below `data` (data
    preparation resolves a base's tokenizer), so it reads the one file it needs itself, with
    the same purpose and the same error as `shards.read_manifest`.
    """
    path = storage.join(prepared_uri, "shards", "manifest.json")
    if not storage.exists(path, purpose="shards"):
        raise DataError(f"no shard manifest at {path}: run `sovtrain data prepare RECIPE` first")
    manifest: dict[str, Any] = json.loads(storage.read_text(path, purpose="shards"))
    return manifest
