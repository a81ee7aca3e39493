"""Reading the YAML files users write (recipes, data cards, policy, cluster profiles).

One reader, so every file gets the same treatment: a missing file, bad YAML or a non-mapping
names the file; duplicate keys are refused (PyYAML would silently keep the last one, so a
reviewer could read one `residency:` block while the tools apply another).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sovtrain.errors import SovtrainError


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def parse_mapping(
    text: str, path: Path, what: str, error: type[SovtrainError], empty_ok: bool = False
) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML: {err}") from None
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: a {what} must be a mapping at the top level")
    return data


def read_mapping(
    path: Path, what: str, error: type[SovtrainError], empty_ok: bool = False
) -> dict[str, Any]:
    """The top-level mapping of a YAML file, or `error` naming the file."""
    if not path.is_file():
        raise error(f"{path}: {what} file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read the {what}: {err}") from None
    return parse_mapping(text, path, what, error, empty_ok)
