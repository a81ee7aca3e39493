"""Atomic, verified checkpoints: DeepSpeed state plus ours, under one manifest.

    <output_uri>/checkpoints/
        step_00001000/
            <DeepSpeed files>            model + ZeRO optimizer partitions (per rank)
            sovtrain_state.json          step, tokens, sampler position, recipe digest, run id,
                                         energy_j (GPU runs)
            sovtrain_rng_rank00000.pt    per-rank RNG states
            manifest.json                sha256 + bytes of every file above; written last
        step_00001000.universal/         its world-size-independent copy, made on a resume
                                         at another world size (`train.resume`)
        latest                           names the newest step directory; moved last

Why it is safe to kill at any instant: on a local or shared filesystem every rank writes
into `.staging/step_X/`, rank 0 writes the manifest, then renames the directory into place
(one atomic rename) and only then rewrites `latest`. On object storage (no rename) files are
uploaded first and the manifest last; a directory without a manifest that verifies is never
a checkpoint. `--resume auto` scans from the newest step down and takes the first directory
whose manifest verifies, so a torn write costs at most one interval of work, never a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sovtrain import storage
from sovtrain.core.errors import CheckpointError, SovtrainError
from sovtrain.core.hashing import sha256_file
from sovtrain.distributed.collectives import ALONE, all_gather_object, barrier, broadcast_object
from sovtrain.train.rng import reseed, restore_rng, rng_state
from sovtrain.train.save_failure import estimated_bytes, write_failure

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
STATE = "sovtrain_state.json"
LATEST = "latest"
_PURPOSE = "checkpoint"


def checkpoints_root(output_uri: str) -> str:
    return storage.join(output_uri, "checkpoints")


def step_name(step: int) -> str:
    return f"step_{step:08d}"


def universal_name(name: str) -> str:
    """Where a checkpoint's world-size-independent copy lives: beside it, pruned with it."""
    return f"{name}.universal"


def _step_of(name: str) -> int | None:
    if name.startswith("step_") and name[5:].isdigit():
        return int(name[5:])
    return None


@dataclass(frozen=True)
class SavedCheckpoint:
    step: int
    uri: str
    bytes: int
    manifest_digest: str


