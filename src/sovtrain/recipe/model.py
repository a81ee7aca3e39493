"""The `model:` section: which architecture to train, or which base to start from.

Two ways to name a model. From scratch: `arch` (a transformers model_type) and `config`
(its keyword arguments). From a base: `init_from` alone; the architecture and config then
come from the base itself (`sovtrain.model.base_config`), and `config` may only carry
settings that leave the base's tensors as they are.

Validation here never reads the base: a recipe validates on a laptop that cannot (or may
not, by residency policy) reach the base's storage. Admission decides about that read;
`sovtrain.model.build.build_config` does it.

Which keys `config` may carry is the schema's own business, so it lives here: the fields
of the transformers config class `arch` names (`unknown_config_keys`), and the config
`arch` + `config` give (`arch_config`), which `sovtrain.model.build` then trains. The
recipe needs transformers' config classes for that, never a model or sovtrain.model.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sovtrain.recipe.base import Section, printable_uri, require_finite

if TYPE_CHECKING:
    from transformers import PretrainedConfig

# model_types whose Liger-Kernel patch (`apply_liger_kernel_to_<arch>`) we have checked
# against transformers 5: the bilingual bases' families (Yi and DeepSeek dense are llama)
LIGER_ARCHS = ("llama", "mistral", "qwen2", "qwen3")

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
    kernels: Literal["none", "liger"] = Field(
        "none",
        description=(
            "Fused kernels. liger: Liger-Kernel's Triton RMSNorm, RoPE, SwiGLU and (with "
            "train.cross_entropy chunked) fused linear cross-entropy, patched into the "
            f"model; CUDA only. Architectures: {', '.join(LIGER_ARCHS)}."
        ),
    )

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

    @model_validator(mode="after")
    def _liger_knows_arch(self) -> ModelSection:
        """With a base the architecture is known only when it is read (`model.kernels`
        checks it there); a named one is checked now."""
        if self.kernels == "liger" and self.arch is not None and self.arch not in LIGER_ARCHS:
            raise ValueError(
                f"model.kernels: liger has no kernels for arch {self.arch!r} here (supported: "
                f"{', '.join(LIGER_ARCHS)}); set model.kernels: none"
            )
        return self

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
        if self.init_from is None:
            if self.arch is None:  # set to None after construction
                raise ValueError(f"arch: {_ARCH_REQUIRED}")
            arch_config(self)
        elif self.arch is not None:
            from transformers import CONFIG_MAPPING

            config_class = CONFIG_MAPPING[self.arch]
            unknown = unknown_config_keys(config_class, self.config)
            if unknown:
                raise ValueError(
                    f"config: {', '.join(unknown)} not fields of {config_class.__name__}"
                )
        return self


def arch_config(section: ModelSection, vocab_size: int | None = None) -> PretrainedConfig:
    """A fresh transformers config from `model.arch` + `model.config` (no base involved),
    `vocab_size` filled in unless the recipe sets it; ValueError names what is wrong."""
    from transformers import AutoConfig

    if section.arch is None:
        raise ValueError(f"config invalid for arch None: {_ARCH_REQUIRED}")
    kwargs: dict[str, Any] = dict(section.config)
    if vocab_size is not None:
        kwargs.setdefault("vocab_size", vocab_size)
    try:
        config = AutoConfig.for_model(section.arch, **kwargs)
    except Exception as err:  # transformers raises several types for bad kwargs
        raise ValueError(f"config invalid for arch {section.arch!r}: {err}") from None
    unknown = unknown_config_keys(type(config), section.config)
    if unknown:
        raise ValueError(f"config: {', '.join(unknown)} not fields of {type(config).__name__}")
    return config


# Spellings transformers still accepts and folds into `rope_parameters` (config.json files
# written before transformers 5 use them), though they are no longer declared fields.
LEGACY_KEYS = frozenset({"rope_theta", "rope_scaling"})


def unknown_config_keys(config_class: type[PretrainedConfig], keys: Iterable[str]) -> list[str]:
    """Keys that are not fields of `config_class`, sorted.

    PretrainedConfig keeps unknown kwargs as attributes, so a typo like `hiden_size` would
    pass silently; compare against the config class's declared fields instead.
    """
    declared = set(inspect.signature(config_class.__init__).parameters) | LEGACY_KEYS
    return sorted(k for k in keys if k not in declared)
