"""Governed bases: a Hugging Face base needs an approved model card whose digests match.

Each test copies the session's tiny Qwen2 base (tests/foreign_base.py) into the `world`
fixture's hk (or cn-gba) root, writes its model card with `sovtrain cards model-digests`,
approves it, and runs admission on a recipe with `model.init_from` = that copy.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sovtrain.cli.cards import cards_app
from sovtrain.core.errors import PolicyRefused
from sovtrain.governance.admission import admit, check
from sovtrain.governance.base_weights import cache_dir
from sovtrain.governance.cards import CardError, approve, load_any_card, load_card
from sovtrain.governance.lineage import base_model_tags, compliance_tags, dataset_inputs
from sovtrain.recipe import load_recipe
from tests.conftest import BASE_CARD_ID as CARD_ID
from tests.conftest import REPO, TINY_RECIPE, weights_block, write_recipe
from tests.conftest import copy_base as _copy_base
from tests.conftest import weight_files as _shards
from tests.conftest import write_base_card as _write_card

runner = CliRunner()


def _recipe(world, base: Path):
    recipe = copy.deepcopy(TINY_RECIPE)
    del recipe["tokenizer"]  # with init_from the base's tokenizer is used
    recipe["model"] = {"arch": "qwen2", "init_from": str(base)}
    recipe["run"]["output_uri"] = str(world["hk"] / "runs" / "tiny")
    return load_recipe(write_recipe(world["tmp"] / "base.yaml", recipe)).recipe


def _refusal(recipe) -> str:
    with pytest.raises(PolicyRefused) as err:
        check(recipe, "site-hk", "test")
    assert err.value.exit_code == 3
    return str(err.value)


def _weights_reason(recipe) -> str:
    admission = admit(recipe, "site-hk")
    assert admission.allowed, [d.refusal() for d in admission.refusals()]
    (decision,) = [d for d in admission.decisions if d.rule == "base-weights"]
    return decision.reason


def test_approved_card_with_matching_digests_is_admitted(world, foreign_base):
    base = _copy_base(world, foreign_base)
    _write_card(world, base)
    admission = check(_recipe(world, base), "site-hk", "test")
    assert admission.allowed and admission.base is not None
    assert admission.base.card is not None and admission.base.card.ref == f"{CARD_ID}@1"
    assert {f.path for f in admission.base.files} >= {p.name for p in _shards(base)}
    rules = {(d.rule, d.purpose) for d in admission.decisions}
    assert {("card-review", "review"), ("storage-region", "base-weights"),
            ("base-weights", "base-weights")} <= rules  # fmt: skip
    tags = base_model_tags(admission)
    assert tags["base.card"] == f"{CARD_ID}@1"
    assert tags["base.licence"].startswith("LicenseRef-Tiny-Test (Tiny Test Licence")
    assert tags["base.uri"] == str(base) and len(tags["base.weights_sha256"]) == 64
    assert "tests/tiny-qwen2 from example.org" in tags["base.source"]
    assert compliance_tags(admission)["base.card"] == f"{CARD_ID}@1"
    assert compliance_tags(admission)["compliance.datasets"] == "synthetic-finance-bilingual@1"
    inputs = {i["name"]: i for i in dataset_inputs(admission, "shards", "0" * 64)}
    files = json.loads(inputs[f"{CARD_ID}@1"]["source"])["files"]
    assert set(files) == {f.path for f in admission.base.files}


def test_hf_base_without_a_model_card_is_refused(world, foreign_base):
    base = _copy_base(world, foreign_base)
    message = _refusal(_recipe(world, base))
    assert f"model.init_from {base}: no model card" in message
    assert "model-card-known" in message and "model-digests" in message


def test_a_flipped_byte_in_one_shard_is_refused_naming_the_shard(world, foreign_base):
    base = _copy_base(world, foreign_base)
    _write_card(world, base)
    shard = _shards(base)[1]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    message = _refusal(_recipe(world, base))
    assert f"model.init_from {base}: {shard.name} sha256" in message
    assert f"differs from model card {CARD_ID}@1" in message and "base-weights" in message
    assert "the weights changed since review" in message


def test_pending_or_edited_card_is_refused(world, foreign_base):
    base = _copy_base(world, foreign_base)
    path = _write_card(world, base)
    recipe = _recipe(world, base)
    path.write_text(path.read_text().replace("status: approved", "status: pending"))
    message = _refusal(recipe)
    assert f"{CARD_ID}@1 by rule card-review: review status is pending" in message
    approve(path, "Model Reviewer", dt.date.today())
    path.write_text(path.read_text().replace("intended_uses:\n- tests", "intended_uses:\n- all"))
    message = _refusal(recipe)
    assert "card-review" in message and "changed since approval" in message
    assert "base-weights" not in message  # not hashed: the card is not usable anyway


def test_base_stored_where_its_card_does_not_allow_is_refused(world, foreign_base):
    base = _copy_base(world, foreign_base, region="gba")
    _write_card(world, base)
    message = _refusal(_recipe(world, base))
    assert f"read of {base} refused for dataset {CARD_ID}@1 by rule storage-region" in message
    assert "storage region cn-gba" in message


def test_placeholders_and_unlisted_weight_files_are_refused(world, foreign_base):
    base = _copy_base(world, foreign_base)
    path = _write_card(world, base, approved=False)
    text = path.read_text()
    first = weights_block(base)["files"][0]["sha256"]
    path.write_text(text.replace(first, "PLACEHOLDER"))
    with pytest.raises(CardError, match="placeholder"):
        approve(path, "Model Reviewer", dt.date.today())
    path.write_text(text)
    approve(path, "Model Reviewer", dt.date.today())
    shutil.copy(_shards(base)[0], base / "pytorch_model.bin")
    message = _refusal(_recipe(world, base))
    assert "pytorch_model.bin is not in model card" in message


def test_shipped_example_card_is_valid_but_not_usable():
    loaded = load_any_card(REPO / "data_cards" / "qwen2.5-7b-base.yaml")
    card = loaded.card
    assert card.weights.uri == "/srv/sovtrain/hk/bases/qwen2.5-7b"
    assert card.placeholders and card.license == "Apache-2.0"
    assert loaded.review_problem(dt.date.today()) == "review status is pending"
    with pytest.raises(CardError, match="is a model card"):  # never usable as a data card
        load_card(REPO / "data_cards" / "qwen2.5-7b-base.yaml")


def test_named_licence_needs_its_name_and_text(world, foreign_base):
    base = _copy_base(world, foreign_base)
    path = _write_card(world, base, approved=False, license_url=None)
    with pytest.raises(CardError) as err:
        load_any_card(path)
    assert str(path) in str(err.value) and "license_name and license_url" in str(err.value)
    result = runner.invoke(cards_app, ["validate", str(path)])
    assert result.exit_code == 2 and "FAIL" in result.stdout


def test_digest_cache_skips_rehash_until_a_file_changes(world, foreign_base):
    base = _copy_base(world, foreign_base)
    _write_card(world, base)
    shutil.rmtree(cache_dir())  # model-digests filled it: start cold
    recipe = _recipe(world, base)
    count = len(load_any_card(world["cards"] / f"{CARD_ID}.yaml").card.weights.files)
    assert f"sha256: {count} hashed, 0 from the digest cache" in _weights_reason(recipe)
    assert len(list(cache_dir().glob("*/*.json"))) == count
    assert f"sha256: 0 hashed, {count} from the digest cache" in _weights_reason(recipe)
    shard = _shards(base)[0]
    stat = shard.stat()
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched
    assert f"sha256: 1 hashed, {count - 1} from the digest cache" in _weights_reason(recipe)
    # edited in place with its mtime set back: ctime still changes, so it is rehashed
    stat = shard.stat()
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0x01
    shard.write_bytes(bytes(data))
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert f"{shard.name} sha256" in _refusal(recipe)


def test_exported_model_card_names_the_base(world, foreign_base):
    from sovtrain.export.model_card import render_model_card

    base = _copy_base(world, foreign_base)
    _write_card(world, base)
    text = render_model_card(
        _recipe(world, base), params=1000, step=10, tokens_seen=640,
        lineage=["synthetic-finance-bilingual"], manifest={}, manifest_digest="0" * 64,
    )  # fmt: skip
    front = yaml.safe_load(text.split("---")[1])
    assert front["base_model"] == "tests/tiny-qwen2" and front["license"] == "other"
    assert front["sovtrain"]["base"]["card"] == f"{CARD_ID}@1"
    assert f"model card `{CARD_ID}@1`" in text
    assert "licence: LicenseRef-Tiny-Test (Tiny Test Licence" in text
    shard = _shards(base)[0].name
    assert f"`{shard}`: `{front['sovtrain']['base']['weights_sha256'][shard]}`" in text


def test_the_cards_compute_section_has_energy_only_when_the_run_measured_it(world, foreign_base):
    from sovtrain.export.model_card import render_model_card, training_energy

    base = _copy_base(world, foreign_base)
    _write_card(world, base)
    assert training_energy({"step": 10, "energy_j": None}) is None  # a CPU run
    assert training_energy({"step": 10}) is None  # a checkpoint older than energy metering
    energy = training_energy({"energy_j": 7.2e6, "energy_site_j": 9.36e6})
    assert energy == {"kwh": 2.0, "site_kwh": 2.6}
    cards = [
        render_model_card(
            _recipe(world, base),
            params=1000,
            step=10,
            tokens_seen=640,
            lineage=["synthetic-finance-bilingual"],
            manifest={},
            manifest_digest="0" * 64,
            energy=figures,
            compute={"device": "h100-sxm", "mfu": 0.406, "mfu_causal": mfu_causal},
        )
        for figures, mfu_causal in ((energy, 0.365), (None, None))
    ]
    compute = cards[0].split("## Training compute", 1)[1]
    assert "- energy (GPU boards, all ranks): 2 kWh; with the site's PUE: 2.6 kWh" in compute
    assert "- MFU (last logged): 40.6% counting the full attention, 36.5% counting its " in compute
    assert "energy" not in cards[1].split("## Training compute", 1)[1]
    # a run logged before mfu_causal existed: the one figure, said as what it counts
    assert "- MFU (last logged): 40.6% counting the full attention\n" in cards[1]
