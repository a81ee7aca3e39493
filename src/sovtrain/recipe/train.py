"""The `train:` section: batch arithmetic, horizon, optimizer, precision and the switches that
trade nothing in the math for speed (fused kernels live under `model:`, compile and fp8 here).

Split from `schema.py` (which re-exports it) to keep each file readable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sovtrain.recipe.base import BatchSplitError, Section


class OptimizerSection(Section):
    lr: float = Field(
        3e-4,
        description="Peak AdamW learning rate, 0 < lr <= 1.",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": 1},
    )
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.1, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0)
    warmup_steps: int = Field(100, ge=0)

    @field_validator("lr")
    @classmethod
    def _sane_lr(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(
                "must be in (0, 1]: AdamW diverges at once above 1 (typical: 1e-5 to 1e-2), "
                "and past 3.4e38 the value overflows float32"
            )
        return value

    @field_validator("betas")
    @classmethod
    def _betas_below_one(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(0 <= beta < 1 for beta in value):
            raise ValueError("AdamW betas must be in [0, 1) (e.g. [0.9, 0.95])")
        return value


class TrainSection(Section):
    seq_len: int = Field(2048, ge=8)
    micro_batch: int = Field(1, ge=1, description="Sequences per device per micro step.")
    global_batch_sequences: int | None = Field(None, ge=1)
    global_batch_tokens: int | None = Field(None, ge=8)
    max_steps: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    grad_clip: float = Field(1.0, ge=0, description="Max global grad norm; 0 disables.")
    precision: Literal["bf16", "fp16", "fp32", "fp8"] = Field(
        "bf16",
        description=(
            "Compute precision. fp8: bf16 weights and optimizer as for bf16, with the "
            "transformer's linear layers in float8 (torchao float8 training; the LM head "
            "stays bf16); needs fp8 tensor cores (Hopper, Ada: H100/H200/H800/H20/L40S). "
            "MFU is then reported against the bf16 peak."
        ),
    )
    fp8_recipe: Literal["tensorwise", "rowwise"] = Field(
        "tensorwise",
        description=(
            "With precision fp8: torchao's scaling recipe. tensorwise: one scale per tensor "
            "(fastest); rowwise: one per row (closer to bf16 for outlier-heavy activations)."
        ),
    )
    compile: bool = Field(
        False,
        description=(
            "torch.compile the model inside the DeepSpeed engine (`engine.compile`): fused "
            "elementwise kernels, fewer launches. The first steps pay the compilation."
        ),
    )
    cross_entropy: Literal["chunked", "full"] = Field(
        "chunked",
        description=(
            "How the loss meets the LM head. chunked: the head matmul and the cross-entropy "
            "run chunk by chunk over tokens, so the fp32 logits of micro_batch x seq_len x "
            "vocab never exist (same loss and gradients). full: transformers' own loss on "
            "the whole logits. Architectures chunked does not know, a LoRA-wrapped lm_head "
            "and ZeRO-3 take the full path with one info line."
        ),
    )
    log_interval: int = Field(10, ge=1)
    eval_interval: int = Field(100, ge=1)
    eval_batches: int = Field(8, ge=1)
    collective_timeout_s: float = Field(
        1800,
        gt=0,
        description=(
            "Seconds a rank may make no progress inside the training loop (a step, an eval, "
            "a checkpoint save, the stop agreement) before every rank exits 5, naming the "
            "stalled rank(s). Must exceed the longest legitimate wait in the loop: with a "
            "synchronous checkpoint the others wait while rank 0 hashes it "
            "(checkpoint.async shortens that wait). Tests set it low."
        ),
    )
    setup_timeout_s: float = Field(
        6 * 3600,
        gt=0,
        description=(
            "Seconds a collective may wait during set-up, before the loop: rank 0 preparing "
            "data, verifying checkpoints or loading a base while the others wait. Prepare "
            "large corpora beforehand with `sovtrain data prepare`."
        ),
    )

    @model_validator(mode="after")
    def _one_batch_and_one_horizon(self) -> TrainSection:
        if (self.global_batch_sequences is None) == (self.global_batch_tokens is None):
            raise ValueError("set exactly one of global_batch_sequences or global_batch_tokens")
        if (self.max_steps is None) == (self.max_tokens is None):
            raise ValueError("set exactly one of max_steps or max_tokens")
        if self.global_batch_tokens is not None and self.global_batch_tokens % self.seq_len:
            raise ValueError("global_batch_tokens must be a multiple of seq_len")
        if self.sequences_per_step % self.micro_batch:
            raise ValueError(
                f"the global batch ({self._batch_field()}) must be a positive multiple of "
                f"micro_batch ({self.micro_batch}): each optimizer step runs whole micro "
                "batches on every rank"
            )
        return self

    def _batch_field(self) -> str:
        if self.global_batch_sequences is not None:
            return f"global_batch_sequences {self.global_batch_sequences}"
        return f"global_batch_tokens {self.global_batch_tokens} = {self.sequences_per_step} seqs"

    @property
    def weights_precision(self) -> Literal["bf16", "fp16", "fp32"]:
        """What the weights, DeepSpeed, checkpoints and MFU's peak use: fp8 trains bf16
        weights (only the matmuls' inputs are cast to float8, per step)."""
        return "bf16" if self.precision == "fp8" else self.precision

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
            raise BatchSplitError(
                f"train: global batch of {self.sequences_per_step} sequences is not divisible "
                f"by micro_batch ({self.micro_batch}) x world size ({world_size}) = {per_micro}: "
                "change the global batch, micro_batch or the number of ranks"
            )
        return self.sequences_per_step // per_micro
