"""Load a recipe: YAML -> `extends` chain -> `--set` overrides -> `${...}` references -> schema.

The resolved recipe (every default filled in) is what runs, what is logged to MLflow and what
the digest covers, so two runs with equal digests trained the same job.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sovtrain.core.errors import RecipeError
from sovtrain.core.yamlio import MAX_DEPTH, YamlLimitError, load_bounded, read_mapping
from sovtrain.recipe.base import control_character
from sovtrain.recipe.schema import Recipe

# Fields that exclude each other: a layer (child recipe or --set) that sets one drops the
# other inherited from below, so `--set train.max_steps=40` works on a max_tokens recipe.
_EXCLUSIVE = [
    ("train", "max_steps", "max_tokens"),
    ("train", "global_batch_sequences", "global_batch_tokens"),
]
_REF_RE = re.compile(r"\$\{([a-z_]+(?:\.[a-z_]+)+)\}")
_MAX_EXTENDS_DEPTH = 8
_MAX_RESOLVED_CHARS = 65_536  # one string after `${...}` substitution
_MAX_SUBSTITUTED_CHARS = 1 << 20  # all substitutions of one recipe together


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe plus where it came from."""

    recipe: Recipe
    path: Path
    digest: str

    def resolved_dict(self) -> dict[str, Any]:
        return resolved_dict(self.recipe)

    def resolved_yaml(self) -> str:
        return yaml.safe_dump(self.resolved_dict(), sort_keys=False, allow_unicode=True)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> LoadedRecipe:
    """Read, compose, override, resolve and validate the recipe at `path`."""
    path = Path(path)
    raw = _read_with_extends(path, depth=0)
    for override in overrides or []:
        _apply_override(raw, override, path)
    raw = _resolve_references(raw, path)
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as err:
        raise RecipeError(_recipe_problems(err, path)) from None
    return LoadedRecipe(recipe=recipe, path=path, digest=recipe_digest(recipe))


def resolved_dict(recipe: Recipe) -> dict[str, Any]:
    """Every field with its default filled in, less what does not apply: with
    `model.init_from` the base's tokenizer is used, so no `tokenizer:` section is written
    (reloading the resolved recipe would refuse one next to init_from)."""
    exclude = {"tokenizer"} if recipe.model.init_from else None
    return recipe.model_dump(mode="json", exclude=exclude, by_alias=True)


