"""`model.init_from` alone: the architecture and config come from the base (issue 12).

The recipe validates without reading the base; `build_config` reads it and refuses any
override that would make the base something else, in one line that names the key, the
base's value and the recipe's. The base is the foreign Qwen2 of tests/foreign_base.py, and a
sovtrain run directory (a recipe and a shard manifest are all its config needs).
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from sovtrain.core.errors import RecipeError, SovtrainError
from sovtrain.model.build import build_config
from sovtrain.recipe import load_recipe
from sovtrain.recipe.schema import ModelSection, Recipe
from sovtrain.train.loop import RunSummary, Trainer, TrainState
from sovtrain.train.report import eval_row
from tests.conftest import REPO, TINY_RECIPE, write_recipe

SHAPES = "would change the base's tensor shapes (the base has {});"
REFUSAL = SHAPES + " remove it to train the base as it is"


def base_recipe(tmp_path: Path, init_from: str | Path, **model) -> dict:
    """The tiny recipe starting from `init_from`: no arch, no config, no tokenizer."""
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe.pop("tokenizer")
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    recipe["model"] = {"init_from": str(init_from), **model}
    return recipe


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sovtrain.cli", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=dict(os.environ),
    )  # fmt: skip


# --- validation never reads the base ----------------------------------------------------


def test_init_from_alone_validates_without_reading_the_base(tmp_path):
    missing = tmp_path / "not-there"  # validation must not look: admission decides that read
    loaded = load_recipe(write_recipe(tmp_path / "r.yaml", base_recipe(tmp_path, missing)))
    assert loaded.recipe.model.arch is None and loaded.recipe.model.init_from == str(missing)
    assert "tokenizer" not in loaded.resolved_dict()


def test_resolved_recipe_reloads_with_the_same_digest(tmp_path):
    loaded = load_recipe(write_recipe(tmp_path / "r.yaml", base_recipe(tmp_path, tmp_path)))
    again = tmp_path / "recipe.resolved.yaml"
    again.write_text(loaded.resolved_yaml())
    assert load_recipe(again).digest == loaded.digest


def test_arch_is_required_without_init_from(tmp_path):
    recipe = copy.deepcopy(TINY_RECIPE)
    del recipe["model"]["arch"]
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml", recipe))
    assert "model.arch: Field required" in str(err.value) and "\n" not in str(err.value)
    assert "unless init_from names a base" in str(err.value)


def test_a_typo_next_to_init_and_arch_fails_at_validation(tmp_path):
    recipe = base_recipe(tmp_path, tmp_path, arch="qwen2", config={"hiden_size": 64})
    with pytest.raises(RecipeError, match="hiden_size not fields of Qwen2Config"):
        load_recipe(write_recipe(tmp_path / "r.yaml", recipe))


def test_tokenizer_section_next_to_init_from_is_refused(tmp_path):
    recipe = base_recipe(tmp_path, tmp_path)
    recipe["tokenizer"] = {"vocab_size": 512}
    path = write_recipe(tmp_path / "r.yaml", recipe)
    expected = (
        "tokenizer: with model.init_from the base's own tokenizer is used unchanged "
        "(its ids are what the base learned); remove the tokenizer section"
    )
    with pytest.raises(RecipeError, match=r"tokenizer: with model\.init_from"):
        load_recipe(path)
    result = cli("recipe", "validate", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert expected in result.stderr


# --- the config comes from an HF base -------------------------------------------------------


def test_build_config_is_the_bases(foreign_base):
    config = build_config(ModelSection(init_from=str(foreign_base)), vocab_size=8192)
    stored = json.loads((foreign_base / "config.json").read_text())
    assert type(config).__name__ == "Qwen2Config"
    assert config.hidden_size == stored["hidden_size"] == 64
    assert config.vocab_size == stored["vocab_size"]  # the base's, not the argument


@pytest.mark.parametrize(
    ("key", "value", "base"),
    [
        ("hidden_size", 128, 64),
        ("num_hidden_layers", 3, 2),
        ("vocab_size", 4096, 3000),
        ("intermediate_size", 256, 128),
        ("num_key_value_heads", 4, 2),
    ],
)
def test_a_shape_changing_override_is_one_line_naming_both_values(foreign_base, key, value, base):
    section = ModelSection(init_from=str(foreign_base), config={key: value})
    with pytest.raises(RecipeError) as err:
        build_config(section)
    assert str(err.value) == f"model.config.{key}: {value} " + REFUSAL.format(base)


def test_a_differing_setting_outside_the_allow_list_is_refused(foreign_base):
    section = ModelSection(init_from=str(foreign_base), config={"rms_norm_eps": 1e-5})
    with pytest.raises(RecipeError, match=r"model\.config\.rms_norm_eps: 1e-05 differs from"):
        build_config(section)


def test_allowed_overrides_apply_and_equal_values_pass(foreign_base):
    overrides = {"max_position_embeddings": 512, "rope_theta": 5e5, "attention_dropout": 0.1,
                 "hidden_size": 64}  # fmt: skip
    config = build_config(ModelSection(init_from=str(foreign_base), config=overrides))
    assert config.max_position_embeddings == 512 and config.attention_dropout == 0.1
    assert config.rope_parameters["rope_theta"] == 5e5 and config.hidden_size == 64


def test_arch_must_match_the_base(foreign_base):
    assert build_config(ModelSection(arch="qwen2", init_from=str(foreign_base))).model_type
    with pytest.raises(RecipeError) as err:
        build_config(ModelSection(arch="llama", init_from=str(foreign_base)))
    assert str(err.value).startswith("model.arch: 'llama' differs from the base's model_type")
    assert "'qwen2'" in str(err.value)


def test_an_unknown_key_names_the_bases_config_class(foreign_base):
    with pytest.raises(RecipeError, match="hiden_size not fields of Qwen2Config"):
        build_config(ModelSection(init_from=str(foreign_base), config={"hiden_size": 64}))


def test_the_cli_reports_a_shape_override_in_one_line(tmp_path, foreign_base):
    recipe = base_recipe(tmp_path, foreign_base, config={"hidden_size": 128})
    result = cli("flops", str(write_recipe(tmp_path / "r.yaml", recipe)), "--json")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = " ".join(result.stderr.split())
    assert "model.config.hidden_size: 128 " + REFUSAL.format(64) in line


def test_a_path_that_is_no_base_is_a_clear_error(tmp_path):
    with pytest.raises(SovtrainError, match="not a run directory"):
        build_config(ModelSection(init_from=str(tmp_path)))


# --- the config comes from a sovtrain run (and a run started from a base) ------------------


def fake_run(root: Path, recipe: dict, vocab_size: int) -> Path:
    """A run directory as far as its config goes: resolved recipe + shard manifest."""
    recipe = copy.deepcopy(recipe)
    recipe["run"]["output_uri"] = str(root)
    loaded = load_recipe(write_recipe(root.parent / f"{root.name}.yaml", recipe))
    shards = Path(loaded.recipe.data.prepared_uri) / "shards"
    shards.mkdir(parents=True)
    manifest = {"vocab_size": vocab_size, "sources": [{"card": "synthetic-finance-bilingual"}]}
    (shards / "manifest.json").write_text(json.dumps(manifest))
    (root / "recipe.resolved.yaml").write_text(loaded.resolved_yaml())
    return root


def test_a_run_base_gives_its_recipes_model_and_manifest_vocab(tmp_path):
    recipe = copy.deepcopy(TINY_RECIPE)
    del recipe["model"]["config"]["vocab_size"]  # filled in from the manifest
    run = fake_run(tmp_path / "pre", recipe, vocab_size=500)
    config = build_config(ModelSection(init_from=str(run)))
    assert config.model_type == "llama" and config.hidden_size == 64 and config.vocab_size == 500
    with pytest.raises(RecipeError, match=r"model\.config\.num_hidden_layers: 4 would change"):
        build_config(ModelSection(init_from=str(run), config={"num_hidden_layers": 4}))


def test_a_run_that_started_from_a_base_gives_that_bases_config(tmp_path, foreign_base):
    overrides = {"max_position_embeddings": 512}
    cpt = fake_run(tmp_path / "cpt", base_recipe(tmp_path, foreign_base, config=overrides), 3000)
    config = build_config(ModelSection(init_from=str(cpt)))
    assert config.model_type == "qwen2" and config.max_position_embeddings == 512


# --- step-0 eval and the summary -------------------------------------------------------------


def bare_trainer(recipe: dict, step: int, total: int) -> tuple[Trainer, list[str]]:
    """A Trainer with stubbed parts, enough for `run` to decide about the step-0 eval."""
    trainer = Trainer.__new__(Trainer)
    notes: list[str] = []
    trainer.recipe = Recipe.model_validate(recipe)
    trainer.state, trainer.total_steps = TrainState(step=step), total
    trainer.ctx = SimpleNamespace(is_main=False)
    trainer.meter = SimpleNamespace(reset=lambda *a: None)
    trainer.loader = SimpleNamespace(close=lambda: None)
    trainer.losses, trainer._rates, trainer._last_saved, trainer._stop_agreed = [], [], None, False
    trainer.eval_before, trainer.eval_step = math.nan, None
    trainer.evaluate = lambda note="": notes.append(note) or 3.5  # type: ignore[method-assign]
    trainer.stop = _NoStop()
    return trainer, notes


class _NoStop:
    signal_name = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_run_from_a_base_evaluates_the_base_at_step_0(tmp_path):
    trainer, notes = bare_trainer(base_recipe(tmp_path, tmp_path), step=0, total=0)
    summary = trainer.run()
    assert notes == ["the base on this run's held-out data"]
    assert summary.eval_loss_before == 3.5


def test_no_step_0_eval_on_resume_or_from_scratch(tmp_path):
    resumed, notes = bare_trainer(base_recipe(tmp_path, tmp_path), step=4, total=4)
    assert math.isnan(resumed.run().eval_loss_before) and notes == []
    scratch, notes = bare_trainer(copy.deepcopy(TINY_RECIPE), step=0, total=0)
    assert math.isnan(scratch.run().eval_loss_before) and notes == []


def summary(**values) -> RunSummary:
    return RunSummary(final_step=30, tokens_seen=1, train_loss=2.5, eval_loss=2.91,
                      tokens_per_s=1.0, mfu=0.1, last_checkpoint=None, **values)  # fmt: skip


def test_the_summary_puts_the_base_next_to_the_final_eval_loss():
    row = eval_row(summary(eval_loss_before=3.472, eval_step=30))
    assert row == ("eval loss", "3.4720 (base, step 0) -> 2.9100 (step 30)")
    assert eval_row(summary(eval_step=30)) == ("final eval loss", "2.9100 (step 30)")


def test_finetune_recipes_validate_without_arch_or_tokenizer():
    for path in sorted((REPO / "recipes" / "finetune").glob("*.yaml")):
        loaded = load_recipe(path)
        assert loaded.recipe.model.init_from, path
        assert "tokenizer" not in yaml.safe_load(loaded.resolved_yaml()), path
