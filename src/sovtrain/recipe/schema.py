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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Section(BaseModel):
    """Base for every recipe section: strict keys, validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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


class ModelSection(Section):
    arch: str = Field(description="A transformers model_type, e.g. 'llama' or 'qwen2'.")
    config: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the transformers config."
    )
    init_from: str | None = Field(None, description="Checkpoint or HF directory to start from.")
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] = "sdpa"

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, value: str) -> str:
        from transformers import CONFIG_MAPPING

        if value not in CONFIG_MAPPING:
            raise ValueError(f"unknown transformers model_type {value!r}")
        return value

    @model_validator(mode="after")
    def _config_builds(self) -> ModelSection:
        """Catch bad transformers kwargs at validation time, not minutes into a job."""
        from sovtrain.model.build import build_config

        build_config(self)
        return self


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


SourceSection = Annotated[
    SyntheticSource | FilesSource | SyntheticChatSource | ChatFilesSource,
    Field(discriminator="kind"),
]
CHAT_KINDS = ("synthetic-chat", "chat-files")


PiiType = Literal["email", "hkid", "prc_id", "card", "bank_account", "phone"]
LangLabel = Literal["en", "zh-Hant", "zh-Hans", "mixed", "other"]


class PiiSection(Section):
    action: Literal["mask", "drop", "keep"] = Field(
        "mask", description="mask: replace with <PII:type>; drop: drop the document; keep."
    )
    types: list[PiiType] = Field(
        default_factory=lambda: ["email", "hkid", "prc_id", "card", "bank_account", "phone"]
    )


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


class DataSection(Section):
    sources: list[SourceSection] = Field(default_factory=lambda: [SyntheticSource()], min_length=1)
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


class OptimizerSection(Section):
    lr: float = Field(3e-4, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.1, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0)
    warmup_steps: int = Field(100, ge=0)


class TrainSection(Section):
    seq_len: int = Field(2048, ge=8)
    micro_batch: int = Field(1, ge=1, description="Sequences per device per micro step.")
    global_batch_sequences: int | None = Field(None, ge=1)
    global_batch_tokens: int | None = Field(None, ge=8)
    max_steps: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    grad_clip: float = Field(1.0, ge=0, description="Max global grad norm; 0 disables.")
    precision: Literal["bf16", "fp16", "fp32"] = "bf16"
    log_interval: int = Field(10, ge=1)
    eval_interval: int = Field(100, ge=1)
    eval_batches: int = Field(8, ge=1)

    @model_validator(mode="after")
    def _one_batch_and_one_horizon(self) -> TrainSection:
        if (self.global_batch_sequences is None) == (self.global_batch_tokens is None):
            raise ValueError("set exactly one of global_batch_sequences or global_batch_tokens")
        if (self.max_steps is None) == (self.max_tokens is None):
            raise ValueError("set exactly one of max_steps or max_tokens")
        if self.global_batch_tokens is not None and self.global_batch_tokens % self.seq_len:
            raise ValueError("global_batch_tokens must be a multiple of seq_len")
        return self

    @property
    def sequences_per_step(self) -> int:
        if self.global_batch_sequences is not None:
            return self.global_batch_sequences
        assert self.global_batch_tokens is not None
        return self.global_batch_tokens // self.seq_len

    @property
    def tokens_per_step(self) -> int:
        return self.sequences_per_step * self.seq_len

    @property
    def total_steps(self) -> int:
        if self.max_steps is not None:
            return self.max_steps
        assert self.max_tokens is not None
        return -(-self.max_tokens // self.tokens_per_step)

    def grad_accumulation(self, world_size: int) -> int:
        """Micro steps per optimizer step so that the global batch holds at any world size."""
        per_micro = self.micro_batch * world_size
        if self.sequences_per_step % per_micro:
            raise ValueError(
                f"global batch of {self.sequences_per_step} sequences is not divisible by "
                f"micro_batch ({self.micro_batch}) x world size ({world_size})"
            )
        return self.sequences_per_step // per_micro


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


class CheckpointSection(Section):
    interval_steps: int = Field(1000, ge=1)
    keep_last: int = Field(3, ge=1, description="Verified checkpoints kept; older are pruned.")
    save_final: bool = True


class TrackingSection(Section):
    enabled: bool = True
    uri: str | None = Field(None, description="MLflow tracking URI; default: sqlite in the run.")
    experiment: str = "sovtrain"
    queue_size: int = Field(10_000, ge=16)


class LoraSection(Section):
    """Parameter-efficient fine-tuning (peft LoRA): only the adapters train."""

    r: int = Field(16, ge=1, le=1024)
    alpha: float = Field(32.0, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
    )


class FinetuneSection(Section):
    """Supervised fine-tuning on chat examples (present = this recipe fine-tunes).

    The base comes from `model.init_from`; its tokenizer is reused (with the chat template
    stored alongside it). Loss is on assistant tokens only; short examples are packed into
    `train.seq_len` rows with position ids restarting per example, which transformers turns
    into a block-diagonal causal mask (no attention across examples).
    """

    lora: LoraSection | None = None
    packing: bool = Field(True, description="Pack examples into rows; false: one per row.")
    eval_examples: int = Field(
        24, ge=0, description="Held-out examples per task used for task metrics at eval time."
    )


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
    def _vocab_fits_model(self) -> Recipe:
        model_vocab = self.model.config.get("vocab_size")
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
