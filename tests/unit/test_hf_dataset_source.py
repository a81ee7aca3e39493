"""`kind: hf-dataset` sources and free domain names: a `datasets` directory reads like the
equivalent JSON lines file, any lowercase domain works, and cards must agree with sources."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import sovtrain_synth as synth
from sovtrain.core.errors import DataError, RecipeError
from sovtrain.data.sources import check_card_domains, read_source
from sovtrain.recipe import load_recipe
from sovtrain.recipe.schema import FilesSource
from sovtrain.recipe.sources import HfDatasetSource
from tests.conftest import TINY_RECIPE, write_recipe

FILTERS = [{"field": "desk", "op": "in", "value": ["fx", "mm"]},
           {"field": "score", "op": ">=", "value": 2}]  # fmt: skip


def _rows(documents: int = 40) -> list[dict[str, Any]]:
    docs = synth.generate("finance", 5, documents, ["en", "zh-Hant"])
    desks = ["fx", "mm", "bonds"]
    return [{"text": d.text, "desk": desks[i % 3], "score": i % 4} for i, d in enumerate(docs)]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    """The same rows as a jsonl file, a save_to_disk dir, a DatasetDict, parquet and json dirs."""
    import datasets

    root = tmp_path_factory.mktemp("layouts")
    rows = _rows()
    (root / "rows.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    dataset = datasets.Dataset.from_list(rows)
    dataset.save_to_disk(str(root / "saved"))
    datasets.DatasetDict({"train": dataset, "test": dataset.select(range(3))}).save_to_disk(
        str(root / "dict")
    )
    (root / "parquet").mkdir()
    half = len(rows) // 2
    dataset.select(range(half)).to_parquet(str(root / "parquet" / "part-0.parquet"))
    dataset.select(range(half, len(rows))).to_parquet(str(root / "parquet" / "part-1.parquet"))
    (root / "json").mkdir()
    (root / "json" / "a.jsonl").write_bytes((root / "rows.jsonl").read_bytes())
    return {"jsonl": root / "rows.jsonl", "saved": root / "saved", "dict": root / "dict",
            "parquet": root / "parquet", "json": root / "json", "root": root}  # fmt: skip


def _read(source) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    counts: dict[str, Any] = {}
    docs = [(r.domain, r.text) for r in read_source(source, 0, counts)]
    return docs, counts


def _hf(uri: Path, **fields: Any) -> HfDatasetSource:
    spec = {"name": "notes", "domain": "finance", "card": "c", "uri": str(uri), **fields}
    return HfDatasetSource.model_validate(spec)


@pytest.mark.parametrize("layout", ["saved", "dict", "parquet", "json"])
@pytest.mark.parametrize("filters", [[], FILTERS])
def test_dataset_directories_read_like_the_jsonl_file(layouts, layout, filters):
    files = FilesSource(name="notes", domain="finance", card="c", uri=str(layouts["jsonl"]),
                        filters=filters)  # fmt: skip
    expected, expected_counts = _read(files)
    got, counts = _read(_hf(layouts[layout], filters=filters))
    assert got == expected and len(got) > 5
    assert counts == expected_counts  # rows read, filtered (per filter)
    if filters:
        assert counts["filtered"] > 0 and len(counts["filtered_by"]) == 2


def test_max_documents_and_split_choice(layouts):
    assert len(_read(_hf(layouts["saved"], max_documents=7))[0]) == 7
    assert len(_read(_hf(layouts["dict"], split="test"))[0]) == 3
    with pytest.raises(DataError, match=r"no split 'validation'; its splits: train, test"):
        _read(_hf(layouts["dict"], split="validation"))


def test_unreadable_directories_are_named(layouts, tmp_path):
    with pytest.raises(DataError, match=r"data.sources 'notes': .*: no column 'body'"):
        _read(_hf(layouts["parquet"], text_field="body"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"holds no dataset: expected a `save_to_disk`"):
        _read(_hf(tmp_path / "empty"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.jsonl").write_text('{"text": "ok"}\n{"text": oops\n')
    with pytest.raises(DataError, match=r"'notes': .*broken: `datasets` cannot read it"):
        _read(_hf(tmp_path / "broken"))
    (tmp_path / "mixed").mkdir()
    for name in ("a.jsonl", "b.parquet"):
        (tmp_path / "mixed" / name).write_bytes((layouts["parquet"] / "part-0.parquet")
                                                .read_bytes())  # fmt: skip
    with pytest.raises(DataError, match="both parquet and json"):
        _read(_hf(tmp_path / "mixed"))


def test_editing_the_dataset_changes_the_prepare_key(layouts, tmp_path):
    import shutil

    from sovtrain.data.prepare import prepare_key

    shutil.copytree(layouts["parquet"], tmp_path / "pq")
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    recipe["data"]["sources"] = [{"kind": "hf-dataset", "name": "notes", "domain": "finance",
                                  "card": "c", "uri": str(tmp_path / "pq")}]  # fmt: skip
    loaded = load_recipe(write_recipe(tmp_path / "r.yaml", recipe)).recipe
    before = prepare_key(loaded)
    part = tmp_path / "pq" / "part-1.parquet"
    part.write_bytes((layouts["parquet"] / "part-0.parquet").read_bytes())
    assert prepare_key(loaded) != before


# --- domains ------------------------------------------------------------------------------


def _card(world, card_id: str, domain: str) -> None:
    """A copy of the hk-bank-comms card under another id and domain."""
    text = (world["cards"] / "hk-bank-comms.yaml").read_text(encoding="utf-8")
    card = yaml.safe_load(text)
    card.update(id=card_id, domain=domain)
    card.pop("review", None)
    (world["cards"] / f"{card_id}.yaml").write_text(yaml.safe_dump(card, allow_unicode=True))


def test_healthcare_hf_dataset_prepares_into_its_own_bucket(world, layouts):
    from sovtrain.data.prepare import prepare

    _card(world, "clinic-notes", "healthcare")
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(world["tmp"] / "run")
    recipe["tokenizer"].update(fertility_report=False, vocab_size=400)
    recipe["data"]["sources"] = [{"kind": "hf-dataset", "name": "notes",
                                  "domain": "healthcare", "card": "clinic-notes",
                                  "uri": str(layouts["saved"])}]  # fmt: skip
    recipe["data"]["heldout_fraction"] = 0.2
    recipe["data"]["cleaning"] = {"near_dup": {"enabled": False}}
    recipe["train"]["seq_len"] = 32
    loaded = load_recipe(write_recipe(world["tmp"] / "r.yaml", recipe)).recipe
    manifest = prepare(loaded, show_progress=False).manifest
    assert {s["bucket"].split("/")[0] for s in manifest["shards"]} == {"healthcare"}
    assert manifest["source_rows"]["notes"]["rows"] == len(_rows())


def test_a_source_must_have_its_cards_domain(world):
    source = FilesSource(name="claims", domain="insurance", card="synthetic-finance-bilingual",
                         uri="/x.jsonl")  # fmt: skip
    with pytest.raises(DataError) as err:
        check_card_domains([source])
    message = str(err.value)
    assert "'claims': domain 'insurance'" in message
    assert "card 'synthetic-finance-bilingual'" in message and "domain 'finance'" in message
    check_card_domains([source.model_copy(update={"domain": "finance"})])


def test_a_healthcare_card_disagrees_with_an_insurance_source(world):
    _card(world, "clinic-notes", "healthcare")
    source = FilesSource(name="n", domain="insurance", card="clinic-notes", uri="/x.jsonl")
    with pytest.raises(DataError, match="says domain 'healthcare'"):
        check_card_domains([source])


def test_any_lowercase_domain_but_synthetic_needs_a_generator(tmp_path):
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["data"]["sources"] = [
        {"kind": "files", "name": "a", "domain": "healthcare", "card": "c", "uri": "/a.jsonl"},
        {"kind": "hf-dataset", "name": "b", "domain": "insurance", "card": "c", "uri": "/b"},
    ]
    recipe["data"]["mixture"] = {"healthcare/en": 0.5, "insurance/en": 0.5}
    loaded = load_recipe(write_recipe(tmp_path / "ok.yaml", recipe)).recipe
    assert [s.domain for s in loaded.data.sources] == ["healthcare", "insurance"]
    for bad, expected in (
        ({"kind": "synthetic", "domain": "healthcare"},
         "no generated corpus for domain 'healthcare' (kind synthetic has finance, logistics"),
        ({"kind": "files", "name": "c", "domain": "Health Care", "card": "c", "uri": "/c"},
         "use lowercase letters, digits and '-'"),
    ):  # fmt: skip
        recipe["data"]["sources"] = [bad]
        recipe["data"]["mixture"] = None
        with pytest.raises(RecipeError, match=expected.replace("(", r"\(")):
            load_recipe(write_recipe(tmp_path / "bad.yaml", recipe))
