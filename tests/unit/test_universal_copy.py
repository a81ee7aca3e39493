"""The universal copy a resume on another world size reads: made once, verified, tied to
the exact checkpoint it came from, rebuilt when it is not, pruned with its checkpoint.

A real single-process DeepSpeed ZeRO-2 engine (in a child process) writes the checkpoint;
the conversion is DeepSpeed's own `ds_to_universal`, run by `train.resume` as it would be
on resume.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from sovtrain.core.errors import CheckpointError
from sovtrain.train.checkpoint import CheckpointStore, checkpoints_root
from sovtrain.train.resume import ensure_universal, plan_resume
from tests.conftest import TINY_RECIPE, run_python

CHILD = textwrap.dedent(
    """
    import sys
    import torch
    from sovtrain.recipe import load_recipe
    from sovtrain.train import checkpoint as ck
    from sovtrain.distributed.context import init_distributed
    from sovtrain.train.session import build_engine

    loaded = load_recipe(sys.argv[1])
    engine, _ = build_engine(loaded, init_distributed(), vocab_size=512)
    for _ in range(2):  # Adam moments to carry over
        batch = torch.randint(0, 512, (4, 64))
        engine.backward(engine(input_ids=batch, labels=batch).loss)
        engine.step()
    store = ck.CheckpointStore(ck.checkpoints_root(loaded.recipe.run.output_uri), 0, 1)
    store.save(engine, {"step": 2, "world_size": 1})
    """
)
NAME, COPY = "step_00000002", "step_00000002.universal"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A verified ZeRO-2 checkpoint written by one rank (its optimizer state is split per
    rank: a resume on two ranks needs the universal copy)."""
    tmp = tmp_path_factory.mktemp("universal")
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp / "run")
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    run_python(CHILD, str(path))
    return Path(checkpoints_root(str(tmp / "run")))


@pytest.fixture
def store(saved: Path, tmp_path: Path) -> CheckpointStore:
    """A private copy of the saved checkpoints, so each test starts without a universal copy."""
    root = tmp_path / "checkpoints"
    shutil.copytree(saved, root)
    return CheckpointStore(str(root), 0, 1)


def test_the_copy_is_made_once_verified_and_tied_to_its_checkpoint(store, caplog):
    caplog.set_level(logging.INFO, logger="sovtrain")
    assert ensure_universal(store, NAME) == COPY
    assert "converted step_00000002 to DeepSpeed's universal layout" in caplog.text
    assert store.verify(COPY)
    manifest, _ = store.manifest(COPY)
    assert manifest["derived_from"] == store.manifest(NAME)[1]
    files = set(manifest["files"])
    assert "mp_rank_00_model_states.pt" in files and "zero/optimizer_state.pt" in files
    assert "zero/model.norm.weight/exp_avg_sq.pt" in files  # one folder per parameter
    assert not any(f.startswith("tmp/") for f in files)  # the converter's scratch is gone
    root = Path(store.root)
    assert (root / "latest").read_text() == NAME  # a copy never becomes `latest`
    assert store.newest_verified() == NAME
    assert not any((root / ".staging").iterdir())
    stamp = (root / COPY / "mp_rank_00_model_states.pt").stat().st_mtime_ns
    caplog.clear()
    assert ensure_universal(store, NAME) == COPY  # the second resume reuses it
    assert "using the universal copy" in caplog.text and "converted" not in caplog.text
    assert (root / COPY / "mp_rank_00_model_states.pt").stat().st_mtime_ns == stamp


def test_a_corrupted_copy_is_converted_again(store, caplog):
    ensure_universal(store, NAME)
    target = Path(store.root) / COPY / "zero" / "model.norm.weight" / "fp32.pt"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    caplog.set_level(logging.INFO, logger="sovtrain")
    assert ensure_universal(store, NAME) == COPY
    assert "does not match its manifest" in caplog.text and "converted" in caplog.text
    assert store.verify(COPY)


def test_a_copy_of_other_bytes_is_not_used(store, caplog):
    """A copy whose `derived_from` names another manifest (the checkpoint was rewritten
    under the same step) is rebuilt from the checkpoint that is there now."""
    ensure_universal(store, NAME)
    path = Path(store.root) / COPY / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "derived_from": "0" * 64}))
    caplog.set_level(logging.INFO, logger="sovtrain")
    ensure_universal(store, NAME)
    assert "converted" in caplog.text
    assert store.manifest(COPY)[0]["derived_from"] == store.manifest(NAME)[1]


def test_a_failed_conversion_says_so_and_leaves_no_copy(store):
    optim = Path(store.root) / NAME / "zero_pp_rank_0_mp_rank_00_optim_states.pt"
    optim.write_bytes(optim.read_bytes()[:1000])  # truncated: the converter cannot read it
    with pytest.raises(CheckpointError, match="universal conversion failed"):
        ensure_universal(store, NAME)
    assert not (Path(store.root) / COPY).exists()
    assert not any((Path(store.root) / ".staging").iterdir())


def test_the_plan_reshards_only_when_the_world_size_changed(store):
    same = plan_resume(store, "auto")
    assert (same.name, same.saved_world_size, same.universal) == (NAME, 1, False)
    two = CheckpointStore(store.root, 0, 2)
    planned = plan_resume(two, "auto")
    assert (planned.saved_world_size, planned.world_size, planned.universal) == (1, 2, True)


def test_a_checkpoint_without_a_world_size_is_counted_by_its_rank_files(store):
    state = Path(store.root) / NAME / "sovtrain_state.json"
    state.write_text(json.dumps({"step": 2}))  # written before `world_size` was recorded
    manifest_path = Path(store.root) / NAME / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["sovtrain_state.json"]["sha256"] = _sha(state)
    manifest["files"]["sovtrain_state.json"]["bytes"] = state.stat().st_size
    manifest_path.write_text(json.dumps(manifest))
    assert plan_resume(store, "auto").saved_world_size == 1


def test_pruning_a_checkpoint_removes_its_copy(tmp_path):
    root = tmp_path / "checkpoints"
    for step in (1, 2, 3, 4):
        (root / f"step_{step:08d}").mkdir(parents=True)
    (root / "step_00000001.universal").mkdir()
    (root / "step_00000004.universal").mkdir()
    CheckpointStore(str(root), 0, 1, keep_last=3)._prune()
    assert sorted(p.name for p in root.iterdir()) == [
        "step_00000002", "step_00000003", "step_00000004", "step_00000004.universal",
    ]  # fmt: skip


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