def recipe_digest(recipe: Recipe) -> str:
    """sha256 of the canonical JSON of the resolved recipe."""
    canonical = json.dumps(resolved_dict(recipe), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def format_validation_error(err: ValidationError, path: Path, what: str = "recipe") -> str:
    """One line per problem: `file: dotted.field: what was expected (got ...)`."""
    lines = [f"{path}: invalid {what} ({err.error_count()} problem(s))"]
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "<root>"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown field (check the spelling against the schema)"
        got = problem.get("input")
        shown = problem["type"] not in ("missing", "extra_forbidden") and not isinstance(
            got, dict | list
        )
        got_text = f" (got {got!r})" if shown else ""
        lines.append(f"  {path}: {where}: {message}{got_text}")
    return "\n".join(lines)


def _recipe_problems(err: ValidationError, path: Path) -> str:
    """One problem: one line, `file: dotted.field: rule (got ...)`; several: a list."""
    if err.error_count() != 1:
        return format_validation_error(err, path)
    return format_validation_error(err, path).splitlines()[1].strip()


def _read_yaml(path: Path) -> dict[str, Any]:
    return read_mapping(path, "recipe", RecipeError, empty_ok=True)


def _read_with_extends(path: Path, depth: int) -> dict[str, Any]:
    """Read `path`; if it `extends:` a base (relative to itself), deep-merge over that base."""
    if depth > _MAX_EXTENDS_DEPTH:
        raise RecipeError(f"{path}: `extends` chain deeper than {_MAX_EXTENDS_DEPTH} (a cycle?)")
    data = _read_yaml(path)
    base_ref = data.pop("extends", None)
    if base_ref is None:
        return data
    if not isinstance(base_ref, str):
        raise RecipeError(f"{path}: extends: expected a relative path string")
    base = _read_with_extends((path.parent / base_ref).resolve(), depth + 1)
    _drop_excluded(base, data)
    return deep_merge(base, data)


def _drop_excluded(base: dict[str, Any], layer: dict[str, Any]) -> None:
    for section, one, other in _EXCLUSIVE:
        below, above = base.get(section), layer.get(section)
        if not isinstance(below, dict) or not isinstance(above, dict):
            continue
        for mine, theirs in ((one, other), (other, one)):
            if mine in above and theirs not in above:
                below.pop(theirs, None)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `over` replaces what `base` had."""
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _apply_override(raw: dict[str, Any], override: str, path: Path) -> None:
    """Apply `a.b.c=value`; the value is parsed as YAML so `3e-4`, `true`, `[1,2]` keep types."""
    key, sep, text = override.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise RecipeError(f"{path}: override {override!r}: expected dotted.key=value")
    if key.count(".") >= MAX_DEPTH:
        raise RecipeError(f"{path}: override {key[:80]!r}...: deeper than {MAX_DEPTH} levels")
    value = _parse_scalar(text, key, path)
    parts = key.split(".")
    layer: dict[str, Any] = {}
    cursor = layer
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    _drop_excluded(raw, layer)
    node: Any = raw
    for part in parts[:-1]:
        if isinstance(node, list):  # `data.sources.0.documents`: list items by index
            node = _list_item(node, part, override, path)
            continue
        child = node.setdefault(part, {})
        if not isinstance(child, dict | list):
            raise RecipeError(f"{path}: override {override!r}: {part!r} is not a section")
        node = child
    if isinstance(node, list):
        _list_item(node, parts[-1], override, path)
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def _list_item(items: list[Any], part: str, override: str, path: Path) -> Any:
    if not part.isdigit() or int(part) >= len(items):
        raise RecipeError(
            f"{path}: override {override!r}: {part!r} is not an index below {len(items)}"
        )
    return items[int(part)]


def _parse_scalar(text: str, key: str, path: Path) -> Any:
    """YAML typing for override values, plus floats YAML 1.1 leaves as strings (`1e30`).
    Parsed within the same bounds as recipe files: an override is user input too."""
    try:
        value = load_bounded(text) if text else ""
    except YamlLimitError as err:
        raise RecipeError(f"{path}: override {key}: refused to load the value: {err}") from None
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _lookup(raw: dict[str, Any], dotted: str) -> Any:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _resolve_references(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """Replace `${section.field}` in strings with that field's value (after defaults)."""
    defaults = {
        "run": {"output_uri": "runs/${run.name}"},
        "data": {"prepared_uri": "${run.output_uri}/data"},
    }
    resolver = _Resolver(deep_merge(defaults, raw), path)
    return resolver.walk(resolver.merged)


class _Resolver:
    """`${...}` substitution with bounded output.

    Each reference is resolved once (memoized), no string may grow past
    `_MAX_RESOLVED_CHARS` and all substitutions together may not produce more than
    `_MAX_SUBSTITUTED_CHARS`: otherwise fields that reference each other twice over
    (`b: "${x.a}${x.a}"`, `c: "${x.b}${x.b}"`, ...) double the text at every level.
    A referenced value with a control character is refused here, naming the field where it
    was written, rather than blamed on every field it would be copied into.
    """

    def __init__(self, merged: dict[str, Any], path: Path) -> None:
        self.merged = merged
        self.path = path
        self.cache: dict[str, str] = {}
        self.produced = 0

    def walk(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {k: self.walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v) for v in node]
        if isinstance(node, str):
            return self.substitute(node, ())
        return node

    def substitute(self, text: str, seen: tuple[str, ...]) -> str:
        if "${" not in text:
            return text
        parts, size, end = [], 0, 0
        for match in _REF_RE.finditer(text):
            value = self.reference(match.group(1), seen)
            parts += [text[end : match.start()], value]
            size += match.start() - end + len(value)
            end = match.end()
            self._charge(size, match.group(1))
        parts.append(text[end:])
        return "".join(parts)

    def reference(self, ref: str, seen: tuple[str, ...]) -> str:
        if ref in seen:
            raise RecipeError(f"{self.path}: circular reference ${{{ref}}}")
        if ref not in self.cache:
            value = _lookup(self.merged, ref)
            if value is None or isinstance(value, dict | list):
                raise RecipeError(f"{self.path}: ${{{ref}}} does not name a scalar field")
            problem = control_character(str(value))
            if problem is not None:
                raise RecipeError(f"{self.path}: {ref}: {problem} (got {value!r})")
            self.cache[ref] = self.substitute(str(value), (*seen, ref))
        return self.cache[ref]

    def _charge(self, size: int, ref: str) -> None:
        self.produced += len(self.cache[ref])
        if size > _MAX_RESOLVED_CHARS or self.produced > _MAX_SUBSTITUTED_CHARS:
            raise RecipeError(
                f"{self.path}: ${{{ref}}}: references expand past {_MAX_RESOLVED_CHARS:,} "
                f"characters in one string or {_MAX_SUBSTITUTED_CHARS:,} in all "
                "(fields referencing each other repeatedly?)"
            )
