"""The transformers config of the base named by `model.init_from`: the base decides the
architecture, the recipe may only adjust settings that leave its tensors as they are.

A user starting from an open-weight model writes `model.init_from: /path/to/hf-dir` and
nothing else; copying `hidden_size`, `num_key_value_heads`, ... from the base's config.json
into a recipe is where a mismatch creeps in (and is found only when the weights do not load,
after the queue wait). So:

    HF directory          its config.json, read through `sovtrain.storage`
    sovtrain run / ckpt   the base run's own recipe (`arch` + `config`, or, if that run
                          itself started from a base, that base's config), with the
                          vocabulary of the tokenizer it trained on

and then `model.config` overrides: a key equal to the base's value is fine; a key from
`SHAPE_NEUTRAL` may change (checked once more against the tensor shapes the change gives);
anything else is a one-line error naming the key, the base's value and the recipe's.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from transformers import CONFIG_MAPPING, AutoModelForCausalLM, PretrainedConfig

from sovtrain import storage
from sovtrain.core.errors import RecipeError, SovtrainError
from sovtrain.model.base import base_run_manifest
from sovtrain.model.init import resolve_base
from sovtrain.recipe.model import arch_config, unknown_config_keys
from sovtrain.recipe.schema import ModelSection

_PURPOSE = "base-model"
_MAX_DEPTH = 8  # bases of bases (a run fine-tuned from a run ...); deeper is a cycle

# Settings that change how a trained base computes, never which tensors it has or their
# shapes, so its weights still load one to one. Each is here for a reason:
SHAPE_NEUTRAL = frozenset(
    {
        # context length: rotary positions are computed, not learned (a learned position
        # table, as in OPT, would change shape: the tensor-shape check refuses that)
        "max_position_embeddings",
        # rotary frequencies and context extension (linear, dynamic, YaRN, llama3 ...):
        # recomputed buffers, not weights; rope_theta/rope_scaling are the pre-5.x spellings
        "rope_parameters",
        "rope_theta",
        "rope_scaling",
        # which keys a query attends to, not what it is computed with
        "sliding_window",
        "use_sliding_window",
        "max_window_layers",
        # soft caps on logits (Gemma 2): a clamp on values, no parameters
        "attn_logit_softcapping",
        "final_logit_softcapping",
        # inference / bookkeeping switches
        "use_cache",
        "output_router_logits",  # MoE: return router logits for the auxiliary loss
        "router_aux_loss_coef",  # MoE: weight of that loss
        # only used to initialise weights, and every weight comes from the base
        "initializer_range",
    }
)  # plus every dropout probability (`*dropout*`, GPT-2's `*_pdrop`): off at eval


def shape_neutral(key: str) -> bool:
    """May `key` differ from the base's value? (The tensor-shape check still applies.)"""
    return key in SHAPE_NEUTRAL or "dropout" in key or key.endswith("_pdrop")


def base_model_config(section: ModelSection, depth: int = 0) -> PretrainedConfig:
    """The config to train `section.init_from` with: the base's, plus allowed overrides."""
    where = section.init_from or ""
    if depth > _MAX_DEPTH:
        raise SovtrainError(
            f"model.init_from {where}: more than {_MAX_DEPTH} bases in a chain (a cycle?)"
        )
    base = resolve_base(where)
    if base.kind == "hf":
        config = hf_config(base.uri, where)
    else:
        recipe = base.run_recipe
        config = _run_config(recipe.model, recipe.data.prepared_uri, where, depth)
    if section.arch is not None and section.arch != config.model_type:
        raise RecipeError(
            f"model.arch: {section.arch!r} differs from the base's model_type "
            f"{config.model_type!r}; remove model.arch (the base's architecture is used)"
        )
    return apply_overrides(config, section.config, where)


