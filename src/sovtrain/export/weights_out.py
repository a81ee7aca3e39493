"""Write the exported weights: the recipe's (or base's) transformers model holding the
checkpoint's tensors, cast to the export dtype, as one or several safetensors files.

Why transformers' own `save_pretrained`: it writes exactly what `from_pretrained` loads, the
shard names (`model-00001-of-00003.safetensors`), the index (`model.safetensors.index.json`,
{"metadata": {"total_size": ...}, "weight_map": {name: file}}) and the dropping of tied
weights safetensors refuses to store twice, for every architecture, rather than a copy of
those rules here. The model's config is the one `build_config` gives (a base's own config
for runs from an open-weight base), so config.json keeps its model_type and keys.

Why the cast happens on the model, tensor by tensor: the model's parameters *are* the
checkpoint's tensors (loaded with `assign=True`), so casting in place never holds a second
full copy of a large model's weights.

Default dtype (`--dtype`, "auto"): the run's training precision when it is bf16, else fp32.
A bf16 run's forward passes (training and eval) used the bf16 rounding of its fp32 masters,
so bf16 ships exactly those weights at half the size, the way open-weight bases ship; fp32
and fp16 runs get fp32, since rounding them to bf16 would lose precision they trained with.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import torch

from sovtrain.core.errors import CheckpointError, SovtrainError

DEFAULT_MAX_SHARD_SIZE = "5GB"
DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}
_ALIASES = {"bfloat16": "bf16", "float32": "fp32"}
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_WEIGHTS = re.compile(r"model(-\d{5}-of-\d{5})?\.safetensors")


def parse_size(text: str | int) -> int:
    """Bytes of a size like "5GB", "500MB", "200KB", "2GiB" or a plain byte count (decimal
    units, as transformers reads them; KiB/MiB/GiB are binary)."""
    match = _SIZE.match(str(text))
    unit = match[2].lower() if match else None
    if match is None or unit not in _UNITS or float(match[1]) <= 0:
        raise SovtrainError(
            f"--max-shard-size: expected a size like 5GB, 500MB or 200KB, got {text!r}"
        )
    return max(1, int(float(match[1]) * _UNITS[unit]))


def export_dtype(requested: str | None, precision: str) -> torch.dtype:
    """The dtype to write: `requested` (bf16 or fp32), or for "auto"/None bf16 when the run
    trained in bf16 and fp32 otherwise (see the module docstring for why)."""
    name = (requested or "auto").lower()
    name = _ALIASES.get(name, name)
    if name == "auto":
        return torch.bfloat16 if precision == "bf16" else torch.float32
    if name not in DTYPES:
        raise SovtrainError(f"--dtype: expected bf16, fp32 or auto, got {requested!r}")
    return DTYPES[name]


def build_loaded_model(model_section: Any, vocab_size: int, state: dict[str, Any]) -> Any:
    """The recipe's transformers model holding exactly `state` (strict: every weight)."""
    from transformers import AutoModelForCausalLM
    from transformers.initialization import no_init_weights

    from sovtrain.model.build import build_config

    config = build_config(model_section, vocab_size)
    with no_init_weights():  # no random init: every weight is about to be replaced
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    expected = set(model.state_dict())
    tied = bool(getattr(config, "tie_word_embeddings", False))
    missing = sorted(k for k in expected - set(state) if not (tied and k == "lm_head.weight"))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint does not match the recipe's model: missing "
            f"{missing[:3]}, unexpected {unexpected[:3]}"
        )
    try:
        model.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as err:  # shape mismatches
        raise CheckpointError(f"checkpoint does not match the recipe's model: {err}") from None
    if tied:
        model.tie_weights()
    return model.eval()


def write_model(model: Any, out: Path, dtype: torch.dtype, max_shard_size: int) -> None:
    """Cast `model` in place to `dtype` and save it (config, generation config, weights:
    sharded with an index when larger than `max_shard_size` bytes) into `out`."""
    model.to(dtype)  # parameter by parameter: the fp32 tensor goes as its cast arrives
    if getattr(model.config, "tie_word_embeddings", False):
        model.tie_weights()
    model.save_pretrained(str(out), max_shard_size=max_shard_size)
    _mirror_torch_dtype(out / "config.json")


def _mirror_torch_dtype(config_json: Path) -> None:
    """transformers 5 writes `dtype`; loaders on transformers 4 (and the bases they
    publish) read `torch_dtype`: write both, equal to what the weights are."""
    config = json.loads(config_json.read_text(encoding="utf-8"))
    if config.get("dtype") is not None:
        config["torch_dtype"] = config["dtype"]
    config_json.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def weights_files(files: list[str], kind: str) -> list[str]:
    """The files of `files` that hold the weights (one file, or the shards in order)."""
    if kind == "adapter":
        return [f for f in files if f == "adapter_model.safetensors"]
    return sorted(f for f in files if _WEIGHTS.fullmatch(f))


def weights_digest(names: list[str], sha256: dict[str, str]) -> str:
    """One digest for the weights: a single file's sha256; for shards, the sha256 of their
    `sha256sum` listing, so `sha256sum model-*.safetensors | sha256sum` reproduces it."""
    if len(names) == 1:
        return sha256[names[0]]
    if not names:
        return ""
    listing = "".join(f"{sha256[name]}  {name}\n" for name in names)
    return hashlib.sha256(listing.encode()).hexdigest()
