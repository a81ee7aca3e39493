"""LoRA checkpoints for export: merge the adapters into plain weights, or keep them as a peft
adapter directory.

Why merging is done here on plain tensors rather than with peft's `merge_and_unload`: the
checkpoint is a DeepSpeed state dict, not a peft model, and building the peft model just to
merge it would hold a second copy of the base weights. The scale (alpha / r, or alpha /
sqrt(r) with rsLoRA) comes from the adapter config or the recipe, never a default, since a
wrong scale silently changes the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sovtrain.core.errors import SovtrainError

_PEFT_PREFIX = "base_model.model."
_LORA_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<which>[AB])\.(?:(?P<adapter>[^.]+)\.)?weight$")
_UNSUPPORTED_PEFT = ("lora_embedding_", "lora_magnitude_vector", "modules_to_save")


@dataclass(frozen=True)
class LoraSettings:
    """What merging needs from the adapter config: rank, alpha and the scaling rule."""

    r: int
    alpha: float
    use_rslora: bool = False

    @property
    def scale(self) -> float:
        return self.alpha / (self.r**0.5 if self.use_rslora else self.r)


def has_lora(state: dict[str, Any]) -> bool:
    return any(".lora_A." in k or ".lora_B." in k for k in state)


def lora_settings(recipe: Any | None, adapter_config: dict[str, Any] | None) -> LoraSettings:
    """From an adapter_config-like dict (peft names: r, lora_alpha, use_rslora), else the
    recipe's `finetune.lora`; merging without alpha/r would silently rescale the update."""
    if adapter_config:
        return LoraSettings(
            r=int(adapter_config["r"]),
            alpha=float(adapter_config.get("lora_alpha", adapter_config.get("alpha", 8))),
            use_rslora=bool(adapter_config.get("use_rslora", False)),
        )
    lora = getattr(getattr(recipe, "finetune", None), "lora", None)
    if lora is None:
        raise SovtrainError(
            "the checkpoint holds LoRA adapters but neither the recipe "
            "(finetune.lora) nor an adapter config gives r and alpha"
        )
    return LoraSettings(r=lora.r, alpha=lora.alpha)


def _check_supported(state: dict[str, Any]) -> None:
    odd = sorted(k for k in state if any(part in k for part in _UNSUPPORTED_PEFT))
    if odd:
        raise SovtrainError(f"unsupported peft weights for export: {odd[:3]} (plain LoRA only)")


def plain_key(key: str) -> str:
    """transformers name of a peft-wrapped weight: no wrapper prefix, no `.base_layer`."""
    return key.removeprefix(_PEFT_PREFIX).replace(".base_layer.", ".")


def _lora_pairs(state: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """module path -> (A key, B key) for every adapted module."""
    found: dict[str, dict[str, str]] = {}
    for key in state:
        match = _LORA_KEY.match(key)
        if match:
            found.setdefault(match["module"], {})[match["which"]] = key
    missing = sorted(m for m, ab in found.items() if set(ab) != {"A", "B"})
    if missing:
        raise SovtrainError(f"LoRA weights without their A/B pair: {missing[:3]}")
    return {module: (ab["A"], ab["B"]) for module, ab in found.items()}


def merge_lora_weights(state: dict[str, Any], settings: LoraSettings) -> dict[str, Any]:
    """Plain transformers weights with every adapter folded in: W + scale * (B @ A)."""
    _check_supported(state)
    pairs = _lora_pairs(state)
    merged: dict[str, Any] = {}
    for key, value in state.items():
        if not _LORA_KEY.match(key):
            merged[plain_key(key)] = value
    for module, (a_key, b_key) in pairs.items():
        a, b = state[a_key].float(), state[b_key].float()
        if a.shape[0] != settings.r:
            raise SovtrainError(
                f"{a_key}: rank {a.shape[0]} but the adapter config says r={settings.r}"
            )
        base = next(
            (k for k in (f"{module}.base_layer.weight", f"{module}.weight") if k in state), None
        )
        if base is None:
            raise SovtrainError(f"LoRA module {module} has no base weight in the checkpoint")
        merged[plain_key(base)] = state[base].float() + settings.scale * (b @ a)
    return merged


def adapter_state(state: dict[str, Any]) -> dict[str, Any]:
    """The adapters alone, keyed as peft saves them (no adapter name in the key)."""
    _check_supported(state)
    out: dict[str, Any] = {}
    for module, (a_key, b_key) in _lora_pairs(state).items():
        prefixed = module if module.startswith(_PEFT_PREFIX) else _PEFT_PREFIX + module
        out[f"{prefixed}.lora_A.weight"] = state[a_key].float().contiguous()
        out[f"{prefixed}.lora_B.weight"] = state[b_key].float().contiguous()
    return out


def write_adapter(
    state: dict[str, Any],
    settings: LoraSettings,
    base: str | None,
    out: Path,
    dtype: torch.dtype = torch.float32,
) -> int:
    """adapter_model.safetensors + adapter_config.json (peft format) in `out`; returns the
    adapter's parameter count. One file: adapters are small, so they are never sharded."""
    from peft import LoraConfig
    from safetensors.torch import save_file

    adapters = {k: v.to(dtype) for k, v in adapter_state(state).items()}
    targets = sorted({module.rsplit(".", 1)[-1] for module in _lora_pairs(state)})
    config = LoraConfig(
        r=settings.r,
        # peft annotates lora_alpha as int but scales by any number; the float is kept, so
        # adapter_config.json states the alpha that was trained
        lora_alpha=settings.alpha,  # type: ignore[arg-type]
        use_rslora=settings.use_rslora,
        target_modules=targets,
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
        base_model_name_or_path=base,
    )
    config.save_pretrained(str(out))
    save_file(adapters, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    return sum(t.numel() for t in adapters.values())
