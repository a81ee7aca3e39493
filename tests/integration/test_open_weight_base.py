"""The open-weight workflow end to end, on a base that sovtrain did not make.

The session's tiny Qwen2 (tests/foreign_base.py: plain transformers, its own tokenizer with
special tokens at the top ids, a Qwen-style chat template, four safetensors shards) is copied
onto the hk file system with an approved model card. Then, from `model.init_from` alone:
continued pre-training keeps the base's tokenizer and starts from the base's own loss (as
transformers counts it), fine-tuning trains, and the export loads with transformers, with the
base's chat template and the checkpoint's logits.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from sovtrain.data.loader import PackedDataset, fixed_batches
from tests import foreign_base as fb
from tests.conftest import REPO, TINY_RECIPE, copy_base, write_base_card, write_recipe

pytestmark = pytest.mark.slow


def _sovtrain(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sovtrain.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)


@pytest.fixture
def governed(world, foreign_base) -> Path:
    base = copy_base(world, foreign_base)
    write_base_card(world, base)
    return base


def _recipe(world, base: Path, name: str, **train) -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    del recipe["tokenizer"]  # the base's tokenizer, unchanged
    recipe["model"] = {"init_from": str(base)}  # arch, config and vocabulary from the base
    recipe["run"].update(name=name, output_uri=str(world["hk"] / "runs" / name))
    recipe["data"]["sources"][0].update(domain="finance", card="synthetic-finance-bilingual")
    recipe["train"].update(max_steps=4, eval_interval=4, eval_batches=3, **train)
    recipe["checkpoint"]["interval_steps"] = 4
    return write_recipe(world["tmp"] / f"{name}.yaml", recipe)


def _prepared(run_dir: Path) -> Path:
    (manifest,) = run_dir.glob("data/**/shards/manifest.json")
    return manifest.parent


def _metric(run_dir: Path, key: str, step: int) -> float:
    with sqlite3.connect(run_dir / "mlflow.db") as db:
        rows = db.execute("SELECT value FROM metrics WHERE key = ? AND step = ?", (key, step))
        (value,) = rows.fetchone()
    return float(value)


@torch.no_grad()
def _transformers_loss(base: Path, shards: Path, micro_batch: int, batches: int) -> float:
    """The base's loss on the run's held-out batches, counted by transformers alone."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32).eval()
    heldout = PackedDataset(str(shards), "heldout")
    losses = [
        float(model(input_ids=torch.from_numpy(rows), labels=torch.from_numpy(rows)).loss)
        for rows, _ in fixed_batches(heldout, 0, 1, micro_batch, batches)
    ]
    return sum(losses) / len(losses)


def test_continued_pretraining_keeps_the_base_tokenizer_and_starts_at_its_loss(world, governed):
    from transformers import AutoTokenizer

    path = _recipe(world, governed, "cpt", optimizer={"lr": 1e-9, "warmup_steps": 0})
    result = _sovtrain("train", str(path), "--cluster", "site-hk")
    assert result.returncode == 0, result.stderr[-4000:]
    run_dir = world["hk"] / "runs" / "cpt"
    shards = _prepared(run_dir)
    ours = AutoTokenizer.from_pretrained(str(shards.parent / "tokenizer"))
    theirs = AutoTokenizer.from_pretrained(str(governed))
    for probe in fb.PROBES:
        assert ours(probe)["input_ids"] == theirs(probe)["input_ids"], probe
    assert ours.eos_token_id == theirs.eos_token_id == len(theirs) - 3  # top ids, not ours
    manifest = json.loads((shards / "manifest.json").read_text())
    assert manifest["vocab_size"] == len(theirs)
    step0 = _metric(run_dir, "eval_loss", 0)
    reference = _transformers_loss(governed, shards, micro_batch=4, batches=3)
    assert abs(step0 - reference) < 1e-4, (step0, reference)
    assert step0 < fb.describe(governed)["ln_vocab"] - 2  # the base's knowledge is there
    assert "(base, step 0)" in result.stdout


def test_fine_tuning_from_the_base_exports_with_its_chat_template(world, governed):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sovtrain.export.weights_out import build_loaded_model
    from sovtrain.model.weights import consolidate
    from sovtrain.recipe import load_recipe

    path = _recipe(world, governed, "sft", optimizer={"lr": 1e-3, "warmup_steps": 1})
    recipe = yaml.safe_load(path.read_text())
    recipe["data"] = {
        "sources": [{"name": "chat", "kind": "synthetic-chat", "domain": "finance",
                     "card": "synthetic-finance-bilingual", "examples": 200}],
        "heldout_fraction": 0.1, "shard_sequences": 64,
    }  # fmt: skip
    recipe["finetune"] = {"eval_examples": 4}
    recipe["train"]["seq_len"] = 128
    path = write_recipe(path, recipe)
    result = _sovtrain("train", str(path), "--cluster", "site-hk")
    assert result.returncode == 0, result.stderr[-4000:]
    run_dir = world["hk"] / "runs" / "sft"
    assert _metric(run_dir, "eval_loss", 4) < _metric(run_dir, "eval_loss", 0)
    out = world["hk"] / "exports" / "sft"
    exported = _sovtrain("export", str(run_dir), str(out), "--cluster", "site-hk")
    assert exported.returncode == 0, exported.stderr[-4000:]
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert model.config.model_type == "qwen2"
    card = (out / "README.md").read_text()
    assert "tiny-qwen2-base@1" in card and "LicenseRef-Tiny-Test" in card  # the base, named
    assert "architecture: `qwen2`" in card
    assert tokenizer.chat_template == fb.CHAT_TEMPLATE
    messages = [{"role": "user", "content": "滙豐的股息是多少？"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>system\nYou are a helpful assistant.")
    loaded = load_recipe(path).recipe
    state, _ = consolidate(run_dir / "checkpoints" / "step_00000004", "fp32", 2)
    reference = build_loaded_model(loaded.model, len(tokenizer), state)
    ids = torch.tensor([tokenizer(rendered)["input_ids"]])
    with torch.no_grad():
        torch.testing.assert_close(
            model.eval()(input_ids=ids).logits, reference.eval()(input_ids=ids).logits,
            atol=1e-5, rtol=0,
        )  # fmt: skip


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-3000:]
    return " ".join(lines[0].split())


def test_bad_bases_and_overrides_are_one_line_refusals_that_write_nothing(world, governed):
    path = _recipe(world, governed, "refused")
    run_dir = world["hk"] / "runs" / "refused"
    shape = _sovtrain("train", str(path), "--cluster", "site-hk",
                      "--set", "model.config.num_hidden_layers=3")  # fmt: skip
    assert shape.returncode == 2
    assert "model.config.num_hidden_layers: 3 would change the base's tensor shapes" in (
        _one_line_error(shape)
    )
    tokenizer = _sovtrain("train", str(path), "--cluster", "site-hk",
                          "--set", "tokenizer.vocab_size=4096")  # fmt: skip
    assert tokenizer.returncode == 2 and "tokenizer" in _one_line_error(tokenizer)
    shard = sorted(governed.glob("model-*.safetensors"))[1]
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte in the second shard
    shard.write_bytes(bytes(data))
    altered = _sovtrain("train", str(path), "--cluster", "site-hk")
    assert altered.returncode == 3
    message = _one_line_error(altered)
    assert shard.name in message and "tiny-qwen2-base@1" in message
    assert not run_dir.exists(), "a refused run wrote into its run directory"
