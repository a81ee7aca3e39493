"""Shared fixtures: tiny recipes that exercise the real code paths in seconds."""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sovtrain import storage

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DS_ACCELERATOR", "cpu")

TINY_RECIPE = {
    "run": {"name": "tiny", "seed": 7},
    "model": {
        "arch": "llama",
        "config": {
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 128,
            "vocab_size": 512,
            "max_position_embeddings": 128,
            "tie_word_embeddings": True,
        },
    },
    "tokenizer": {"vocab_size": 512, "train_chars": 200_000},
    "data": {
        "sources": [{"name": "fin", "kind": "synthetic", "documents": 600}],
        "heldout_fraction": 0.05,
        "shard_sequences": 64,
    },
    "train": {
        "seq_len": 64,
        "micro_batch": 4,
        "global_batch_sequences": 8,
        "max_steps": 12,
        "precision": "fp32",
        "log_interval": 2,
        "eval_interval": 6,
        "eval_batches": 2,
        "optimizer": {"lr": 3e-3, "warmup_steps": 2},
    },
    "deepspeed": {"zero_stage": 2},
    "checkpoint": {"interval_steps": 4, "keep_last": 5},
    "tracking": {"experiment": "tests"},
}


def run_python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -c code args...` in a fresh single process on the CPU: no launcher variables
    (it must not join a parent's process group), one OpenMP thread; asserts exit 0."""
    env = dict(os.environ, DS_ACCELERATOR="cpu", OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                            text=True, timeout=timeout, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def write_recipe(path: Path, recipe: dict, **output) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def tracked_recipe(
    tmp: Path, name: str, tracking_uri: str, model_config: dict | None = None, **train
) -> Path:
    """The tiny recipe as run `name` under `tmp`, tracked at `tracking_uri`; runs built
    here share one prepared data directory, so a module prepares it once."""
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"].update(name=name, output_uri=str(tmp / name))
    recipe["data"]["prepared_uri"] = str(tmp / "shared-data")
    recipe["tracking"]["uri"] = tracking_uri
    recipe["train"].update(train)
    recipe["model"]["config"].update(model_config or {})
    return write_recipe(tmp / f"{name}.yaml", recipe)


@pytest.fixture
def tiny_recipe(tmp_path: Path) -> Path:
    """A valid tiny recipe whose run writes under tmp_path/run."""
    import copy

    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    return write_recipe(tmp_path / "tiny.yaml", recipe)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Cards dir (repo cards + policy for tmp roots), clusters in hk and cn-gba."""
    hk, gba = tmp_path / "hk", tmp_path / "gba"
    hk.mkdir()
    gba.mkdir()
    cards = tmp_path / "cards"
    shutil.copytree(REPO / "data_cards", cards)
    policy = yaml.safe_load((cards / "residency.yaml").read_text())
    policy["storage"] += [
        {"prefix": str(hk), "region": "hk"},
        {"prefix": str(gba), "region": "cn-gba"},
    ]
    (cards / "residency.yaml").write_text(yaml.safe_dump(policy))
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    for name, region in (("site-hk", "hk"), ("site-gba", "cn-gba")):
        profile = {"name": name, "region": region, "scheduler": "none"}
        (clusters / f"{name}.yaml").write_text(yaml.safe_dump(profile))
    monkeypatch.setenv("SOVTRAIN_CARDS_DIR", str(cards))
    monkeypatch.setenv("SOVTRAIN_CLUSTERS_DIR", str(clusters))
    monkeypatch.setenv("SOVTRAIN_CACHE", str(tmp_path / "cache"))
    yield {"hk": hk, "gba": gba, "cards": cards, "tmp": tmp_path}
    storage.clear_guards()


def private_recipe(world, **run) -> Path:
    """The tiny recipe reading hk-bank-comms files from the hk root, writing under hk."""
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(world["hk"] / "runs" / "tiny")
    recipe["run"].update(run)
    recipe["data"]["sources"] = [{
        "name": "bank", "kind": "files", "domain": "finance", "card": "hk-bank-comms",
        "uri": str(world["hk"] / "raw" / "*.jsonl"),
    }]  # fmt: skip
    return write_recipe(world["tmp"] / "private.yaml", recipe)


@pytest.fixture(scope="session")
def foreign_base(tmp_path_factory) -> Path:
    """A small Qwen2 base made with plain transformers (see tests/foreign_base.py), built once
    per test session; tests copy it if they change it."""
    from tests import foreign_base as fb

    return fb.build(tmp_path_factory.mktemp("foreign") / "qwen2-base")


# ---- a governed open-weight base: the foreign base copied into a world, with its model card
BASE_CARD_ID = "tiny-qwen2-base"


def copy_base(world, foreign_base: Path, region: str = "hk") -> Path:
    base = world[region] / "bases" / "tiny-qwen2"
    shutil.copytree(foreign_base, base)
    return base


def weight_files(base: Path) -> list[Path]:
    return sorted(base.glob("model-*.safetensors"))


def weights_block(base: Path) -> dict:
    from typer.testing import CliRunner

    from sovtrain.cli.cards import cards_app

    result = CliRunner().invoke(cards_app, ["model-digests", str(base)])
    assert result.exit_code == 0, result.output
    return yaml.safe_load(result.stdout)["weights"]


def write_base_card(world, base: Path, approved: bool = True, **fields) -> Path:
    card = {
        "kind": "model",
        "id": BASE_CARD_ID,
        "version": "1",
        "title": "Tiny Qwen2 test base",
        "owner": "tests",
        "source": {
            "host": "example.org",
            "repository": "tests/tiny-qwen2",
            "acquired": "2026-11-02",
            "acquired_by": "the test suite",
        },
        "license": "LicenseRef-Tiny-Test",
        "license_name": "Tiny Test Licence",
        "license_url": "https://example.org/tiny-licence",
        "weights": weights_block(base),
        "residency": {"home_region": "hk", "storage_regions": ["hk"], "processing_regions": ["hk"]},
        "intended_uses": ["tests"],
        **fields,
    }
    path = world["cards"] / f"{BASE_CARD_ID}.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    if approved:
        from sovtrain.governance.cards import approve

        approve(path, "Model Reviewer", dt.date.today())
    return path
