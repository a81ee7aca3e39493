"""The speed switches through a real DeepSpeed engine on the CPU, and refused through the CLI.

- fp8: torchao's float8 linears run on the CPU too (`torch._scaled_mm` has a CPU kernel),
  so the converter's numerics are checked here: the loss after optimizer steps tracks the
  bf16 run's within 1%, for both scaling recipes, and only the LM head stays unconverted.
  torchao lives beside the venv (`make setup` puts it in .venv/extras): installed in it,
  transformers would import it in every process.
- compile: `engine.compile()` with inductor on the CPU gives the eager losses and leaves
  the state dict's keys as they were (checkpoints stay loadable either way).
- a `sovtrain train` asking for fp8 or Liger on this CPU exits 2 with the reason and writes
  nothing: no run directory, no lease, no audit record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_python

pytestmark = pytest.mark.slow

EXTRAS = REPO / ".venv" / "extras"

ENGINE_CHILD = """
import json, sys, torch
from sovtrain.recipe import load_recipe
from sovtrain.distributed.context import init_distributed
from sovtrain.train.session import build_engine

ctx = init_distributed()
ids = torch.randint(0, 512, (4, 64), generator=torch.Generator().manual_seed(5))
out = {}
for name in sys.argv[2:]:
    overrides = [o for o in name.split(",") if o]
    engine, _ = build_engine(load_recipe(sys.argv[1], overrides), ctx, vocab_size=512)
    losses = []
    for _ in range(4):  # three optimizer steps between the first loss and the last
        loss = engine(input_ids=ids, labels=ids, use_cache=False).loss
        engine.backward(loss)
        engine.step()
        losses.append(loss.item())
    names = {type(m).__name__ for m in engine.module.modules()}
    kinds = sorted(n for n in names if "Linear" in n)
    head = type(engine.module.get_output_embeddings()).__name__
    out[name] = {"losses": losses, "linears": kinds, "head": head,
                 "keys": sorted(engine.module.state_dict()), "compiled": engine.is_compiled}
print(json.dumps(out))
"""


def engine_runs(recipe: Path, *variants: str, extra_path: Path | None = None) -> dict:
    code = ENGINE_CHILD
    if extra_path is not None:
        code = f"import sys; sys.path.insert(0, {str(extra_path)!r})\n" + code
    result = run_python(code, str(recipe), *variants, timeout=900)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fp8_tracks_bf16_within_one_percent_and_leaves_the_head_alone(tiny_recipe):
    assert (EXTRAS / "torchao").is_dir(), "run `make setup`: it installs torchao in .venv/extras"
    bf16 = "train.precision=bf16"
    tensorwise = "train.precision=fp8,train.fp8_recipe=tensorwise"
    rowwise = "train.precision=fp8,train.fp8_recipe=rowwise"
    runs = engine_runs(tiny_recipe, bf16, tensorwise, rowwise, extra_path=EXTRAS)
    reference = runs[bf16]["losses"]
    assert reference[-1] < reference[0] - 0.05  # it trains: the comparison means something
    assert runs[bf16]["linears"] == ["Linear"]
    for name in (tensorwise, rowwise):
        run = runs[name]
        assert run["linears"] == ["Float8Linear", "Linear"], name  # Linear: the LM head only
        assert run["head"] == "Linear"
        for got, want in zip(run["losses"], reference, strict=True):
            assert abs(got - want) <= 0.01 * want, (name, run["losses"], reference)
        assert run["keys"] == runs[bf16]["keys"]  # the same checkpoint layout


def test_compiled_engine_gives_the_eager_losses_and_the_same_state_dict(tiny_recipe):
    eager, compiled = "train.compile=false", "train.compile=true"
    runs = engine_runs(tiny_recipe, eager, compiled)
    assert runs[compiled]["compiled"] and not runs[eager]["compiled"]
    assert runs[compiled]["losses"] == pytest.approx(runs[eager]["losses"], rel=1e-4)
    assert runs[compiled]["keys"] == runs[eager]["keys"]  # no `_orig_mod.` prefixes


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("train.precision=fp8", "train.precision: fp8 needs an NVIDIA GPU with fp8 tensor cores"),
        ("model.kernels=liger", "model.kernels: liger needs a CUDA GPU"),
    ],
)
def test_train_on_cpu_refuses_gpu_only_switches_and_writes_nothing(tiny_recipe, override, says):
    env = dict(os.environ, OMP_NUM_THREADS="1", DS_ACCELERATOR="cpu")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    command = [sys.executable, "-m", "sovtrain.cli", "train", str(tiny_recipe), "--set", override]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr[-3000:]
    assert says in result.stderr and "this rank runs on cpu" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tiny_recipe.parent / "run").exists()  # no lease, data, audit or checkpoint
