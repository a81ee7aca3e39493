"""Recipe schema of `data.sources`: generated corpora, files, `datasets` directories, chat
examples, row filters.

Part of the recipe schema (`sovtrain.recipe.schema` re-exports every name); split out so
each file stays readable. The same rules apply: unknown keys fail, numbers are finite.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field, field_validator, model_validator

from sovtrain.core.generators import generators
from sovtrain.recipe.base import Section, printable_uri, require_finite

DOMAIN_PATTERN = r"^[a-z][a-z0-9-]{1,31}$"


def _domain_name(value: str) -> str:
    """Any lowercase name: a domain is whatever the data is about (healthcare, insurance...);
    it names shard buckets and `data.mixture` keys ('domain/language'), so no '/' or spaces."""
    if not re.match(DOMAIN_PATTERN, value):
        raise ValueError(
            f"domain {value!r}: use lowercase letters, digits and '-', starting with a letter "
            "(2-32 characters), e.g. healthcare"
        )
    return value


Language = Literal["en", "zh-Hant", "zh-Hans"]
ChatTask = Literal["explain", "classify", "extract", "translate"]
Domain = Annotated[
    str, AfterValidator(_domain_name), Field(json_schema_extra={"pattern": DOMAIN_PATTERN})
]


def _needs_generators(
    source: str, kind: str, registered: dict[str, Any], domain: str, read: str
) -> None:
    """Nothing registered for a generated kind (its package is not installed): say that,
    rather than list no corpora."""
    if not registered:
        missing = generators.missing_note() or "no generator package registered one"
        raise ValueError(
            f"source {source!r}: kind {kind} needs a generator package ({missing}): "
            f"install it, or read your own {domain} {read}"
        )


def _generated_corpus(source: str, domain: str, corpus: str | None) -> None:
    """A synthetic source generates text, so its domain needs a generator (finance,
    logistics); a corpus named explicitly must produce documents of the source's domain,
    since the documents are bucketed by the corpus's domain."""
    corpora = generators.corpora()
    _needs_generators(source, "synthetic", corpora, domain, "data with kind files or hf-dataset")
    name = corpus or domain
    if name not in corpora:
        domains = sorted({c.domain for c in corpora.values()})
        raise ValueError(
            f"source {source!r}: no generated corpus for domain {domain!r} (kind synthetic "
            f"has {', '.join(domains)}; corpora {', '.join(sorted(corpora))}): read your "
            f"own {domain} data with kind files or hf-dataset"
        )
    if corpora[name].domain != domain:
        raise ValueError(f"source {source!r}: corpus {name!r} generates "
                         f"{corpora[name].domain} documents, not domain {domain!r}")  # fmt: skip


class SyntheticSource(Section):
    """A generated bilingual corpus (sovtrain_synth), deterministic from run.seed."""

    kind: Literal["synthetic"] = "synthetic"
    name: str = Field("synthetic", description="Unique within the recipe; names lineage.")
    domain: Domain = "finance"
    corpus: Literal["finance", "logistics", "hk-bank-comms"] | None = Field(
        None, description="Generator corpus (sovtrain_synth.CORPORA); None: the domain's."
    )
    card: str = Field("synthetic-finance-bilingual", description="Data card id of the source.")
    documents: int = Field(20_000, ge=10)
    languages: list[Language] = Field(default_factory=lambda: list(get_args(Language)))

    @model_validator(mode="after")
    def _corpus_exists(self) -> SyntheticSource:
        _generated_corpus(self.name, self.domain, self.corpus)
        return self


FilterOp = Literal["==", "!=", "in", "not_in", ">=", "<=", "matches"]


class RowFilter(Section):
    """Keep a row only when `row[field] <op> value` holds (e.g. drop one desk's records)."""

    field: str
    op: FilterOp = "=="
    value: Any

    _finite = field_validator("value")(lambda cls, v: require_finite(v))

    @model_validator(mode="after")
    def _value_fits_op(self) -> RowFilter:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value")
        if self.op in (">=", "<=") and not isinstance(self.value, int | float):
            raise ValueError(f"op {self.op!r} needs a number")
        if self.op == "matches":
            try:
                re.compile(str(self.value))
            except re.error as err:
                raise ValueError(f"bad regular expression {self.value!r}: {err}") from None
        return self

    def passes(self, row: dict[str, Any]) -> bool:
        if self.field not in row or row[self.field] is None:
            return False
        got = row[self.field]
        if self.op == "==":
            return bool(got == self.value)
        if self.op == "!=":
            return bool(got != self.value)
        if self.op == "in":
            return got in self.value
        if self.op == "not_in":
            return got not in self.value
        if self.op == "matches":
            return re.search(str(self.value), str(got)) is not None
        try:
            number = float(got)
        except (TypeError, ValueError):
            return False
        return number >= self.value if self.op == ">=" else number <= self.value


