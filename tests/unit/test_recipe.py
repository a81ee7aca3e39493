"""Recipe schema, composition and overrides: errors must name the file and the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sovtrain.core.errors import RecipeError
from sovtrain.recipe import load_recipe
from sovtrain.train.ds_config import deepspeed_config
from tests.conftest import REPO, TINY_RECIPE


def _write(tmp_path: Path, data: dict, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_unknown_field_names_file_and_dotted_path(tmp_path):
    bad = copy.deepcopy(TINY_RECIPE)
    bad["train"]["optimizer"]["lrr"] = 1e-3
    path = _write(tmp_path, bad)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    text = str(err.value)
    assert str(path) in text
    assert "train.optimizer.lrr" in text
    assert "unknown field" in text


def test_wrong_type_says_what_was_expected(tmp_path):
    bad = copy.deepcopy(TINY_RECIPE)
    bad["train"]["seq_len"] = "long"
    with pytest.raises(RecipeError, match=r"train\.seq_len: Input should be a valid integer"):
        load_recipe(_write(tmp_path, bad))


def test_missing_required_field(tmp_path):
    bad = copy.deepcopy(TINY_RECIPE)
    del bad["model"]["arch"]
    with pytest.raises(RecipeError, match=r"model\.arch: Field required"):
        load_recipe(_write(tmp_path, bad))


def test_unknown_arch_and_unsafe_run_name(tmp_path):
    bad = copy.deepcopy(TINY_RECIPE)
    bad["model"]["arch"] = "not-a-model"
    bad["run"]["name"] = "x; rm -rf /"
    with pytest.raises(RecipeError) as err:
        load_recipe(_write(tmp_path, bad))
    assert "model.arch" in str(err.value) and "run.name" in str(err.value)


def test_batch_and_horizon_must_be_unambiguous(tmp_path):
    bad = copy.deepcopy(TINY_RECIPE)
    bad["train"]["global_batch_tokens"] = 512
    with pytest.raises(RecipeError, match="exactly one of global_batch_sequences"):
        load_recipe(_write(tmp_path, bad))


def test_extends_deep_merges_and_overrides_keep_types(tmp_path):
    _write(tmp_path, TINY_RECIPE, "base.yaml")
    child = {"extends": "base.yaml", "run": {"name": "child"}, "train": {"seq_len": 32}}
    path = _write(tmp_path, child, "child.yaml")
    loaded = load_recipe(path, ["train.optimizer.lr=3e-4", "deepspeed.zero_stage=1"])
    r = loaded.recipe
    assert r.run.name == "child"
    assert r.train.seq_len == 32  # from the child
    assert r.train.micro_batch == 4  # from the base
    assert r.train.optimizer.lr == pytest.approx(3e-4)
    assert r.deepspeed.zero_stage == 1
    assert r.run.output_uri == "runs/child"  # ${run.name} resolved after merging


def test_override_to_unknown_field_is_rejected(tmp_path):
    with pytest.raises(RecipeError, match=r"train\.lr: unknown field"):
        load_recipe(_write(tmp_path, TINY_RECIPE), ["train.lr=1"])


def test_malformed_override(tmp_path):
    with pytest.raises(RecipeError, match=r"expected dotted\.key=value"):
        load_recipe(_write(tmp_path, TINY_RECIPE), ["train.lr"])


def test_digest_is_stable_and_sensitive(tmp_path):
    path = _write(tmp_path, TINY_RECIPE)
    assert load_recipe(path).digest == load_recipe(path).digest
    assert load_recipe(path).digest != load_recipe(path, ["run.seed=8"]).digest


def test_grad_accumulation_follows_world_size(tmp_path):
    recipe = load_recipe(_write(tmp_path, TINY_RECIPE)).recipe
    assert deepspeed_config(recipe, 1)["gradient_accumulation_steps"] == 2
    assert deepspeed_config(recipe, 2)["gradient_accumulation_steps"] == 1
    assert deepspeed_config(recipe, 2)["train_batch_size"] == 8
    with pytest.raises(ValueError, match="not divisible"):
        deepspeed_config(recipe, 3)


def test_raw_deepspeed_overrides_merge_last(tmp_path):
    data = copy.deepcopy(TINY_RECIPE)
    data["deepspeed"]["overrides"] = {"zero_optimization": {"reduce_bucket_size": 123}}
    recipe = load_recipe(_write(tmp_path, data)).recipe
    zero = deepspeed_config(recipe, 1)["zero_optimization"]
    assert zero["reduce_bucket_size"] == 123 and zero["stage"] == 2


@pytest.mark.parametrize("path", sorted((REPO / "recipes" / "pretrain").glob("*.yaml")))
def test_shipped_recipes_validate(path):
    recipe = load_recipe(path).recipe
    assert recipe.run.name == path.stem


def test_setting_one_of_an_exclusive_pair_replaces_the_inherited_other(tmp_path):
    base = copy.deepcopy(TINY_RECIPE)
    del base["train"]["max_steps"]
    base["train"]["max_tokens"] = 10_000
    _write(tmp_path, base, "base.yaml")
    child = _write(tmp_path, {"extends": "base.yaml", "train": {"max_steps": 3}}, "child.yaml")
    assert load_recipe(child).recipe.train.max_steps == 3
    over = load_recipe(tmp_path / "base.yaml", ["train.max_steps=5"]).recipe.train
    assert over.max_steps == 5 and over.max_tokens is None


def test_overrides_reach_into_lists_by_index(tmp_path):
    path = _write(tmp_path, TINY_RECIPE)
    recipe = load_recipe(path, ["data.sources.0.documents=77"]).recipe
    assert recipe.data.sources[0].documents == 77
    with pytest.raises(RecipeError, match="not an index below 1"):
        load_recipe(path, ["data.sources.3.documents=77"])


def test_duplicate_keys_are_refused_naming_the_file(tmp_path):
    """PyYAML keeps the last duplicate silently; a recipe or card must not mean two things."""

    path = tmp_path / "dup.yaml"
    path.write_text("run:\n  name: a\nrun:\n  name: b\n")
    with pytest.raises(RecipeError, match=r"dup\.yaml.*duplicate key 'run'"):
        load_recipe(path)


def test_checkpoint_async_is_spelled_async_and_round_trips(tmp_path):
    path = _write(tmp_path, TINY_RECIPE)
    assert load_recipe(path).recipe.checkpoint.async_save is False  # the default: synchronous
    loaded = load_recipe(path, ["checkpoint.async=true"])
    assert loaded.recipe.checkpoint.async_save is True
    resolved = yaml.safe_load(loaded.resolved_yaml())
    assert resolved["checkpoint"]["async"] is True and "async_save" not in resolved["checkpoint"]
    again = load_recipe(_write(tmp_path, resolved, "resolved.yaml"))
    assert again.recipe.checkpoint.async_save is True and again.digest == loaded.digest
