"""The recipe's `finetune:` (SFT, LoRA) and `eval:` (lm-eval harness tasks during training)
sections: what runs on top of a base, apart from the pre-training job's own fields."""

from __future__ import annotations

from pydantic import Field

from sovtrain.recipe.base import Section


class HarnessSection(Section):
    """lm-evaluation-harness tasks during training (`sovtrain eval --tasks` afterwards)."""

    tasks: list[str] = Field(min_length=1, description="lm-eval task or group names.")
    interval_steps: int = Field(
        ..., ge=1, description="Run the tasks every N steps and at the final step."
    )
    limit: float | None = Field(
        None, gt=0, description="Documents per task (a fraction below 1), as lm_eval --limit."
    )
    num_fewshot: int | None = Field(None, ge=0)
    batch_size: int = Field(1, ge=1)
    include_path: list[str] = Field(
        default_factory=list, description="More task YAML directories (after the shipped ones)."
    )
    data_dir: str | None = Field(
        None, description="The external benchmarks' files (<dir>/ceval, cmmlu, ...)."
    )


class EvalSection(Section):
    harness: HarnessSection | None = None


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
