"""Lean loading of a base's weights: one copy per rank, in the training precision.

Why not `from_pretrained(...).state_dict()` + `load_state_dict`: that held the recipe-built
fp32 model, the fp32 base model and the state dict view of it at once (>300 GB of host RAM
for a 7B base on 8 ranks). Here the model is built without storage (on the `meta` device,
or partitioned under `deepspeed.zero.Init` for ZeRO-3) and each tensor is read on its own
(safetensors mmap, or popped from a consolidated sovtrain checkpoint), cast to the training
dtype and put in place, so the weights exist once per rank (once per *partition* for
ZeRO-3, with only rank 0 reading the files).

Why our own loop rather than transformers' loader: we need the strict, one-line mismatch
error (transformers random-initialises missing tensors and only warns), and its ZeRO-3 path
merges the whole checkpoint into one state dict on rank 0.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from transformers import AutoModelForCausalLM, PretrainedConfig, PreTrainedModel

from sovtrain.core.errors import SovtrainError
from sovtrain.distributed import collectives
from sovtrain.model.base import BaseModel

TRAIN_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
# legacy names transformers itself drops on load (per-layer rotary buffers of old saves)
_IGNORED = re.compile(r"(^|\.)rotary_emb\.inv_freq$|(^|\.)position_ids$")


class TensorSource(Protocol):
    """Where a base's tensors come from: their shapes first (the mismatch check), then each
    tensor once, in the order the source reads best."""

    def shapes(self) -> dict[str, tuple[int, ...]]: ...

    def order(self, keys: list[str]) -> list[str]: ...

    def take(self, key: str) -> torch.Tensor: ...

    def close(self) -> None: ...


class SafetensorsSource:
    """The tensors of an HF directory's safetensors shards, read one at a time.

    `order` groups names by shard and a shard's file is closed once its last tensor is
    taken: the mapped pages a read touches count towards the process's RSS until then.
    """

    def __init__(self, directory: Path) -> None:
        from safetensors import safe_open

        index = directory / "model.safetensors.index.json"
        if index.exists():
            names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        else:
            names = ["model.safetensors"] if (directory / "model.safetensors").exists() else []
        if not names:
            raise SovtrainError(f"{directory}: no safetensors weights (model*.safetensors)")
        self._open = {name: safe_open(directory / name, framework="pt") for name in names}
        self._file = {key: name for name, handle in self._open.items() for key in handle.keys()}  # noqa: SIM118
        self._left = {name: len(list(handle.keys())) for name, handle in self._open.items()}

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(self._open[f].get_slice(k).get_shape()) for k, f in self._file.items()}

    def order(self, keys: list[str]) -> list[str]:
        return sorted(keys, key=lambda k: self._file[k])

    def take(self, key: str) -> torch.Tensor:
        name = self._file[key]
        tensor = self._open[name].get_tensor(key)  # a copy, not a view of the mapping
        self._left[name] -= 1
        if self._left[name] == 0:
            self._open.pop(name).__exit__(None, None, None)
        return tensor

    def close(self) -> None:
        for handle in self._open.values():
            handle.__exit__(None, None, None)
        self._open.clear()


class DictSource:
    """A consolidated state dict; each tensor is dropped once taken, freeing as we go."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        self._state = state

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape) for k, v in self._state.items()}

    def order(self, keys: list[str]) -> list[str]:
        return keys

    def take(self, key: str) -> torch.Tensor:
        return self._state.pop(key)

    def close(self) -> None:
        self._state.clear()


@dataclass
class Slot:
    """Where one checkpoint tensor goes: every (module, attribute) that shares it."""

    tensor: torch.Tensor
    places: list[tuple[torch.nn.Module, str]]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(getattr(self.tensor, "ds_shape", self.tensor.shape))


def slots(model: torch.nn.Module) -> tuple[dict[str, Slot], dict[str, str]]:
    """Parameters and persistent buffers by state-dict name, and tied aliases (alias ->
    primary name): a tied `lm_head.weight` need not be in the base, and is loaded once."""
    found: dict[str, Slot] = {}
    by_id: dict[int, str] = {}
    aliases: dict[str, str] = {}
    for prefix, module in model.named_modules(remove_duplicate=False):
        skip = module._non_persistent_buffers_set
        tensors = [*module._parameters.items(), *(b for b in module._buffers.items()
                                                  if b[0] not in skip)]  # fmt: skip
        for attr, tensor in tensors:
            if tensor is None:
                continue
            name = f"{prefix}.{attr}" if prefix else attr
            primary = by_id.setdefault(id(tensor), name)
            if primary != name:
                aliases[name] = primary
                found[primary].places.append((module, attr))
            elif name not in found:
                found[name] = Slot(tensor, [(module, attr)])
    return found, aliases


