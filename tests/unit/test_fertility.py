"""Fertility targets of the bilingual tokenizer vs an English-only BPE of the same size.

Measured on held-out generated documents and on hand-written reference text the generator
never produces (does the tokenizer generalise beyond its templates?).
"""

from __future__ import annotations

import pytest

from sovtrain.data.fertility import CHINESE_MAX_RATIO, ENGLISH_MAX_RATIO
from sovtrain.data.prepare import prepare
from sovtrain.recipe import load_recipe
from tests.conftest import REPO


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("fertility")
    loaded = load_recipe(
        REPO / "recipes/pretrain/finance-smoke.yaml",
        # 16k is the smallest vocabulary we ship a target for; at the 4k smoke vocabulary the
        # three scripts compete for merges and English costs ~1.28x (see the data issue note)
        [
            f"run.output_uri={out}",
            "data.sources.0.documents=2000",
            "tokenizer.vocab_size=16384",
            "model.config.vocab_size=16384",
        ],
    )
    return prepare(loaded.recipe, show_progress=False).manifest["fertility"]


@pytest.mark.parametrize("kind", ["heldout", "reference"])
def test_bilingual_tokenizer_meets_fertility_targets(report, kind):
    rows = {row["lang"]: row for row in report[kind]}
    assert {"en", "zh-Hant", "zh-Hans"} <= set(rows)
    assert rows["en"]["ratio_vs_english_only"] <= ENGLISH_MAX_RATIO, rows["en"]
    for lang in ("zh-Hant", "zh-Hans"):
        assert rows[lang]["ratio_vs_english_only"] <= CHINESE_MAX_RATIO, rows[lang]
        assert rows[lang]["tokens_per_char"] < 1.0  # an English-only BPE needs ~2 per Han char
    assert all(row["within_target"] for row in rows.values())
