"""Export a verified checkpoint as a Hugging Face model directory (safetensors + tokenizer).

Why no DeepSpeed engine: exporting happens on a login node or a laptop, without GPUs or a
process group. For ZeRO 0-2 the model states file holds full module weights; those are exact
for fp32 training, but with bf16/fp16 they are rounded copies, so then (and for ZeRO-3,
which shards the weights) the fp32 master weights are rebuilt from the optimizer shards with
DeepSpeed's offline `zero_to_fp32` helpers.

Every byte read and written goes through `sovtrain.storage` with purpose "export" and the
data lineage of the run (its cards, plus its base model's), so an active residency guard
decides on the destination before anything is uploaded. The directory is built locally and
uploaded with `put_dir`, which works the same for paths and s3:// URIs.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sovtrain import storage
from sovtrain.errors import CheckpointError, SovtrainError
from sovtrain.hashing import sha256_file
from sovtrain.model.weights import consolidate
from sovtrain.recipe.load import LoadedRecipe, load_recipe

log = logging.getLogger(__name__)
_PURPOSE = "export"
STATE = "sovtrain_state.json"
_PEFT_PREFIX = "base_model.model."
_LORA_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<which>[AB])\.(?:(?P<adapter>[^.]+)\.)?weight$")
_UNSUPPORTED_PEFT = ("lora_embedding_", "lora_magnitude_vector", "modules_to_save")


@dataclass(frozen=True)
class ExportResult:
    """What was written: the destination, every file with its sha256, and what it holds."""

    out_uri: str
    files: list[str]
    sha256: dict[str, str]
    params: int
    step: int
    kind: str  # "full" (plain weights), "merged" (LoRA merged in) or "adapter" (peft only)
    weights_from: str  # "fp32-master" (optimizer shards) or "module" (model states file)
    lineage: tuple[str, ...] = ()
    mlflow_run_id: str | None = None  # the training run the weights came from

    @property
    def weights_file(self) -> str:
        return "adapter_model.safetensors" if self.kind == "adapter" else "model.safetensors"


@dataclass(frozen=True)
class ExportSource:
    """A verified checkpoint and the run around it."""

    run_uri: str
    step_uri: str
    loaded: LoadedRecipe
    manifest: dict[str, Any]
    manifest_digest: str
    lineage: tuple[str, ...]


@dataclass(frozen=True)
class LoraSettings:
    """What merging needs from the adapter config: rank, alpha and the scaling rule."""

    r: int
    alpha: float
    use_rslora: bool = False

    @property
    def scale(self) -> float:
        return self.alpha / (self.r**0.5 if self.use_rslora else self.r)


# --------------------------------------------------------------------------- source
def _locate(source: str) -> tuple[str, str | None]:
    """(run URI, checkpoint URI) of a checkpoint directory, or (run URI, None) for a run."""
    uri = storage.canonical_uri(source).rstrip("/")
    if storage.exists(storage.join(uri, STATE), purpose=_PURPOSE):
        return uri.rsplit("/", 2)[0], uri  # <run>/checkpoints/step_X
    if storage.exists(storage.join(uri, "recipe.resolved.yaml"), purpose=_PURPOSE):
        return uri, None
    raise SovtrainError(
        f"{source}: not a run directory (recipe.resolved.yaml) or a checkpoint "
        "directory (sovtrain_state.json)"
    )


def run_recipe_of(source: str) -> Any:
    """The resolved recipe of the run `source` belongs to (nothing verified or hashed)."""
    return _run_recipe(_locate(source)[0]).recipe


def resolve_source(source: str) -> ExportSource:
    """A run directory (its newest verified checkpoint) or one checkpoint directory."""
    from sovtrain.data.shards import manifest_digest, read_manifest
    from sovtrain.train.checkpoint import CheckpointStore, checkpoints_root

    run_uri, step_uri = _locate(source)
    if step_uri is not None:
        parent, _, name = step_uri.rpartition("/")
        if not CheckpointStore(parent, 0, 1).verify(name):
            raise CheckpointError(f"{source}: checkpoint does not verify against its manifest")
    else:
        store = CheckpointStore(checkpoints_root(run_uri), 0, 1)
        name = store.newest_verified()
        if name is None:
            raise CheckpointError(f"{source}: the run has no verified checkpoint")
        step_uri = storage.join(store.root, name)
    loaded = _run_recipe(run_uri)
    shards_uri = storage.join(loaded.recipe.data.prepared_uri, "shards")
    manifest = read_manifest(shards_uri)
    cards = {s["card"] for s in manifest.get("sources", []) if s.get("card")}
    if loaded.recipe.model.init_from:  # fine-tuned weights also derive from the base's data
        from sovtrain.model.init import resolve_base

        base = resolve_base(loaded.recipe.model.init_from, pick_checkpoint=False)
        cards |= set(base.lineage)
    return ExportSource(
        run_uri, step_uri, loaded, manifest, manifest_digest(shards_uri), tuple(sorted(cards))
    )


def _run_eval_table(run_uri: str, step: int) -> list[dict[str, Any]] | None:
    """Rows of `sovtrain eval` for this very step (`<run>/eval/eval.json`), if there are."""
    uri = storage.join(run_uri, "eval", "eval.json")
    try:
        if not storage.exists(uri, purpose="artifact"):
            return None
        payload = json.loads(storage.read_text(uri, purpose="artifact"))
    except (OSError, ValueError) as err:
        log.warning("ignoring %s: %s", uri, err)
        return None
    if payload.get("step") != step:
        log.info("%s is not for the exported step %d: not in the model card", uri, step)
        return None
    return list(payload.get("rows") or []) or None


def _run_recipe(run_uri: str) -> LoadedRecipe:
    """The run's resolved recipe, validated by the same loader that trains (local copy)."""
    text = storage.read_text(storage.join(run_uri, "recipe.resolved.yaml"), purpose=_PURPOSE)
    with tempfile.TemporaryDirectory(prefix="sovtrain-export-") as tmp:
        path = Path(tmp) / "recipe.resolved.yaml"
        path.write_text(text, encoding="utf-8")
        return load_recipe(path)