def mismatch(own: dict[str, Slot], aliases: dict[str, str], base: dict[str, tuple]) -> str:
    """'' when the base fits the model; else what does not (names the tensors)."""
    missing = [k for k in own if k not in base and not any(
        a in base for a, p in aliases.items() if p == k)]  # fmt: skip
    unexpected = [k for k in base if k not in own and k not in aliases and not _IGNORED.search(k)]
    wrong = [(k, base[k], own[aliases.get(k, k)].shape) for k in base
             if aliases.get(k, k) in own and base[k] != own[aliases.get(k, k)].shape]  # fmt: skip
    return "; ".join(
        [f"missing {missing[:3]}"] * bool(missing)
        + [f"unexpected {unexpected[:3]}"] * bool(unexpected)
        + [f"{k}: base {a} vs recipe {b}" for k, a, b in wrong[:3]]
    )


def mismatch_error(where: str, detail: str) -> SovtrainError:
    return SovtrainError(
        f"model.init_from {where}: the base does not match model.config ({detail}); "
        "fine-tune with the base's architecture and vocabulary (extend its recipe)"
    )


def plan(
    own: dict[str, Slot], aliases: dict[str, str], source: TensorSource
) -> list[tuple[str, str]]:
    """(base key, slot name) in the order the source reads best; the key is the slot's
    own name, or the tied alias the base stored it under."""
    base = set(source.shapes())
    names = {
        (name if name in base else next(a for a, p in aliases.items() if p == name and a in base)):
        name for name in own
    }  # fmt: skip
    return [(key, names[key]) for key in source.order(list(names))]


def empty_model(config: PretrainedConfig, dtype: torch.dtype, attn: str) -> PreTrainedModel:
    """The model with no storage (meta device): construction costs no memory or init time."""
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config, attn_implementation=attn, dtype=dtype)


def materialise(model: PreTrainedModel, source: TensorSource, where: str) -> PreTrainedModel:
    """Fill a meta model from `source`, one tensor at a time, then recompute the
    non-persistent buffers (rotary `inv_freq`) the checkpoint does not carry."""
    own, aliases = slots(model)
    shapes = source.shapes()
    detail = mismatch(own, aliases, shapes)
    if detail:
        raise mismatch_error(where, detail)
    for key, name in plan(own, aliases, source):
        slot = own[name]
        value = _as_slot_holds(slot, source.take(key))
        for module, attr in slot.places:  # every alias gets the same object: ties hold
            if attr in module._parameters:
                assert isinstance(value, torch.nn.Parameter)  # registered as one: made one
                module._parameters[attr] = value
            else:
                module._buffers[attr] = value
    _init_meta_buffers(model)
    return model


