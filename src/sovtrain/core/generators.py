"""Which generated corpora and SFT kits exist: the one place the data layer asks about them.

Generators live outside the trainer (`sovtrain_synth`, as nanoGPT keeps `data/<name>/prepare.py`
out of its training loop), so the trainer imports, validates recipes and trains on files without
them. The data layer asks this registry for "the corpus named X" or "the SFT kit for domain Y";
a generator package fills it from a plugin module's `register(registry)`.

Discovery is a list of plugin modules imported lazily by name (`DEFAULT_PLUGINS`), not an
entry-point group, because:
- the generators ship in this distribution, so there is nothing to discover that we do not
  already know by name;
- it works wherever the source tree does (`PYTHONPATH=src`, a checkout on a cluster's shared
  disk, a job that never ran `pip install`), where entry-point metadata would be missing or
  stale and a corpus would silently vanish;
- the set and order of plugins are fixed by the code, so the prepare key (which carries the
  generator version) cannot change with whatever else happens to be installed.
Nothing is imported until a recipe or command needs a generator; a plugin whose package is
not installed is recorded as unavailable (and named in the errors), while a plugin that is
installed but fails to import is a bug and raises.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sovtrain.core.errors import DataError

DEFAULT_PLUGINS = ("sovtrain_synth.plugin",)


class GeneratedDocument(Protocol):
    """One generated document in one language (`sovtrain_synth.Document` is one)."""

    @property
    def doc_id(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...


class GeneratedChat(Protocol):
    """One generated chat with its gold data (`sovtrain_synth.instructions.ChatExample`)."""

    @property
    def example_id(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def task(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def messages(self) -> list[dict[str, str]]: ...
    @property
    def reference(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Corpus:
    """A generated corpus: its documents' domain and languages, and its generator, called as
    `generate(seed, documents, languages or None)`."""

    name: str
    domain: str
    languages: tuple[str, ...]
    generate: Callable[[int, int, list[str] | None], Iterator[GeneratedDocument]]


@dataclass(frozen=True)
class ChatKit:
    """Generated instruction examples for one domain, called as
    `generate(seed, examples, tasks, languages)`."""

    domain: str
    generate: Callable[[int, int, tuple[str, ...], tuple[str, ...]], Iterator[GeneratedChat]]


class Registry:
    """Corpora and chat kits by name, filled on first use from `plugins` (module names, each
    with a `register(registry)` function)."""

    def __init__(self, plugins: tuple[str, ...] = DEFAULT_PLUGINS) -> None:
        self._plugins = plugins
        self._clear()
        self._loaded = self._loading = False
        self._lock = threading.RLock()

    def _clear(self) -> None:
        self._corpora: dict[str, Corpus] = {}
        self._kits: dict[str, ChatKit] = {}
        self._versions: dict[str, int] = {}
        self._unavailable: list[str] = []

    # -- what plugins call -------------------------------------------------------------
    def add_corpus(self, corpus: Corpus) -> None:
        if corpus.name in self._corpora:
            raise ValueError(f"generated corpus {corpus.name!r} is registered twice")
        self._corpora[corpus.name] = corpus

    def add_chat_kit(self, kit: ChatKit) -> None:
        if kit.domain in self._kits:
            raise ValueError(f"SFT kit for domain {kit.domain!r} is registered twice")
        self._kits[kit.domain] = kit

    def add_version(self, package: str, version: int) -> None:
        """The version a package bumps whenever the same seed would generate other text."""
        self._versions[package] = version

    # -- what the data layer asks ------------------------------------------------------
    def corpora(self) -> dict[str, Corpus]:
        """Every corpus by name, in registration order."""
        self._load()
        return dict(self._corpora)

    def chat_kits(self) -> dict[str, ChatKit]:
        self._load()
        return dict(self._kits)

    def corpus(self, name: str) -> Corpus:
        corpora = self.corpora()
        if name not in corpora:
            known = ", ".join(corpora) or "none"
            raise DataError(f"no generated corpus {name!r} (corpora: {known}{self._also()})")
        return corpora[name]

    def chat_kit(self, domain: str) -> ChatKit:
        kits = self.chat_kits()
        if domain not in kits:
            known = ", ".join(sorted(kits)) or "none"
            raise DataError(f"no generated instructions for domain {domain!r} (SFT kits: "
                            f"{known}{self._also()})")  # fmt: skip
        return kits[domain]

    def generator_version(self) -> int | dict[str, int] | None:
        """What the prepare key records of the generators: one package's version as a plain
        int (so keys made before generators were plugins still match), several packages'
        by name, None when no generator is installed."""
        self._load()
        if len(self._versions) == 1:
            return next(iter(self._versions.values()))
        return dict(sorted(self._versions.items())) or None

    def unavailable(self) -> tuple[str, ...]:
        """Generator packages named by a plugin but not installed."""
        self._load()
        return tuple(self._unavailable)

    def missing_note(self) -> str:
        """'<package> is not installed' for error messages, or '' when every one is."""
        missing = self.unavailable()
        if not missing:
            return ""
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed"

    def _also(self) -> str:
        note = self.missing_note()
        return f"; {note}" if note else ""

    def _load(self) -> None:
        with self._lock:  # re-entrant: a plugin's register() may look itself up
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                for name in self._plugins:
                    self._load_plugin(name)
            except BaseException:  # nothing half-registered stays behind; the next call retries
                self._clear()
                raise
            else:
                self._loaded = True
            finally:
                self._loading = False

    def _load_plugin(self, name: str) -> None:
        package = name.partition(".")[0]
        try:
            importlib.import_module(package)
        except ModuleNotFoundError as err:
            if err.name != package:  # installed, but importing it fails: a bug, not absence
                raise
            self._unavailable.append(package)
            return
        importlib.import_module(name).register(self)


generators = Registry()
"""The process-wide registry the data layer and recipe validation ask."""