def describe_files(root: Path) -> dict[str, dict[str, Any]]:
    return {
        p.relative_to(root).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def _stream_digest(uri: str) -> tuple[int, str]:
    """(bytes, sha256) of a stored file, read in blocks: checkpoints can be tens of GB."""
    digest, size = hashlib.sha256(), 0
    with storage.open_uri(uri, "rb", purpose=_PURPOSE) as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


class CheckpointStore:
    """Saves and finds checkpoints under `<output_uri>/checkpoints`; collective across ranks."""

    def __init__(self, root: str, rank: int, world_size: int, keep_last: int = 3) -> None:
        self.root = root
        self.rank = rank
        self.world_size = world_size
        self.keep_last = keep_last
        self._group = ALONE if world_size == 1 else None  # alone: export, `slurm status`, tests
        self._local_root = storage.local_path(self.root)
        self._last_bytes = 0  # size of the last checkpoint written: what the next one needs

    # ---------------------------------------------------------------- saving
    def save(self, engine: Any, state: dict[str, Any]) -> SavedCheckpoint:
        """Write a checkpoint of `engine` plus `state` (which must hold 'step'); all ranks call.

        The staging directory is decided again at every save on its real target and pinned
        by descriptor (see `storage.pinned`), so every byte DeepSpeed and we write lands where
        the guard approved *now*, not where the run directory was at start. A write that
        fails (disk full, I/O error) on any rank fails the save on every rank, removes the
        staging directory and leaves `latest` on the previous checkpoint.
        """
        step = int(state["step"])
        name = step_name(step)
        with self.pin_staging() as parent:
            if self.rank == 0:
                parent.clear()  # a crashed save's leftovers would make this one fail too
            self._barrier()
            with storage.child_dir(parent, name) as stage:
                failure = self._write(engine, parent, stage, name, state)
                self._agree(failure, parent, name, engine)
                files = self._gather_file_descriptions(stage.path, name)
                outcome = self._publish_on_rank0(parent, stage, name, step, files)
                if self._local_root is None:
                    shutil.rmtree(parent.real_location(), ignore_errors=True)
        if isinstance(outcome, BaseException):
            raise outcome
        self._last_bytes = outcome.bytes
        return outcome

    def _publish_on_rank0(
        self, parent: storage.PinnedDir, stage: storage.PinnedDir, name: str, step: int,
        files: dict[str, dict[str, Any]],
    ) -> SavedCheckpoint | SovtrainError:  # fmt: skip
        """Rank 0 checks the pinned staging directory and publishes; every rank gets the
        outcome (the checkpoint, or the refusal every rank then raises: none is left waiting)."""
        outcome = self.publish_staged(parent, stage, name, step, files) if self.rank == 0 else None
        return self._broadcast(outcome)

    def publish_staged(
        self, parent: storage.PinnedDir, stage: storage.PinnedDir, name: str, step: int,
        files: dict[str, dict[str, Any]] | None = None,
    ) -> SavedCheckpoint | SovtrainError:  # fmt: skip
        """Rank 0, no collective (so a background thread may run it): hash the staged files
        unless `files` says them, check the pin, write the manifest, rename, `latest`, prune.
        A failure clears the staging directory and is returned, never raised."""
        outcome: SavedCheckpoint | SovtrainError
        try:
            if files is None:  # shared filesystem: rank 0 sees every rank's files
                files = self._gather_file_descriptions(stage.path, name)
            self._check_pinned(parent, stage, name)
            outcome = self._publish(stage.path, name, step, files)
        except SovtrainError as err:
            outcome = err
        except OSError as err:  # the manifest or `latest` could not be written
            outcome = self._publish_failure(parent, name, err)
            parent.clear()
        if isinstance(outcome, SavedCheckpoint):
            self._last_bytes = outcome.bytes
            self._prune_quietly()
        return outcome

    def publish_derived(
        self, parent: storage.PinnedDir, stage: storage.PinnedDir, name: str, step: int,
        files: dict[str, dict[str, Any]], source_digest: str,
    ) -> SavedCheckpoint:  # fmt: skip
        """Rank 0: publish a copy made from the checkpoint whose manifest hashes to
        `source_digest` (its universal layout) like a checkpoint, but leave `latest` alone."""
        try:
            self._check_pinned(parent, stage, name)
            return self._publish(stage.path, name, step, files, derived_from=source_digest)
        except OSError as err:
            raise self._publish_failure(parent, name, err) from err

    def discard_staging(self, parent: storage.PinnedDir) -> None:
        """Empty the staging directory; an object store's (a local temp dir) goes too."""
        parent.clear()
        if self._local_root is None:
            shutil.rmtree(parent.real_location(), ignore_errors=True)

    def drain(self, agree: bool = True) -> SavedCheckpoint | None:
        """Nothing is ever in flight here: `save` publishes before it returns."""
        return None

    def _publish_failure(self, parent: storage.PinnedDir, name: str, err: OSError) -> SovtrainError:
        if self._local_root is None:  # the error is the object store's, not this disk's
            return CheckpointError(f"checkpoint {name}: upload to {self.root} failed: {err}")
        free = shutil.disk_usage(parent.path).free
        return write_failure(name, parent.real_location(), str(err), free, 0)

    def _prune_quietly(self) -> None:
        """Old checkpoints go after a new one is complete; failing to delete them must not
        fail the save that just succeeded (the next save prunes again)."""
        try:
            self._prune()
        except (OSError, SovtrainError) as err:
            log.warning("could not prune old checkpoints under %s: %s", self.root, err)

    def _write(
        self, engine: Any, parent: storage.PinnedDir, stage: storage.PinnedDir, name: str,
        state: dict[str, Any],
    ) -> BaseException | None:  # fmt: skip
        """DeepSpeed's files, RNG and state into the pinned directories; the error, if any."""
        try:
            engine.save_checkpoint(str(parent.path), tag=name, save_latest=False)
            torch.save(rng_state(), stage.path / f"sovtrain_rng_rank{self.rank:05d}.pt")
            if self.rank == 0:
                (stage.path / STATE).write_text(json.dumps(state, indent=2, sort_keys=True))
        except (OSError, RuntimeError) as err:
            return err
        return None

    def _agree(
        self, failure: BaseException | None, parent: storage.PinnedDir, name: str, engine: Any
    ) -> None:
        """Every rank learns whether any rank failed to write; then all clean up and raise."""
        mine = str(failure) if failure is not None else None
        messages = [m for m in all_gather_object(mine, self._group) if m is not None]
        if not messages:
            return
        where = parent.real_location()
        self._barrier()
        if self.rank == 0:
            parent.clear()
        self._barrier()
        free = shutil.disk_usage(parent.path).free  # with the partial checkpoint removed
        needed = self._last_bytes or estimated_bytes(engine)
        raise write_failure(name, where, messages[0], free, needed)

    def _check_pinned(self, parent: storage.PinnedDir, stage: storage.PinnedDir, name: str) -> None:
        """Before publishing: the staging directory is still the one written, still admitted."""
        if not storage.still_child(parent, stage, name):
            raise CheckpointError(f"{parent.canonical}/{name}: replaced while it was written")
        parent.verify()

    def pin_staging(self) -> storage.PinnedDir:
        if self._local_root is not None:
            uri = storage.join(self.root, ".staging")
        else:  # object storage: stage on this node's disk, upload, remove
            uri = tempfile.mkdtemp(prefix=f"sovtrain-ckpt-r{self.rank}-")
        return storage.pin_dir(uri, purpose=_PURPOSE)

    def _gather_file_descriptions(self, stage: Path, name: str) -> dict[str, dict[str, Any]]:
        """Shared filesystem: rank 0 sees every file. Object store: each rank hashes its own."""
        if self._local_root is not None:
            return describe_files(stage) if self.rank == 0 else {}
        if self.rank != 0:
            storage.put_dir(stage, storage.join(self.root, name), purpose=_PURPOSE)
        gathered = all_gather_object(describe_files(stage), self._group)
        return {k: v for part in gathered for k, v in part.items()}

    def _publish(
        self, stage: Path, name: str, step: int, files: dict[str, dict[str, Any]],
        derived_from: str | None = None,
    ) -> SavedCheckpoint:  # fmt: skip
        """Manifest last, then (a checkpoint, not a copy `derived_from` one) `latest`."""
        manifest: dict[str, Any] = {"step": step, "files": files}
        if derived_from is not None:
            manifest["derived_from"] = derived_from
        text = json.dumps(manifest, indent=2, sort_keys=True)
        final = storage.join(self.root, name)
        if self._local_root is not None:
            storage.write_text_atomic(str(stage / MANIFEST), text, purpose=_PURPOSE)
            if storage.exists(final, purpose=_PURPOSE):
                storage.remove(final, purpose=_PURPOSE, recursive=True)
            storage.rename(str(stage), final, purpose=_PURPOSE)
        else:
            storage.put_dir(stage, final, purpose=_PURPOSE)
            storage.write_text_atomic(storage.join(final, MANIFEST), text, purpose=_PURPOSE)
        if derived_from is None:
            storage.write_text_atomic(storage.join(self.root, LATEST), name, purpose=_PURPOSE)
        total = sum(f["bytes"] for f in files.values())
        digest = hashlib.sha256(text.encode()).hexdigest()
        log.info("checkpoint %s written (%.1f MB)", final, total / 1e6)
        return SavedCheckpoint(step, final, total, digest)

    def _prune(self) -> None:
        steps = sorted(s for s in (_step_of(n) for n in self.list_names()) if s is not None)
        names = set(self.list_names())
        for old in steps[: -self.keep_last]:
            for name in (step_name(old), universal_name(step_name(old))):  # its copy with it
                if name in names:
                    storage.remove(storage.join(self.root, name), purpose=_PURPOSE, recursive=True)

    # ---------------------------------------------------------------- finding
    def list_names(self) -> list[str]:
        return storage.listdir(self.root, purpose=_PURPOSE)

    def verify(self, name: str) -> bool:
        """True iff `name` has a manifest and every listed file matches its size and sha256."""
        uri = storage.join(self.root, name)
        manifest_uri = storage.join(uri, MANIFEST)
        if not storage.exists(manifest_uri, purpose=_PURPOSE):
            return False
        try:
            manifest = json.loads(storage.read_text(manifest_uri, purpose=_PURPOSE))
            for rel, meta in manifest["files"].items():
                size, digest = _stream_digest(storage.join(uri, rel))
                if size != meta["bytes"] or digest != meta["sha256"]:
                    log.warning("checkpoint %s: %s does not match its manifest", name, rel)
                    return False
        except storage.StorageUnavailable:
            raise  # the store is down: that says nothing about this checkpoint
        except (OSError, ValueError, KeyError) as err:
            log.warning("checkpoint %s unreadable: %s", name, err)
            return False
        return True

    def manifest(self, name: str) -> tuple[dict[str, Any], str]:
        """(manifest, sha256 of its text) of checkpoint `name`: the digest names the exact
        bytes a derived copy was made from."""
        text = storage.read_text(storage.join(self.root, name, MANIFEST), purpose=_PURPOSE)
        return json.loads(text), hashlib.sha256(text.encode()).hexdigest()

    def read_state(self, name: str) -> dict[str, Any]:
        """The sovtrain state (step, tokens, data position, world size ...) of `name`."""
        return json.loads(storage.read_text(storage.join(self.root, name, STATE), purpose=_PURPOSE))

    def verified(self, name: str) -> bool:
        """Collective `verify`: rank 0 hashes, every rank gets the verdict."""
        return bool(self._broadcast(self.verify(name) if self.rank == 0 else None))

    def newest_verified(self) -> str | None:
        """Name of the newest checkpoint whose manifest verifies (rank 0 decides, all agree)."""
        choice = None
        if self.rank == 0:
            names = sorted((n for n in self.list_names() if _step_of(n) is not None), reverse=True)
            choice = next((n for n in names if self.verify(n)), None)
            skipped = names[: names.index(choice)] if choice else names
            if skipped:
                log.warning(
                    "skipped %d checkpoint(s) that failed verification (%s); %s",
                    len(skipped), ", ".join(skipped),
                    f"falling back to {choice}" if choice else "no verified checkpoint left",
                )  # fmt: skip
        return self._broadcast(choice)

    def newest_state(self) -> dict[str, Any] | None:
        """The sovtrain state of the newest published checkpoint, without hashing its
        weights: for tools (e.g. `slurm submit` finding the run's MLflow id) that must not
        read hundreds of GB on a login node. Training itself always verifies."""
        names = sorted((n for n in self.list_names() if _step_of(n) is not None), reverse=True)
        for name in names:
            uri = storage.join(self.root, name)
            if storage.exists(storage.join(uri, MANIFEST), purpose=_PURPOSE):
                return self.read_state(name)
        return None

    # ---------------------------------------------------------------- loading
    def load(
        self, engine: Any, name: str, deepspeed_tag: str | None = None, seed: int = 0
    ) -> dict[str, Any]:
        """Load DeepSpeed + our state from checkpoint `name`; returns the sovtrain state.

        `deepspeed_tag` names the directory DeepSpeed reads instead of `name` (its universal
        copy, when the world size changed); our state and RNG always come from `name`. A
        rank the checkpoint has no RNG state for is reseeded from `seed`, the step and its
        rank."""
        tags = [name] if deepspeed_tag is None else [name, deepspeed_tag]
        if self._local_root is not None:
            parent, cleanup = self._local_root, None
        else:
            cleanup = Path(tempfile.mkdtemp(prefix="sovtrain-resume-"))
            for tag in tags:
                storage.get_dir(storage.join(self.root, tag), cleanup / tag, purpose=_PURPOSE)
            parent = cleanup
        try:
            load_path, _ = engine.load_checkpoint(str(parent), tag=tags[-1])
            if load_path is None:
                raise CheckpointError(f"DeepSpeed could not load checkpoint {self.root}/{tags[-1]}")
            state = json.loads((parent / name / STATE).read_text())
            rng_file = parent / name / f"sovtrain_rng_rank{self.rank:05d}.pt"
            if rng_file.exists():
                restore_rng(torch.load(rng_file, weights_only=False))
            else:
                reseed(seed, int(state["step"]), self.rank)
        finally:
            if cleanup is not None:
                shutil.rmtree(cleanup, ignore_errors=True)
        return state

    # ---------------------------------------------------------------- collectives
    def _barrier(self) -> None:
        barrier(self._group)

    def _broadcast(self, value: Any) -> Any:
        return broadcast_object(value, src=0, group=self._group)