def _as_slot_holds(slot: Slot, tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` in the slot's dtype, a Parameter where the slot is one, flagged so that
    transformers' init skips it (see `_init_meta_buffers`)."""
    value = tensor.to(slot.tensor.dtype)
    if isinstance(slot.tensor, torch.nn.Parameter):
        value = torch.nn.Parameter(value, requires_grad=slot.tensor.requires_grad)
    _mark_initialised(value, True)
    return value


def _mark_initialised(thing: torch.nn.Module | torch.Tensor, done: bool) -> None:
    """transformers' `_is_hf_initialized` flag: its weight init skips what carries it. A
    plain attribute, which torch's hints (tensors and modules only) do not describe."""
    setattr(thing, "_is_hf_initialized", done)  # noqa: B010 (see the docstring)


def _init_meta_buffers(model: PreTrainedModel) -> None:
    """Give meta buffers storage and let the model class's own `_init_weights` fill them
    (how `from_pretrained` does it); loaded tensors are flagged, so nothing else is redone."""
    for module in model.modules():
        meta = [(k, b) for k, b in module._buffers.items() if b is not None and b.is_meta]
        for key, buffer in meta:
            module._buffers[key] = torch.empty_like(buffer, device="cpu")
        _mark_initialised(module, not meta)
    model.initialize_weights()
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise SovtrainError(f"lean load left tensors without values: {left[:3]}")


@contextlib.contextmanager
def partitioned(ds_config: dict[str, Any]) -> Iterator[None]:
    """Construct under ZeRO-3 `zero.Init`: every parameter is partitioned as its module is
    built, so no rank ever holds the whole model. Torch's random init is skipped (the
    weights are loaded next); `arange` keeps its dtype so rotary buffers stay fp32."""
    import deepspeed
    from transformers.initialization import no_init_weights
    from transformers.integrations.deepspeed import prevent_arange_dtype_change

    # order matters: the arange patch must be in place before zero.Init wraps constructors
    with (
        no_init_weights(),
        prevent_arange_dtype_change(),
        deepspeed.zero.Init(config_dict_or_path=ds_config),
    ):
        yield


def empty_partitioned(
    config: PretrainedConfig, dtype: torch.dtype, attn: str, ds_config: dict[str, Any]
) -> PreTrainedModel:
    with partitioned(ds_config):
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attn, dtype=dtype)
    model.tie_weights()  # no_init_weights also skipped post_init's tying
    return model


def fill_partitioned(
    model: PreTrainedModel, source: TensorSource | None, where: str, rank: int
) -> None:
    """Rank 0 reads each tensor and writes it into the gathered parameter; DeepSpeed
    broadcasts it and re-partitions on exit, so other ranks never open the base. Rank 0's
    verdict and reading order are shared first: every gather is a collective.

    `source` is rank 0's (None on the others, which never open the base)."""
    import deepspeed

    own, aliases = slots(model)
    reader = _rank0_source(source) if rank == 0 else None
    verdict: tuple[str, list[tuple[str, str]]] = ("", [])
    if reader is not None:
        detail = mismatch(own, aliases, reader.shapes())
        verdict = (detail, [] if detail else plan(own, aliases, reader))
    detail, order = collectives.broadcast_object(verdict)  # everyone raises, or nobody
    if detail:
        raise mismatch_error(where, detail)
    for key, name in order:
        tensor = own[name].tensor
        if hasattr(tensor, "ds_id"):
            with deepspeed.zero.GatheredParameters([tensor], modifier_rank=0):
                if reader is not None:
                    tensor.data.copy_(reader.take(key))
            continue
        if reader is not None:  # a persistent buffer: small, every rank keeps a full copy
            tensor.copy_(reader.take(key))
        collectives.broadcast_tensor(tensor, src=0)


def _rank0_source(source: TensorSource | None) -> TensorSource:
    if source is None:
        raise ValueError("rank 0 fills a partitioned model and needs the base's tensors")
    return source


@contextlib.contextmanager
def open_source(base: BaseModel, exact: bool) -> Iterator[TensorSource]:
    """The base's tensors: an HF directory's safetensors, or a consolidated sovtrain
    checkpoint (`exact`: rebuild fp32 masters of a bf16/fp16 base, see `consolidate`)."""
    from sovtrain import storage
    from sovtrain.model.weights import consolidate

    if base.weights_uri is None:
        raise ValueError(f"{base.uri}: resolved without picking a checkpoint")
    with storage.local_dir(base.weights_uri, purpose="base-model", lineage=base.lineage) as local:
        if base.kind == "hf":
            source: TensorSource = SafetensorsSource(local)
        else:
            recipe = base.run_recipe
            train, zero = recipe.train, recipe.deepspeed.zero_stage
            state, _ = consolidate(local, train.weights_precision, zero, exact, keep_dtype=True)
            source = DictSource(state)
        try:
            yield source
        finally:
            source.close()


def load_base(
    base: BaseModel,
    config: PretrainedConfig,
    *,
    precision: str,
    attn: str,
    where: str,
    exact: bool = True,
    rank: int = 0,
    ds_config: dict[str, Any] | None = None,
) -> PreTrainedModel:
    """The model of `config` holding the base's weights in the training precision.

    `ds_config` (a ZeRO-3 DeepSpeed config): built partitioned and filled by rank 0;
    DeepSpeed takes the partitioned model as it is. Otherwise every rank holds its one
    full copy (ZeRO 0-2 replicate the module weights anyway).
    """
    dtype = TRAIN_DTYPES[precision]
    if ds_config is None:
        model = empty_model(config, dtype, attn)
        with open_source(base, exact) as source:
            return materialise(model, source, where)
    with host_memory_returned():  # zero.Init also builds each parameter whole, then frees it
        model = empty_partitioned(config, dtype, attn, ds_config)
        with open_source(base, exact) if rank == 0 else contextlib.nullcontext() as source:
            fill_partitioned(model, source, where, rank)
    return model


_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_LOAD_MMAP_THRESHOLD = 128 * 1024  # every gathered parameter is far larger
_MAX_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's own ceiling for its dynamic threshold (64-bit)


@contextlib.contextmanager
def host_memory_returned() -> Iterator[None]:
    """Large buffers go through mmap/munmap while a partitioned model is built and filled.

    Why: each parameter is built, and later gathered, whole and freed again. After every
    large free glibc raises its mmap threshold (up to 32 MiB), so the next ones come from
    the heap and the freed space stays mapped. Measured, one of four ranks ended up holding
    0.9x of the whole model instead of its quarter; with a fixed small threshold every rank
    held its partition (bench/README.md). Setting the threshold ends glibc's dynamic
    adjustment, so afterwards it is pinned at the dynamic ceiling (how a long-running
    process settles anyway), and what the load left is trimmed.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _LOAD_MMAP_THRESHOLD)
    try:
        yield
    finally:
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, _MAX_MMAP_THRESHOLD)
            libc.malloc_trim(0)


def _glibc() -> Any:
    """glibc, if this process runs on it (musl and others have no mallopt: do nothing)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