def hf_config(uri: str, where: str) -> PretrainedConfig:
    """The config.json of an HF directory, as its transformers config class (no hub, no
    custom code: a model_type this transformers does not know is an error)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    text = storage.read_text(storage.join(uri, "config.json"), purpose=_PURPOSE)
    try:
        data = json.loads(text)
    except ValueError as err:
        raise SovtrainError(f"model.init_from {where}: config.json is not JSON ({err})") from None
    model_type = data.get("model_type") if isinstance(data, dict) else None
    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        raise SovtrainError(
            f"model.init_from {where}: config.json model_type {model_type!r} is not one this "
            "transformers knows (custom model code is not run)"
        )
    try:
        config = CONFIG_MAPPING[model_type].from_dict(data)
    except Exception as err:  # transformers raises several types for a bad config
        raise SovtrainError(f"model.init_from {where}: config.json: {_one_line(err)}") from None
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise SovtrainError(
            f"model.init_from {where}: model_type {model_type!r} has no causal-LM model in "
            "transformers (sovtrain trains next-token prediction)"
        )
    return config


def _run_config(model: ModelSection, prepared_uri: str, where: str, depth: int) -> PretrainedConfig:
    """A sovtrain base: its recipe's model, sized for the tokenizer it trained with (the
    same vocabulary the session filled in from its shard manifest back then)."""
    if model.init_from:  # itself started from a base: that base's config, as it resolved
        return base_model_config(model, depth + 1)
    manifest = base_run_manifest(prepared_uri)
    try:
        return arch_config(model, manifest["vocab_size"])
    except ValueError as err:
        raise SovtrainError(
            f"model.init_from {where}: the base run's model section no longer builds: {err}"
        ) from None


def apply_overrides(
    base: PretrainedConfig, overrides: dict[str, Any], where: str
) -> PretrainedConfig:
    """`base` with the recipe's `model.config` applied, or a one-line error for the first
    key that would make the base something else."""
    unknown = unknown_config_keys(type(base), overrides)
    if unknown:
        raise RecipeError(
            f"model.config: {', '.join(unknown)} not fields of {type(base).__name__} "
            f"(the config class of the base {where})"
        )
    reference = with_values(base, {})
    same = reference.to_dict()
    changed = {k: v for k, v in overrides.items() if with_values(base, {k: v}).to_dict() != same}
    if not changed:
        return reference
    before = tensor_shapes(reference)
    for key, value in changed.items():
        reshapes = tensor_shapes(with_values(base, {key: value})) != before
        if reshapes or not shape_neutral(key):
            raise RecipeError(_refusal(key, value, base_value(base, key), reshapes))
    return with_values(base, changed)


def with_values(base: PretrainedConfig, overrides: dict[str, Any]) -> PretrainedConfig:
    """A new config of the base's class with `overrides` set (`rope_theta` folded into
    `rope_parameters`, which transformers 5 would otherwise let win over it)."""
    data = base.to_dict()
    if "num_hidden_layers" in overrides and "layer_types" not in overrides:
        data.pop("layer_types", None)  # one entry per layer, derived: let it follow
    for key, value in overrides.items():
        if key == "rope_theta":
            data["rope_parameters"] = {**(data.get("rope_parameters") or {}), key: value}
        else:
            data[key] = value
    try:
        return type(base).from_dict(data)
    except Exception as err:  # transformers raises several types for bad values
        keys = ", ".join(sorted(overrides)) or "(none)"
        raise RecipeError(
            f"model.config: {keys}: not valid for the base's {type(base).__name__}: "
            f"{_one_line(err)}"
        ) from None


def base_value(base: PretrainedConfig, key: str) -> Any:
    """What the base has for `key` (the pre-5.x rope keys live in `rope_parameters`)."""
    rope = getattr(base, "rope_parameters", None) or {}
    if key == "rope_theta":
        return rope.get("rope_theta")
    if key == "rope_scaling":
        return rope or None
    return getattr(base, key, None)


_SHAPES: dict[str, dict[str, tuple[int, ...]]] = {}


def tensor_shapes(config: PretrainedConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor the model of `config` has, built on the meta device
    (no memory, under a second for 7B); memoised, since a run builds its config often."""
    from transformers.initialization import no_init_weights

    key = config.to_json_string(use_diff=False)
    if key not in _SHAPES:
        with torch.device("meta"), no_init_weights():
            model = AutoModelForCausalLM.from_config(config)
        _SHAPES[key] = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    return _SHAPES[key]


def _refusal(key: str, value: Any, base: Any, reshapes: bool) -> str:
    if reshapes:
        why = f"would change the base's tensor shapes (the base has {_show(base)})"
    else:
        why = (
            f"differs from the base's {_show(base)} and is not a setting that may change "
            "on a trained base (max_position_embeddings, rope_*, sliding-window, dropout ...)"
        )
    return f"model.config.{key}: {_show(value)} {why}; remove it to train the base as it is"


def _show(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