# --------------------------------------------------------------------------- LoRA
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


def _write_adapter(
    state: dict[str, Any], settings: LoraSettings, base: str | None, out: Path
) -> int:
    from peft import LoraConfig
    from safetensors.torch import save_file

    adapters = adapter_state(state)
    targets = sorted({module.rsplit(".", 1)[-1] for module in _lora_pairs(state)})
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        use_rslora=settings.use_rslora,
        target_modules=targets,
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
        base_model_name_or_path=base,
    )
    config.save_pretrained(str(out))
    save_file(adapters, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    return sum(t.numel() for t in adapters.values())


# --------------------------------------------------------------------------- model
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


def _token_ids(tokenizer: Any) -> dict[str, Any]:
    """bos/eos/pad for config and generation; <|im_end|> also stops chat generation."""
    eos = [tokenizer.eos_token_id]
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id and im_end not in eos:
        eos.append(im_end)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    return {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": eos, "pad_token_id": pad}


def _export_tokenizer(tok_uri: str, out: Path, scratch: Path, lineage: tuple[str, ...]) -> Any:
    """Copy the run's tokenizer, giving it the ChatML template training used if it has none."""
    from transformers import AutoTokenizer

    from sovtrain.data.chat import CHAT_TEMPLATE, IM_END, IM_START

    raw = scratch / "tokenizer"
    storage.get_dir(tok_uri, raw, purpose=_PURPOSE, lineage=lineage)
    tokenizer = AutoTokenizer.from_pretrained(str(raw))
    if not tokenizer.chat_template and {IM_START, IM_END} <= set(tokenizer.get_vocab()):
        tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(out))
    return tokenizer


# --------------------------------------------------------------------------- export
def export_hf(
    source: str,
    out_uri: str,
    *,
    merge_lora: bool = True,
    eval_table: list[dict[str, Any]] | None = None,
    adapter_config: dict[str, Any] | None = None,
) -> ExportResult:
    """Export `source` (run or checkpoint directory) to `out_uri` as a transformers model.

    LoRA checkpoints are merged into plain weights by default; `merge_lora=False` writes the
    adapter alone in peft format (adapter_model.safetensors + adapter_config.json).
    """
    from transformers import GenerationConfig

    from sovtrain.export.model_card import render_model_card, training_compute

    src = resolve_source(source)
    recipe = src.loaded.recipe
    if storage.listdir(out_uri, purpose=_PURPOSE):
        raise SovtrainError(f"{out_uri} is not empty: export into a new directory")
    with (
        tempfile.TemporaryDirectory(prefix="sovtrain-export-") as tmp,
        # in place when local: a large model's optimizer shards are hundreds of GB
        storage.local_dir(src.step_uri, purpose=_PURPOSE, lineage=src.lineage) as step_dir,
    ):
        scratch, out = Path(tmp) / "scratch", Path(tmp) / "out"
        out.mkdir()
        train_state = json.loads((step_dir / STATE).read_text())
        weights, weights_from = consolidate(
            step_dir, recipe.train.precision, recipe.deepspeed.zero_stage
        )
        tok_uri = storage.join(recipe.data.prepared_uri, "tokenizer")
        tokenizer = _export_tokenizer(tok_uri, out, scratch, src.lineage)
        lora = has_lora(weights)
        if lora and not merge_lora:
            settings = lora_settings(recipe, adapter_config)
            kind = "adapter"
            params = _write_adapter(weights, settings, recipe.model.init_from, out)
        else:
            kind = "merged" if lora else "full"
            if lora:
                weights = merge_lora_weights(weights, lora_settings(recipe, adapter_config))
            ids = _token_ids(tokenizer)
            model = build_loaded_model(recipe.model, src.manifest["vocab_size"], weights)
            for name, value in ids.items():
                setattr(model.config, name, value[0] if name == "eos_token_id" else value)
            model.generation_config = GenerationConfig(**ids)
            model.save_pretrained(str(out))
            params = sum(p.numel() for p in model.parameters())
        step = int(train_state.get("step", 0))
        if eval_table is None:
            eval_table = _run_eval_table(src.run_uri, step)
        card = render_model_card(
            recipe,
            params=params,
            step=step,
            tokens_seen=int(train_state.get("tokens_seen", 0)),
            lineage=src.lineage,
            manifest=src.manifest,
            manifest_digest=src.manifest_digest,
            eval_table=eval_table,
            compute=training_compute(recipe, src.run_uri, train_state),
            kind=kind,
            weights_from=weights_from,
        )
        (out / "README.md").write_text(card, encoding="utf-8")
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        digests = {rel: sha256_file(out / rel) for rel in files}
        storage.put_dir(out, out_uri, purpose=_PURPOSE, lineage=src.lineage)
    log.info("exported %s (step %d, %s) to %s", src.step_uri, step, kind, out_uri)
    out_uri = storage.canonical_uri(out_uri)
    run_id = train_state.get("mlflow_run_id")
    return ExportResult(
        out_uri, files, digests, params, step, kind, weights_from, src.lineage, run_id
    )
