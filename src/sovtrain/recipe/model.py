"""The `model:` section: which architecture to train, or which base to start from.

Two ways to name a model. From scratch: `arch` (a transformers model_type) and `config`
(its keyword arguments). From a base: `init_from` alone; the architecture and config then
come from the base itself (`sovtrain.model.base_config`), and `config` may only carry
settings that leave the base's tensors as they are.

Validation here never reads the base: a recipe validates on a laptop that cannot (or may
not, by residency policy) reach the base's storage. Admission decides about that read;
`sovtrain.model.build.build_config` does it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sovtrain.recipe.base import Section, printable_uri, require_finite

_ARCH_REQUIRED = (
    "Field required (a transformers model_type such as 'llama'), unless init_from names a "
    "base, whose architecture is then used"
)


class ModelSection(Section):
    arch: str | None = Field(
        None,
        description="A transformers model_type, e.g. 'llama' or 'qwen2'; with init_from: "
        "optional (the base's own), and if given it must match the base.",
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments for the transformers config; with init_from: only "
        "settings that keep the base's tensor shapes (e.g. max_position_embeddings, rope_*).",
    )
    init_from: str | None = Field(
        None, description="Run, checkpoint or HF directory to start from (its architecture)."
    )
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] = "sdpa"

    _printable = field_validator("init_from")(lambda cls, v: printable_uri(v))
    _finite = field_validator("config")(lambda cls, v: require_finite(v))

    @model_validator(mode="before")
    @classmethod
    def _arch_or_base(cls, data: Any) -> Any:
        """Without a base there is nothing to take the architecture from; reported on
        `model.arch` as a missing field, which is what it is for such a recipe."""
        if isinstance(data, dict) and data.get("init_from") is None and data.get("arch") is None:
            detail = InitErrorDetails(
                type=PydanticCustomError("missing", _ARCH_REQUIRED), loc=("arch",), input=data
            )
            raise ValidationError.from_exception_data(cls.__name__, [detail])
        return data

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, value: str | None) -> str | None:
        from transformers import CONFIG_MAPPING

        if value is not None and value not in CONFIG_MAPPING:
            raise ValueError(f"unknown transformers model_type {value!r}")
        return value

    @model_validator(mode="after")
    def _config_builds(self) -> ModelSection:
        """Catch bad transformers kwargs at validation time, not minutes into a job.

        With `init_from` the full config needs the base (read later, after admission), so
        only what the recipe alone decides is checked: the keys, when `arch` names a class.
        """
        from sovtrain.model.build import build_config, unknown_config_keys

        if self.init_from is None:
            if self.arch is None:  # set to None after construction
                raise ValueError(f"arch: {_ARCH_REQUIRED}")
            build_config(self)
        elif self.arch is not None:
            from transformers import CONFIG_MAPPING

            config_class = CONFIG_MAPPING[self.arch]
            unknown = unknown_config_keys(config_class, self.config)
            if unknown:
                raise ValueError(
                    f"config: {', '.join(unknown)} not fields of {config_class.__name__}"
                )
        return self
