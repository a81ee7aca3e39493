"""How lm-eval's results become MLflow keys, card rows and a re-rendered Evaluation table."""

from __future__ import annotations

import copy

import pytest

from sovtrain.eval.harness import HarnessRun, card_rows, lm_eval_limit, metric_rows
from sovtrain.eval.harness_cadence import harness_spec
from sovtrain.export.model_card import render_eval_section, update_eval_section
from sovtrain.recipe.schema import HarnessSection, Recipe
from tests.conftest import TINY_RECIPE

RESULTS = {
    "results": {
        "hkfin_mc": {"alias": "hkfin_mc", "acc,none": 0.5, "acc_stderr,none": 0.05},
        "hkfin_mc_en": {
            "alias": " - hkfin_mc_en",
            "acc,none": 0.375,
            "acc_stderr,none": 0.0776,
            "acc_norm,none": 0.4,
            "acc_norm_stderr,none": "N/A",
            "exact_match,strict": 0.1,
        },
    },
    "configs": {"hkfin_mc_en": {"metadata": {"lang": "en", "domain": "finance-logistics"}}},
    "n-samples": {"hkfin_mc_en": {"original": 40, "effective": 40}},
    "n-shot": {"hkfin_mc_en": 0},
}
CARD = """---
license: apache-2.0
---

# run

## Evaluation

| metric | domain | language | value | n |
|---|---|---|---:|---:|
| loss | finance | en | 3.969 | 48 |
| hkfin_mc_en/acc | finance-logistics | en | 0.1 ± 0.05 | 40 |

## Training compute

- optimizer steps: 4
"""


def test_metric_rows_split_metric_and_filter_and_keep_the_tasks_metadata():
    rows = {(r["task"], r["metric"]): r for r in metric_rows(RESULTS)}
    en = rows[("hkfin_mc_en", "acc")]
    assert en == {"task": "hkfin_mc_en", "metric": "acc", "value": 0.375, "n": 40,
                  "lang": "en", "domain": "finance-logistics", "num_fewshot": 0}  # fmt: skip
    assert rows[("hkfin_mc_en", "exact_match_strict")]["value"] == 0.1
    assert rows[("hkfin_mc_en", "acc_norm_stderr")]["value"] == "N/A"
    assert rows[("hkfin_mc", "acc")]["n"] is None  # a group: no documents of its own
    assert ("hkfin_mc_en", "alias") not in rows


def test_mlflow_keys_are_per_task_and_metric_and_skip_what_is_not_a_number():
    metrics = HarnessRun(RESULTS, metric_rows(RESULTS)).mlflow_metrics()
    assert metrics["eval/harness/hkfin_mc_en/acc"] == 0.375
    assert metrics["eval/harness/hkfin_mc_en/acc_stderr"] == 0.0776
    assert metrics["eval/harness/hkfin_mc/acc"] == 0.5
    assert "eval/harness/hkfin_mc_en/acc_norm_stderr" not in metrics  # "N/A"


def test_card_rows_put_the_stderr_beside_its_score():
    rows = {r["metric"]: r for r in card_rows(metric_rows(RESULTS))}
    assert rows["hkfin_mc_en/acc"]["stderr"] == 0.0776
    assert rows["hkfin_mc_en/acc_norm"]["stderr"] is None
    assert not any(name.endswith("_stderr") for name in rows)
    assert rows["hkfin_mc/acc"]["domain"] == "lm-eval"  # a group has no metadata


def test_update_replaces_the_evaluated_tasks_rows_and_keeps_the_others():
    new = [{"metric": "hkfin_mc_en/acc", "domain": "finance-logistics", "lang": "en",
            "value": "0.375 ± 0.078", "n": 40}]  # fmt: skip
    updated = update_eval_section(CARD, new)
    assert "| loss | finance | en | 3.969 | 48 |" in updated
    assert "0.1 ± 0.05" not in updated
    assert "| hkfin_mc_en/acc | finance-logistics | en | 0.375" in updated
    assert updated.endswith("## Training compute\n\n- optimizer steps: 4\n")
    assert "| 48 |\n| hkfin_mc_en/acc" in updated
    assert update_eval_section(updated, new) == updated  # idempotent


def test_a_card_without_an_evaluation_section_gets_one_at_the_end():
    bare = "---\nlicense: mit\n---\n\n# model\n"
    row = {"metric": "t/acc", "domain": "lm-eval", "lang": "", "value": "0.5", "n": 4}
    updated = update_eval_section(bare, [row])
    assert updated.startswith(bare.rstrip("\n")) and updated.count("## Evaluation") == 1
    assert "| t/acc | lm-eval |  | 0.5 | 4 |" in updated


def test_the_section_renders_as_the_model_card_does():
    rows = [{"metric": "perplexity", "domain": "finance", "lang": "zh-Hant", "value": 87.25}]
    assert render_eval_section(rows) == (
        "## Evaluation\n\n| metric | domain | language | value |\n|---|---|---|---:|\n"
        "| perplexity | finance | zh-Hant | 87.25 |\n"
    )


@pytest.mark.parametrize("given, expected", [(None, None), (0.25, 0.25), (8.0, 8), (1.0, 1)])
def test_limit_follows_lm_evals_convention(given, expected):
    assert lm_eval_limit(given) == expected and type(lm_eval_limit(given)) is type(expected)


def test_the_recipe_section_becomes_the_runners_spec():
    section = HarnessSection(tasks=["hkfin_mc"], interval_steps=50, limit=16.0,
                             include_path=["/x"])  # fmt: skip
    spec = harness_spec(section)
    assert spec.tasks == ("hkfin_mc",) and spec.limit == 16 and isinstance(spec.limit, int)
    assert spec.include_path == ("/x",) and spec.metadata() == {}


@pytest.mark.parametrize(
    "harness, field",
    [({"tasks": [], "interval_steps": 5}, "tasks"), ({"tasks": ["t"], "interval_steps": 0},
     "interval_steps"), ({"tasks": ["t"]}, "interval_steps"),
     ({"tasks": ["t"], "interval_steps": 5, "shots": 2}, "shots")],
)  # fmt: skip
def test_a_bad_harness_section_names_its_field(harness, field):
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = "/tmp/unused"
    recipe["eval"] = {"harness": harness}
    with pytest.raises(ValueError, match=field):
        Recipe.model_validate(recipe)
