"""What every recipe schema module shares: the strict `Section` base and value checks
(printable paths, finite numbers, batch splits).

Each exists because a bad value here passes `recipe validate` and fails much later (on the
cluster, after the queue wait): a NUL at the end of `run.output_uri` creates a directory no
one can type; `1e400` parses as inf and `1e39` overflows float32 inside the optimizer; a
global batch that does not split into micro batches dies as a bare ValueError in `train`.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict

from sovtrain.core.errors import RecipeError

# Cc: C0/C1 controls (NUL, newline, tab, ESC ...); Zl/Zp: Unicode line/paragraph separators.
_UNPRINTABLE = frozenset({"Cc", "Zl", "Zp"})


class Section(BaseModel):
    """Base for every recipe section: strict keys, validated on assignment, finite floats
    only (`1e400` would otherwise validate as inf)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class BatchSplitError(RecipeError, ValueError):
    """The global batch does not split over micro batches x ranks at this world size.

    A RecipeError (the CLI prints one line and exits 2) and a ValueError, so callers that
    catch the schema's ValueErrors (e.g. the sbatch renderer) keep working.
    """


def control_character(text: str) -> str | None:
    """Why `text` is not a usable path or URI (its first control character), or None."""
    for index, char in enumerate(text):
        if unicodedata.category(char) in _UNPRINTABLE:
            return (
                f"contains control character U+{ord(char):04X} at position {index}: "
                "a path or URI must be printable (a stray newline or NUL from a template?)"
            )
    return None


def printable_uri(value: str | None) -> str | None:
    """Field validator body for path/URI fields."""
    if value is not None:
        problem = control_character(value)
        if problem is not None:
            raise ValueError(problem)
    return value


def non_finite(value: Any, where: str = "") -> str | None:
    """Dotted location of the first inf/NaN float inside `value` (dicts, lists), or None.

    For free-form fields (`model.config`, `deepspeed.overrides`, filter values) that the
    schema's own `allow_inf_nan=False` cannot see into.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return where or "<value>"
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = non_finite(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def require_finite(value: Any) -> Any:
    """Field validator body: refuse inf/NaN anywhere inside `value`."""
    found = non_finite(value)
    if found is not None:
        raise ValueError(f"{found}: must be a finite number (inf and NaN are not allowed)")
    return value
