"""Checkpoint atomicity: a write killed at any phase is never picked by `--resume auto`.

Each case runs a real single-process DeepSpeed engine in a child process, writes a complete
checkpoint at step 1, then starts step 2's checkpoint and SIGKILLs itself at one phase; with
`checkpoint.async` the kill lands in the background thread that publishes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sovtrain.train.checkpoint import LATEST, MANIFEST, CheckpointStore, checkpoints_root
from tests.conftest import run_python

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from sovtrain import storage
    from sovtrain.recipe import load_recipe
    from sovtrain.train import checkpoint as ck
    from sovtrain.distributed.context import init_distributed
    from sovtrain.train.async_checkpoint import AsyncCheckpointWriter
    from sovtrain.train.session import build_engine

    recipe_path, phase, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    loaded = load_recipe(recipe_path)
    ctx = init_distributed()
    engine, _ = build_engine(loaded, ctx, vocab_size=512)
    store = ck.CheckpointStore(ck.checkpoints_root(loaded.recipe.run.output_uri), 0, 1)
    writer = AsyncCheckpointWriter(store) if mode == "async" else store
    writer.save(engine, {"step": 1})
    writer.drain()

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if phase == "during-deepspeed-write":
        ck.CheckpointStore._gather_file_descriptions = die
    elif phase == "before-rename":
        ck.storage.rename = die
    elif phase == "before-latest":
        real = storage.write_text_atomic
        def maybe_die(uri, text, **kw):
            if uri.endswith("/latest"):
                die()
            return real(uri, text, **kw)
        ck.storage.write_text_atomic = maybe_die
    writer.save(engine, {"step": 2})
    writer.drain()
    print("survived")
    """
)


def _run_child(recipe: Path, phase: str, mode: str = "sync") -> subprocess.CompletedProcess:
    env = dict(os.environ, DS_ACCELERATOR="cpu", OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(recipe), phase, mode],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("during-deepspeed-write", "step_00000001"),
        ("before-rename", "step_00000001"),
        ("before-latest", "step_00000002"),  # fully renamed into place: complete, verified
    ],
)
def test_killed_checkpoint_write_is_never_resumed(tiny_recipe, phase, expected, mode):
    result = _run_child(tiny_recipe, phase, mode)
    assert result.returncode == -9, result.stderr[-3000:]
    root = checkpoints_root(str(tiny_recipe.parent / "run"))
    store = CheckpointStore(root, 0, 1)
    assert store.newest_verified() == expected
    assert (Path(root) / LATEST).read_text() == "step_00000001"
    if expected == "step_00000001":
        assert not (Path(root) / "step_00000002").exists()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_corrupted_or_truncated_checkpoint_falls_back(tiny_recipe, caplog, mode):
    result = _run_child(tiny_recipe, "complete", mode)
    assert "survived" in result.stdout, result.stderr[-3000:]
    root = Path(checkpoints_root(str(tiny_recipe.parent / "run")))
    store = CheckpointStore(str(root), 0, 1)
    assert store.newest_verified() == "step_00000002"
    manifest = json.loads((root / "step_00000002" / MANIFEST).read_text())
    victim = (
        root / "step_00000002" / max(manifest["files"], key=lambda k: manifest["files"][k]["bytes"])
    )
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    with caplog.at_level("WARNING", logger="sovtrain.train.checkpoint"):
        assert store.newest_verified() == "step_00000001"
    assert "failed verification (step_00000002); falling back to step_00000001" in caplog.text
    first = root / "step_00000001"
    state = first / "sovtrain_state.json"
    state.write_text(state.read_text()[:5])  # truncated
    assert store.newest_verified() is None


SLOW_HASH = textwrap.dedent(
    """
    import json, sys, threading
    from pathlib import Path
    from sovtrain.recipe import load_recipe
    from sovtrain.train import checkpoint as ck
    from sovtrain.distributed.context import init_distributed
    from sovtrain.train.async_checkpoint import AsyncCheckpointWriter
    from sovtrain.train.session import build_engine

    loaded = load_recipe(sys.argv[1])
    engine, _ = build_engine(loaded, init_distributed(), vocab_size=512)
    root = ck.checkpoints_root(loaded.recipe.run.output_uri)
    writer = AsyncCheckpointWriter(ck.CheckpointStore(root, 0, 1))
    writer.save(engine, {"step": 1})
    writer.drain()
    hashing, gate, real = threading.Event(), threading.Event(), ck.sha256_file
    def held(path):  # the real hash, once the test lets it go
        hashing.set()
        assert gate.wait(120)
        return real(path)
    ck.sha256_file = held
    returned = writer.save(engine, {"step": 2})
    seen = {
        "returned": returned,
        "hashing": hashing.wait(60),
        "latest": (Path(root) / "latest").read_text(),
        "published": (Path(root) / "step_00000002").exists(),
    }
    gate.set()
    saved = writer.drain()
    seen.update(drained=saved.step, latest_after=(Path(root) / "latest").read_text())
    print(json.dumps(seen))
    """
)


def test_async_save_returns_before_hashing_and_drain_publishes(tiny_recipe):
    result = run_python(SLOW_HASH, str(tiny_recipe))
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # save returned while the background thread was still hashing: nothing published yet
    assert seen["returned"] is None and seen["hashing"]
    assert seen["latest"] == "step_00000001" and not seen["published"]
    assert seen["drained"] == 2 and seen["latest_after"] == "step_00000002"
    store = CheckpointStore(checkpoints_root(str(tiny_recipe.parent / "run")), 0, 1)
    assert store.newest_verified() == "step_00000002"
