"""The recipe schema: every field a training job can set, typed and validated.

Field names here are a contract (dashboards, Slurm templates and later tools read them):
`run.name`, `run.seed`, `run.output_uri`, `model.arch`, `model.config`, `model.init_from`,
`train.seq_len`, `train.max_steps`, `checkpoint.interval_steps`, `tracking.uri`,
`tracking.experiment`. Rename nothing without a migration.

Every model forbids unknown keys so that a typo (`trian.lr`) fails loudly instead of being
silently ignored and costing a cluster run.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from sovtrain.recipe.base import Section, printable_uri, require_finite
from sovtrain.recipe.finetune_eval import EvalSection, FinetuneSection, HarnessSection, LoraSection
from sovtrain.recipe.model import ModelSection
from sovtrain.recipe.sources import (
    CHAT_KINDS,
    ChatFilesSource,
    Domain,
    FilesSource,
    FilterOp,
    RowFilter,
    SourceSection,
    SyntheticChatSource,
    SyntheticSource,
)
from sovtrain.recipe.train import OptimizerSection, TrainSection

# The source models live in sources.py, ModelSection in model.py, TrainSection in train.py;
# this module stays the one place to import from.
__all__ = [
    "CHAT_KINDS",
    "ChatFilesSource",
    "CheckpointSection",
    "CleaningSection",
    "DataSection",
    "DeepSpeedSection",
    "Domain",
    "EvalSection",
    "FilesSource",
    "FilterOp",
    "FinetuneSection",
    "HarnessSection",
    "LangLabel",
    "LoraSection",
    "ModelSection",
    "NearDupSection",
    "OffloadSection",
    "OptimizerSection",
    "PiiSection",
    "PiiType",
    "Recipe",
    "RowFilter",
    "RunSection",
    "SourceSection",
    "SyntheticChatSource",
    "SyntheticSource",
    "TokenizerSection",
    "TrackingSection",
    "TrainSection",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RunSection(Section):
    name: str = Field(description="Run name: letters, digits, '.', '_' or '-' (max 64).")
    seed: int = Field(1234, ge=0, description="Global seed; data order and init derive from it.")
    output_uri: str = Field(
        "runs/${run.name}",
        description="Where the run writes data, checkpoints and exports (path or storage URI).",
    )

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        # Run names end up in paths, MLflow and Slurm job names: keep them boring.
        if not _NAME_RE.match(value):
            raise ValueError("must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}")
        return value

    _printable = field_validator("output_uri")(lambda cls, v: printable_uri(v))


class TokenizerSection(Section):
    vocab_size: int = Field(8192, ge=260, le=262144)
    train_chars: int = Field(
        20_000_000, ge=10_000, description="Characters of corpus sampled to train the BPE."
    )
    fertility_report: bool = Field(
        True, description="Also train an English-only BPE and report fertility against it."
    )
    special_tokens: list[str] = Field(
        default_factory=lambda: ["<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"]
    )


PiiType = Literal["email", "hkid", "prc_id", "card", "bank_account", "phone"]
LangLabel = Literal["en", "zh-Hant", "zh-Hans", "mixed", "other"]


def _every_pii_type() -> list[PiiType]:
    return ["email", "hkid", "prc_id", "card", "bank_account", "phone"]


class PiiSection(Section):
    action: Literal["mask", "drop", "keep"] = Field(
        "mask", description="mask: replace with <PII:type>; drop: drop the document; keep."
    )
    types: list[PiiType] = Field(default_factory=_every_pii_type)


class NearDupSection(Section):
    enabled: bool = True
    threshold: float = Field(0.8, gt=0, le=1, description="Estimated Jaccard to call a dup.")
    num_perm: int = Field(64, ge=8, le=1024)
    ngram: int = Field(5, ge=1, le=32, description="Character n-gram length.")


class CleaningSection(Section):
    """Recorded and digested into every shard manifest."""

    nfkc: bool = True
    normalize_whitespace: bool = True
    script: Literal["keep", "zh-Hant-HK", "zh-Hans"] = Field(
        "keep", description="Chinese script policy: keep, or convert with OpenCC."
    )
    languages: list[LangLabel] | None = Field(None, description="Keep only these; None: all.")
    min_chars: int = Field(20, ge=0)
    max_chars: int = Field(1_000_000, ge=1)
    min_text_ratio: float = Field(
        0.5, ge=0, le=1, description="Letters/digits/Han over visible characters."
    )
    dedup_exact: bool = True
    near_dup: NearDupSection = Field(default_factory=NearDupSection)
    pii: PiiSection = Field(default_factory=PiiSection)


def _one_synthetic_source() -> list[SourceSection]:
    return [SyntheticSource()]


class DataSection(Section):
    sources: list[SourceSection] = Field(default_factory=_one_synthetic_source, min_length=1)
    cleaning: CleaningSection = Field(default_factory=CleaningSection)
    prepared_uri: str = Field(
        "${run.output_uri}/data", description="Where tokenizer/ and shards/ are written."
    )
    mixture: dict[str, float] | None = Field(
        None,
        description="Sampling weight per 'domain/language' bucket, e.g. {'finance/en': 0.4, "
        "'finance/zh-Hant': 0.3, 'finance/zh-Hans': 0.3}; None: natural proportions.",
    )
    heldout_fraction: float = Field(0.02, gt=0.0, lt=0.5)
    workers: int = Field(0, ge=0, description="Cleaning processes; 0: one per core (max 8).")
    shard_sequences: int = Field(4096, ge=16, description="Sequences per packed shard file.")

    _printable = field_validator("prepared_uri")(lambda cls, v: printable_uri(v))

    @field_validator("mixture")
    @classmethod
    def _mixture_keys(cls, mixture: dict[str, float] | None) -> dict[str, float] | None:
        for key, weight in (mixture or {}).items():
            if key.count("/") != 1 or weight < 0:
                raise ValueError(f"{key!r}: {weight}: expected 'domain/language': weight >= 0")
        return mixture

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Any]) -> list[Any]:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        return sources


class OffloadSection(Section):
    optimizer: Literal["none", "cpu"] = "none"
    params: Literal["none", "cpu"] = "none"


class DeepSpeedSection(Section):
    zero_stage: Literal[0, 1, 2, 3] = 2
    offload: OffloadSection = Field(default_factory=OffloadSection)
    activation_checkpointing: bool = False
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Raw DeepSpeed config keys merged last."
    )

    _finite = field_validator("overrides")(lambda cls, v: require_finite(v))


class CheckpointSection(Section):
    interval_steps: int = Field(1000, ge=1)
    keep_last: int = Field(3, ge=1, description="Verified checkpoints kept; older are pruned.")
    save_final: bool = True
    # `async` is a Python keyword: the field is `async_save`, the recipe spells it `async`
    model_config = ConfigDict(**Section.model_config, populate_by_name=True)
    async_save: bool = Field(
        False,
        alias="async",
        description="Publish (hash, manifest, rename, latest) in the background; the training "
        "thread pays only for writing the state into staging.",
    )


class TrackingSection(Section):
    enabled: bool = True
    uri: str | None = Field(None, description="MLflow tracking URI; default: sqlite in the run.")

    _printable = field_validator("uri")(lambda cls, v: printable_uri(v))
    experiment: str = "sovtrain"
    queue_size: int = Field(10_000, ge=16)


class Recipe(Section):
    """A whole training job."""

    run: RunSection
    model: ModelSection
    tokenizer: TokenizerSection = Field(default_factory=TokenizerSection)
    data: DataSection = Field(default_factory=DataSection)
    train: TrainSection
    deepspeed: DeepSpeedSection = Field(default_factory=DeepSpeedSection)
    checkpoint: CheckpointSection = Field(default_factory=CheckpointSection)
    tracking: TrackingSection = Field(default_factory=TrackingSection)
    finetune: FinetuneSection | None = None
    eval: EvalSection = Field(default_factory=EvalSection)

    @model_validator(mode="after")
    def _sources_fit_objective(self) -> Recipe:
        chat = [s.name for s in self.data.sources if s.kind in CHAT_KINDS]
        if self.finetune is not None and len(chat) != len(self.data.sources):
            raise ValueError("a finetune recipe reads chat sources only (kind synthetic-chat "
                             "or chat-files)")  # fmt: skip
        if self.finetune is None and chat:
            raise ValueError(f"chat sources {chat} need a `finetune:` section")
        if self.finetune is not None and not self.model.init_from:
            raise ValueError("finetune needs model.init_from (a run, checkpoint or HF dir)")
        return self

    @model_validator(mode="after")
    def _tokenizer_not_with_base(self) -> Recipe:
        """A base's embeddings are indexed by its own tokenizer's ids: a tokenizer trained
        here would give the same text other ids, and the base would read noise."""
        if self.model.init_from and "tokenizer" in self.model_fields_set:
            raise ValueError(
                "tokenizer: with model.init_from the base's own tokenizer is used unchanged "
                "(its ids are what the base learned); remove the tokenizer section"
            )
        return self

    @model_validator(mode="after")
    def _vocab_fits_model(self) -> Recipe:
        # with init_from the vocabulary is the base's (checked when its config is built)
        model_vocab = None if self.model.init_from else self.model.config.get("vocab_size")
        if model_vocab is not None and model_vocab < self.tokenizer.vocab_size:
            raise ValueError(
                f"model.config.vocab_size ({model_vocab}) is smaller than "
                f"tokenizer.vocab_size ({self.tokenizer.vocab_size})"
            )
        max_pos = self.model.config.get("max_position_embeddings")
        if max_pos is not None and max_pos < self.train.seq_len:
            raise ValueError(
                f"train.seq_len ({self.train.seq_len}) exceeds "
                f"model.config.max_position_embeddings ({max_pos})"
            )
        return self
