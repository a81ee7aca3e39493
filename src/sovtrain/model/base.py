"""What `model.init_from` resolved to: the value every user of a base shares.

Its own module, below both `init` (which resolves it) and `load` (which reads its weights),
so that neither has to import the other for the type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