class FilesSource(Section):
    """Documents in files on local disk or any storage URI (read through sovtrain.storage)."""

    kind: Literal["files"] = "files"
    name: str = Field(description="Unique within the recipe; names lineage.")
    domain: Domain
    card: str = Field(description="Data card id of the source.")
    uri: str = Field(description="A file, or a glob in the last path part: s3://b/raw/*.jsonl")
    format: Literal["jsonl", "parquet", "text"] = "jsonl"
    text_field: str = Field("text", description="Field holding the text (jsonl, parquet).")
    filters: list[RowFilter] = Field(
        default_factory=list,
        description="Row filters (jsonl, parquet), all must pass: [{field: lang, op: in, "
        "value: [en, zh]}]. A row without the field fails the filter.",
    )
    max_documents: int | None = Field(None, ge=1)
    on_bad_rows: Literal["error", "skip"] = Field(
        "error",
        description="A row that is not valid UTF-8 / JSON / an object, or lacks text_field: "
        "error (stop, naming file and line) or skip (counted as bad_rows per source).",
    )

    _printable = field_validator("uri")(lambda cls, v: printable_uri(v))

    @model_validator(mode="after")
    def _filters_need_fields(self) -> FilesSource:
        if self.filters and self.format == "text":
            raise ValueError("filters need fields: use format jsonl or parquet")
        return self


class HfDatasetSource(FilesSource):
    """Documents in a dataset directory read with `datasets`: a `save_to_disk` directory
    (`load_from_disk`), or a directory of parquet or json(l) files (`load_dataset`,
    streamed, so nothing is cached outside the storage layer). The directory is reached
    through sovtrain.storage (a local copy when it is remote), so residency guards see it.

    A subclass of FilesSource on purpose: the same fields, filters, bad-row handling and
    counts, and everything that asks "does this source read a location?" (admission,
    input fingerprints) sees it as one.
    """

    kind: Literal["hf-dataset"] = "hf-dataset"  # type: ignore[assignment]
    uri: str = Field(description="A `save_to_disk` directory, or one of parquet/json(l) files.")
    format: Literal["auto", "arrow", "parquet", "json"] = Field(  # type: ignore[assignment]
        "auto",
        description="arrow: a save_to_disk directory; parquet / json: a directory of such "
        "files; auto: whichever the directory holds.",
    )
    split: str = Field("train", description="Which split of a saved DatasetDict to read.")
    on_bad_rows: Literal["error", "skip"] = Field(
        "error",
        description="A row whose text_field is not text (an unpaired surrogate): error or "
        "skip. A file `datasets` cannot parse at all is always an error.",
    )


class SyntheticChatSource(Section):
    """Generated bilingual instruction examples (explain / classify / extract / translate)
    for fine-tuning, deterministic from run.seed (sovtrain_synth.instructions)."""

    kind: Literal["synthetic-chat"] = "synthetic-chat"
    name: str = Field("synthetic-chat", description="Unique within the recipe; names lineage.")
    domain: Domain = "finance"
    card: str = Field("synthetic-finance-bilingual", description="Data card id of the source.")
    examples: int = Field(2000, ge=10)
    tasks: list[ChatTask] = Field(default_factory=lambda: list(get_args(ChatTask)))
    languages: list[Language] = Field(default_factory=lambda: list(get_args(Language)))

    @model_validator(mode="after")
    def _domain_has_kit(self) -> SyntheticChatSource:
        kits = generators.chat_kits()
        _needs_generators(
            self.name, "synthetic-chat", kits, self.domain, "chats with kind chat-files"
        )
        if self.domain not in kits:
            raise ValueError(
                f"source {self.name!r}: no generated instructions for domain {self.domain!r} "
                f"(kind synthetic-chat has {', '.join(sorted(kits))}): read your own "
                f"{self.domain} chats with kind chat-files"
            )
        return self


class ChatFilesSource(Section):
    """Chat examples in JSON lines: {"messages": [{"role": ..., "content": ...}, ...]}."""

    kind: Literal["chat-files"] = "chat-files"
    name: str
    domain: Domain
    card: str
    uri: str = Field(description="A file, or a glob in the last path part.")
    messages_field: str = "messages"
    max_examples: int | None = Field(None, ge=1)

    _printable = field_validator("uri")(lambda cls, v: printable_uri(v))


SourceSection = Annotated[
    SyntheticSource | FilesSource | HfDatasetSource | SyntheticChatSource | ChatFilesSource,
    Field(discriminator="kind"),
]
CHAT_KINDS = ("synthetic-chat", "chat-files")
