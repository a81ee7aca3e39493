"""Reading the YAML files users write (recipes, data cards, policy, cluster profiles).

One reader, so every file gets the same treatment: a missing file, bad YAML or a non-mapping
names the file; duplicate keys are refused (PyYAML would silently keep the last one, so a
reviewer could read one `residency:` block while the tools apply another).

Reading is bounded, because these files come from users and every later stage (extends
merge, `${...}` resolution, schema validation, digests) walks the loaded value as a tree:
- size: at most `SOVTRAIN_YAML_MAX_BYTES` (default 1 MiB; a recipe is a few KB);
- aliases: at most 1,000 alias uses, and the document *expanded* (every alias replaced by
  what it points at, which is what a tree walk sees) at most 200,000 nodes, so a "billion
  laughs" alias bomb is refused after composing its few dozen nodes, not after expanding it;
- nesting: at most 64 levels, expanded, so no walker runs out of stack.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.resolver import Resolver

from sovtrain.core.errors import SovtrainError

MAX_BYTES = 1 << 20
MAX_ALIASES = 1_000
MAX_NODES = 200_000
MAX_DEPTH = 64


class YamlLimitError(Exception):
    """The document exceeds a reading bound; the message says which one, and where."""


def max_bytes() -> int:
    """The size bound in bytes: SOVTRAIN_YAML_MAX_BYTES, default 1 MiB."""
    value = os.environ.get("SOVTRAIN_YAML_MAX_BYTES", "")
    return int(value) if value.isdigit() else MAX_BYTES


class _BoundedComposer(Composer):
    """Composer that counts alias uses and nesting while it builds the node graph."""

    if TYPE_CHECKING:  # the event API of the parser it is mixed with (CParser or Parser)

        def peek_event(self) -> Any: ...

        def check_event(self, *choices: Any) -> bool: ...

    def __init__(self) -> None:
        super().__init__()
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"{_where(event)}more than {MAX_ALIASES:,} aliases")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimitError(f"{_where(event)}nested deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _where(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f"line {mark.line + 1}: " if mark is not None else ""


try:  # libyaml's event parser when present (about 3x faster), our composer on top of it
    from yaml._yaml import CParser

    class _Loader(_BoundedComposer, CParser, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(_BoundedComposer, Reader, Scanner, Parser, SafeConstructor, Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def _unique_mapping(loader: SafeConstructor, node: MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


# the stubs type constructors for yaml's own Loader classes only; ours composes with its own
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)  # type: ignore[type-var]


def _check_expansion(root: Node) -> None:
    """Size and depth of the document with every alias expanded, computed once per node
    (memoized), so it costs as much as the document as written, not as expanded."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, expanded depth)
    active: set[int] = set()

    def measure(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            size, height = sizes[key]
        else:
            if key in active:
                raise YamlLimitError(f"line {node.start_mark.line + 1}: recursive alias")
            active.add(key)
            size, height = 1, 1
            for child in _children(node):
                child_size, child_height = measure(child, depth + 1)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_NODES:
                    raise YamlLimitError(
                        f"aliases expand the document to more than {MAX_NODES:,} nodes "
                        "(an alias bomb?)"
                    )
            active.discard(key)
            sizes[key] = (size, height)
        if depth + height > MAX_DEPTH:
            raise YamlLimitError(f"aliases nest the document deeper than {MAX_DEPTH} levels")
        return size, height

    measure(root, 0)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_bounded(text: str) -> Any:
    """Parse one YAML document within the bounds; YAMLError if malformed, YamlLimitError if
    too large, too aliased or too deep."""
    if len(text) > max_bytes() or len(text.encode("utf-8", "surrogatepass")) > max_bytes():
        raise YamlLimitError(f"larger than the {max_bytes():,}-byte limit")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_expansion(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def _one_line(err: yaml.YAMLError) -> str:
    """`line 3, column 5: found undefined alias 'k' (while ...)`: PyYAML's own text spans
    several lines and names the stream `<unicode string>` instead of the file."""
    if not isinstance(err, yaml.MarkedYAMLError) or err.problem_mark is None:
        return " ".join(str(err).split())
    mark = err.problem_mark
    context = f" ({err.context})" if err.context else ""
    return f"line {mark.line + 1}, column {mark.column + 1}: {err.problem}{context}"


def parse_mapping(
    text: str, path: Path, what: str, error: type[SovtrainError], empty_ok: bool = False
) -> dict[str, Any]:
    """The top-level mapping of YAML `text` read from `path`, or `error` naming the file."""
    try:
        data = load_bounded(text)
    except YamlLimitError as err:
        raise error(f"{path}: refused to load the {what}: {err}") from None
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML: {_one_line(err)}") from None
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: a {what} must be a mapping at the top level")
    return data


def read_mapping(
    path: Path, what: str, error: type[SovtrainError], empty_ok: bool = False
) -> dict[str, Any]:
    """The top-level mapping of a YAML file, or `error` naming the file.

    At most the size bound (+1 byte, to tell "too big") is read, whatever the file claims.
    """
    if not path.is_file():
        raise error(f"{path}: {what} file not found")
    limit = max_bytes()
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
        text = data.decode("utf-8") if len(data) <= limit else ""
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read the {what}: {err}") from None
    if len(data) > limit:
        size = path.stat().st_size
        raise error(
            f"{path}: the {what} is {size:,} bytes, over the {limit:,}-byte limit for YAML "
            "files (SOVTRAIN_YAML_MAX_BYTES)"
        )
    return parse_mapping(text, path, what, error, empty_ok)
