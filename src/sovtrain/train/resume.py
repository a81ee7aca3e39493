"""Where a run starts from: its own newest verified checkpoint, at any world size, or a
base's weights.

A requeued job on a shared cluster rarely gets the same nodes back, so `--resume auto` must
continue on whatever number of ranks it now has. What in a checkpoint depends on the world
size is exactly DeepSpeed's partitioned optimizer state (ZeRO 1-3, and the bf16 optimizer's
fp32 masters at stage 0): the weights, the LR schedule and our own state do not, and the
sampler's position is global (`data.loader`), so no sample is repeated or skipped. When the
world size changed and the state is partitioned, rank 0 converts the checkpoint once into
DeepSpeed's *universal* layout (one fp32 master, Adam moments and step per parameter),
publishes it beside the checkpoint with its own manifest (verified like any checkpoint, tied
to the exact manifest it came from, pruned with it), and every rank loads it with
`checkpoint.load_universal`. The plan is made before the engine is built because that flag
is part of the engine's config.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sovtrain import storage
from sovtrain.core.errors import CheckpointError, SovtrainError
from sovtrain.distributed.collectives import broadcast_object
from sovtrain.model.init import BaseModel, resolve_base
from sovtrain.recipe.schema import TrainSection
from sovtrain.tracking import Tracker
from sovtrain.train.checkpoint import (
    CheckpointStore,
    checkpoints_root,
    describe_files,
    universal_name,
)
from sovtrain.train.loop import TrainState

log = logging.getLogger(__name__)
_RNG_FILE = "sovtrain_rng_rank"
_PARTITIONED = "_optim_states.pt"  # zero_pp_rank_*, bf16_zero_pp_rank_*: one per DP rank


@dataclass(frozen=True)
class ResumePlan:
    """Which checkpoint a run continues from, and whether DeepSpeed must read it through
    its universal copy (the world size changed and the optimizer state is partitioned)."""

    store: CheckpointStore | None = None  # where `name` lives (`--resume URI`: maybe elsewhere)
    name: str | None = None
    saved_world_size: int = 0
    world_size: int = 1
    universal: bool = False

    @property
    def uri(self) -> str | None:
        return storage.join(self.store.root, self.name) if self.store and self.name else None


def plan_resume(store: CheckpointStore, resume: str) -> ResumePlan:
    """`never`: fresh. `auto`: newest verified checkpoint if any. Else a checkpoint URI.
    Collective: rank 0 verifies and reads, every rank gets the same plan."""
    if resume == "never":
        return ResumePlan(world_size=store.world_size)
    if resume == "auto":
        name = store.newest_verified()
        if name is None:
            return ResumePlan(world_size=store.world_size)
    else:
        parent, _, name = resume.rstrip("/").rpartition("/")
        store = CheckpointStore(parent, store.rank, store.world_size)
        if not store.verified(name):
            raise CheckpointError(f"--resume {resume}: not a verified checkpoint")
    facts = _layout(store, name) if store.rank == 0 else (0, False)
    saved, partitioned = broadcast_object(facts, src=0)
    universal = partitioned and saved != store.world_size
    return ResumePlan(store, name, saved, store.world_size, universal)


def _layout(store: CheckpointStore, name: str) -> tuple[int, bool]:
    """(world size that wrote `name`, whether its optimizer state is split per rank): from
    the state, or, for checkpoints older than that field, from the per-rank files."""
    manifest, _ = store.manifest(name)
    files = manifest["files"]
    saved = store.read_state(name).get("world_size") or sum(
        1 for f in files if f.startswith(_RNG_FILE)
    )
    return int(saved), any(f.endswith(_PARTITIONED) for f in files)


def resume_state(
    plan: ResumePlan, engine: Any, digest: str, seed: int
) -> tuple[TrainState, str | None]:
    """Load the planned checkpoint into `engine`; the state the loop continues from."""
    state = TrainState(
        recipe_digest=digest, world_size=plan.world_size, eval_world_size=plan.world_size
    )
    if plan.store is None or plan.name is None:
        return state, None
    tag = ensure_universal(plan.store, plan.name) if plan.universal else None
    with universal_load_repaired(engine, plan.universal):
        saved = plan.store.load(engine, plan.name, deepspeed_tag=tag, seed=seed)
    if saved.get("recipe_digest") != digest:
        log.warning("resuming %s with a changed recipe (digest differs)", plan.name)
    # a checkpoint older than `eval_world_size` measured eval on the world that wrote it
    carried = {"eval_world_size": plan.saved_world_size or plan.world_size, **saved}
    state = TrainState(**{**carried, "recipe_digest": digest, "world_size": plan.world_size})
    if plan.store.rank == 0:
        log.info(
            "resumed from checkpoint %s (step %d, %s tokens, saved for %s)",
            plan.uri, state.step, f"{state.tokens_seen:,}", state.saved_for,
        )  # fmt: skip
    return state, plan.uri


def report_world_size_change(
    plan: ResumePlan, train: TrainSection, step: int, tracker: Tracker
) -> None:
    """Say what a resume on another number of ranks changed, and what it kept (rank 0:
    the log and the MLflow run's `world_size_changed` tag, beside `world_size`)."""
    before, after = plan.saved_world_size, plan.world_size
    if plan.store is None or plan.store.rank != 0 or before in (0, after):
        return
    log.info(
        "world size changed %d -> %d: %s; gradient accumulation %d -> %d (global batch %d "
        "sequences, data position, LR schedule, step and token count carried over)",
        before, after,
        "optimizer state resharded through its universal copy" if plan.universal
        else "no partitioned optimizer state to reshard",
        train.grad_accumulation(before), train.grad_accumulation(after),
        train.sequences_per_step,
    )  # fmt: skip
    tracker.set_tags({"world_size_changed": f"{before} -> {after} at step {step}"})


@contextlib.contextmanager
def universal_load_repaired(engine: Any, universal: bool) -> Iterator[None]:
    """Undo two things DeepSpeed 0.19's ZeRO-3 universal load gets wrong for a model with
    more than one optimizer group (ours: weights with decay, norms and biases without).

    It copies group 0's hyper-parameters onto every group (weight decay on the norms from
    the resume on): each group gets its own settings back, except the learning rate, which
    is the schedule's and comes from the checkpoint. And it gives every group the *same*
    `step` tensor, which AdamW increments in place once per group, so the bias correction
    would run ahead: each state gets its own copy."""
    kept = [_settings(g) for g in _torch_optimizer(engine).param_groups] if universal else []
    yield
    if not universal:
        return
    optimizer = _torch_optimizer(engine)
    for group, settings in zip(optimizer.param_groups, kept, strict=True):
        group.update(settings)
    for state in optimizer.state.values():
        if isinstance(state.get("step"), torch.Tensor):
            state["step"] = state["step"].clone()


def _torch_optimizer(engine: Any) -> Any:
    inner = engine.optimizer
    while hasattr(inner, "optimizer"):  # DeepSpeed's ZeRO / bf16 wrappers hold the torch one
        inner = inner.optimizer
    return inner


def _settings(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if k not in ("params", "lr", "initial_lr")}


def ensure_universal(store: CheckpointStore, name: str) -> str:
    """The name of `name`'s verified universal copy, converted now if there is none (rank 0;
    every rank gets the name, or the same error)."""
    outcome: str | SovtrainError | None = None
    if store.rank == 0:
        try:
            outcome = _universal_copy(store, name)
        except SovtrainError as err:
            outcome = err
    outcome = broadcast_object(outcome, src=0)
    if isinstance(outcome, SovtrainError):
        raise outcome
    assert outcome is not None
    return outcome


def _universal_copy(store: CheckpointStore, name: str) -> str:
    """Rank 0: reuse the cached copy if it verifies and was made from these exact bytes;
    else convert into staging and publish it (manifest last) beside the checkpoint."""
    copy = universal_name(name)
    manifest, digest = store.manifest(name)
    cached = copy in store.list_names() and store.verify(copy)
    if cached and store.manifest(copy)[0].get("derived_from") == digest:
        log.info("using the universal copy %s/%s", store.root, copy)
        return copy
    started = time.perf_counter()
    with _local_copy(store, name) as source, store.pin_staging() as parent:
        parent.clear()
        try:
            with storage.child_dir(parent, copy) as stage:
                _run_ds_to_universal(source, parent, copy)
                files = describe_files(stage.path)
                step = int(manifest["step"])
                saved = store.publish_derived(parent, stage, copy, step, files, digest)
        finally:
            store.discard_staging(parent)  # published, or failed: nothing half-made stays
    log.info(
        "converted %s to DeepSpeed's universal layout in %.1f s (%.1f MB, cached as %s)",
        name, time.perf_counter() - started, saved.bytes / 1e6, saved.uri,
    )  # fmt: skip
    return copy


@contextlib.contextmanager
def _local_copy(store: CheckpointStore, name: str) -> Iterator[Path]:
    """Checkpoint `name` as a local directory: itself, or downloaded for the duration."""
    local = storage.local_path(store.root)
    if local is not None:
        yield local / name
        return
    scratch = Path(tempfile.mkdtemp(prefix="sovtrain-ckpt-"))
    try:
        storage.get_dir(storage.join(store.root, name), scratch / name, purpose="checkpoint")
        yield scratch / name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_ds_to_universal(source: Path, parent: storage.PinnedDir, copy: str) -> None:
    """DeepSpeed's converter in its own process (it forks workers; this one holds process
    groups), writing `copy` (and its `latest_universal` marker, dropped with the staging
    directory) through the pinned staging directory's descriptor.

    `--inject_missing_state`: the checkpoints hold no tensor/pipeline-parallel layout, which
    is what the converter's missing `universal_checkpoint_info` would describe."""
    workers = str(max(1, min(8, (os.cpu_count() or 1) // 2)))
    command = [
        sys.executable, "-m", "deepspeed.checkpoint.ds_to_universal",
        "--input_folder", str(source), "--output_folder", f"/proc/self/fd/{parent.fd}/{copy}",
        "--num_extract_workers", workers, "--num_merge_workers", workers,
        "--inject_missing_state",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, pass_fds=(parent.fd,))
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise CheckpointError(
            f"{copy}: DeepSpeed's universal conversion failed "
            f"(exit {done.returncode}): {lines[-1] if lines else 'no output'}"
        )


def resolve_base_weights(init_from: str, rank: int = 0, world_size: int = 1) -> BaseModel:
    """`resolve_base`, with a run directory's newest *verified* checkpoint picked: what
    loading a base's weights needs (training from `model.init_from`, `sovtrain eval`).

    Picking hashes every byte of the checkpoint, so it happens here, once, on rank 0 of
    `world_size` (the verdict is broadcast), and the model layer never needs the store.
    """
    base = resolve_base(init_from)
    if base.weights_uri is not None:  # an HF directory or one checkpoint: nothing to pick
        return base
    store = CheckpointStore(checkpoints_root(base.uri), rank, world_size)
    name = store.newest_verified()
    if name is None:
        raise CheckpointError(f"model.init_from {init_from}: the run has no verified checkpoint")
    return dataclasses.replace(base, weights_uri=storage.join(store.root, name))
