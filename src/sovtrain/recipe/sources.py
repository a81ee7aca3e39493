"""Recipe schema of `data.sources`: generated corpora, files, chat examples, row filters.

Part of the recipe schema (`sovtrain.recipe.schema` re-exports every name); split out so
each file stays readable. The same rules apply: unknown keys fail, numbers are finite.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from sovtrain.recipe.base import Section, printable_uri, require_finite

Domain = Literal["finance", "logistics"]


class SyntheticSource(Section):
    """A generated bilingual corpus (sovtrain.data.synth), deterministic from run.seed."""

    kind: Literal["synthetic"] = "synthetic"
    name: str = Field("synthetic", description="Unique within the recipe; names lineage.")
    domain: Domain = "finance"
    corpus: Literal["finance", "logistics", "hk-bank-comms"] | None = Field(
        None, description="Generator corpus (sovtrain.data.synth.CORPORA); None: the domain's."
    )
    card: str = Field("synthetic-finance-bilingual", description="Data card id of the source.")
    documents: int = Field(20_000, ge=10)
    languages: list[Literal["en", "zh-Hant", "zh-Hans"]] = Field(
        default_factory=lambda: ["en", "zh-Hant", "zh-Hans"]
    )


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


class SyntheticChatSource(Section):
    """Generated bilingual instruction examples (explain / classify / extract / translate)
    for fine-tuning, deterministic from run.seed (sovtrain.data.synth.instruct)."""

    kind: Literal["synthetic-chat"] = "synthetic-chat"
    name: str = Field("synthetic-chat", description="Unique within the recipe; names lineage.")
    domain: Domain = "finance"
    card: str = Field("synthetic-finance-bilingual", description="Data card id of the source.")
    examples: int = Field(2000, ge=10)
    tasks: list[Literal["explain", "classify", "extract", "translate"]] = Field(
        default_factory=lambda: ["explain", "classify", "extract", "translate"]
    )
    languages: list[Literal["en", "zh-Hant", "zh-Hans"]] = Field(
        default_factory=lambda: ["en", "zh-Hant", "zh-Hans"]
    )


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
    SyntheticSource | FilesSource | SyntheticChatSource | ChatFilesSource,
    Field(discriminator="kind"),
]
CHAT_KINDS = ("synthetic-chat", "chat-files")
