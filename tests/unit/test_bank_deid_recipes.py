"""The GBA split's example recipes, admitted on the shipped profiles against the shipped cards.

`bank-deid-prepare-hk.yaml` prepares hk-bank-comms-deid in Hong Kong; `bank-deid-train-gba`
trains in Shenzhen. Admission must make the split the only way through: the HK job is
allowed; the GBA job may not read the raw files (rule `transfer-deidentified`, so the shards
have to cross with `sovtrain data transfer`), while everything it writes in cn-gba (run
directory, checkpoints, shards) is allowed under the card's derived-storage transfer, and its
export may go home to hk but not to sg. Nothing here reads or writes data: admission only.
"""

from __future__ import annotations

import datetime as dt

import pytest

from sovtrain.governance.admission import admit, decide
from sovtrain.recipe import load_recipe
from sovtrain.recipe.schema import FilesSource, Recipe
from tests.conftest import REPO

# after the card's approval (2026-12-01), before its transfer expires (2027-06-30)
TODAY = dt.date(2026, 12, 15)
PREPARE = REPO / "recipes" / "pretrain" / "bank-deid-prepare-hk.yaml"
TRAIN = REPO / "recipes" / "pretrain" / "bank-deid-train-gba.yaml"
CARD = "hk-bank-comms-deid"


@pytest.fixture(autouse=True)
def shipped(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's own cards, policy and cluster profiles, whatever the environment
    (tests on a tmp `world` use its copies instead)."""
    if "world" in request.fixturenames:
        return
    monkeypatch.setenv("SOVTRAIN_CARDS_DIR", str(REPO / "data_cards"))
    monkeypatch.setenv("SOVTRAIN_CLUSTERS_DIR", str(REPO / "slurm" / "clusters"))


def _recipe(path: object) -> Recipe:
    return load_recipe(str(path)).recipe


def test_both_recipes_validate_and_share_the_prepare_inputs():
    prepare, train = _recipe(PREPARE), _recipe(TRAIN)
    for recipe in (prepare, train):
        (source,) = recipe.data.sources
        assert isinstance(source, FilesSource) and source.card == CARD
        assert source.uri.startswith("/srv/sovtrain/hk/raw/hk-bank-comms/")
        assert recipe.data.cleaning.pii.action == "mask"
    assert prepare.data.prepared_uri.startswith("/srv/sovtrain/hk/")
    assert prepare.run.output_uri.startswith("/srv/sovtrain/hk/")
    assert train.data.prepared_uri.startswith("/srv/sovtrain/gba/")
    assert train.run.output_uri.startswith("/srv/sovtrain/gba/")
    # what the prepare key digests, apart from the input files' own fingerprints
    exclude = {"prepared_uri", "workers"}
    assert train.data.model_dump(exclude=exclude) == prepare.data.model_dump(exclude=exclude)
    assert train.tokenizer == prepare.tokenizer
    assert (train.run.seed, train.train.seq_len) == (prepare.run.seed, prepare.train.seq_len)


def test_prepare_recipe_is_admitted_in_hong_kong():
    admission = admit(_recipe(PREPARE), "hk-cyberport", TODAY)
    assert admission.allowed, [d.refusal() for d in admission.refusals()]
    assert admission.site.compute_region == "hk"
    purposes = {d.purpose for d in admission.decisions if d.action == "write"}
    assert {"run-output", "shards"} <= purposes
    # the same recipe in Shenzhen is refused: raw data is prepared where it is resident
    refused = admit(_recipe(PREPARE), "gba-shenzhen", TODAY).refusals()
    assert "transfer-deidentified" in {d.rule for d in refused}


def test_train_recipe_in_gba_may_not_read_the_raw_files():
    admission = admit(_recipe(TRAIN), "gba-shenzhen", TODAY)
    assert admission.site.compute_region == "cn-gba"
    refused = admission.refusals()
    assert refused, "a raw-data read from cn-gba must be refused"
    raw = [d for d in refused if d.rule == "transfer-deidentified"]
    assert raw and all(d.purpose == "raw-data" and d.action == "read" for d in raw)
    assert all(d.dataset == f"{CARD}@1" for d in raw)
    assert "GBA-SC-2026-0417" in raw[0].reason and "sovtrain data transfer" in raw[0].reason
    # nothing else is refused but the raw read (and, where admission checks it, the missing
    # transfer record of shards that have not crossed yet)
    assert {d.rule for d in refused} <= {"transfer-deidentified", "transfer-record"}
    # the processing itself is allowed under the transfer
    (process,) = [d for d in admission.decisions if d.rule == "processing-region"]
    assert process.allowed and "gba-standard-contract" in process.reason


def test_train_outputs_in_gba_are_allowed_under_the_derived_storage_transfer():
    admission = admit(_recipe(TRAIN), "gba-shenzhen", TODAY)
    writes = [d for d in admission.decisions if d.action == "write"]
    assert {d.purpose for d in writes} >= {"run-output", "shards"}
    assert all(d.allowed and d.storage_region == "cn-gba" for d in writes), writes
    assert set(admission.output_regions) == {"hk", "cn-gba"}
    site, cards, lineage = admission.site, admission.cards, admission.lineage
    checkpoint = "/srv/sovtrain/gba/runs/bank-deid-train-gba/checkpoints/step_00000100"
    (ckpt,) = decide(site, cards, checkpoint, "write", "checkpoint", lineage, TODAY)
    assert ckpt.allowed and ckpt.storage_region == "cn-gba", ckpt.reason
    # the export: home to hk, never to sg; and not in cn-gba once the transfer has lapsed
    (home,) = decide(site, cards, "/srv/sovtrain/hk/models/bank-deid", "write", "export",
                     lineage, TODAY)  # fmt: skip
    assert home.allowed, home.reason
    (sg,) = decide(site, cards, "s3://sovtrain-sg/models/bank-deid", "write", "export",
                   lineage, TODAY)  # fmt: skip
    assert not sg.allowed and sg.storage_region == "sg"
    lapsed = dt.date(2027, 7, 1)
    (late,) = decide(site, cards, checkpoint, "write", "checkpoint", lineage, lapsed)
    assert not late.allowed


def test_train_recipe_is_admitted_on_shards_that_crossed(world):
    """With a transfer record in data.prepared_uri (as `sovtrain data transfer` leaves it),
    the same train recipe reads no raw file and is admitted in cn-gba."""
    import hashlib
    import json

    prepared = world["gba"] / "prepared" / "bank-deid"
    (prepared / "shards").mkdir(parents=True)
    manifest = prepared / "shards" / "manifest.json"
    manifest.write_text(json.dumps({"sources": [{"card": CARD}], "shards": []}))
    record = {
        "format": 1, "transfer_id": "tr-test", "source_region": "hk",
        "destination_region": "cn-gba", "destination_uri": str(prepared),
        "cards": [{"id": CARD, "ref": f"{CARD}@1"}],
        "manifest_digest": hashlib.sha256(manifest.read_bytes()).hexdigest(),
    }  # fmt: skip
    (prepared / "transfer.json").write_text(json.dumps(record))
    overrides = [f"data.prepared_uri={prepared}", f"run.output_uri={world['gba'] / 'runs' / 't'}"]
    recipe = load_recipe(str(TRAIN), overrides).recipe
    admission = admit(recipe, "site-gba", TODAY)
    assert admission.allowed, [d.refusal() for d in admission.refusals()]
    assert not [d for d in admission.decisions if d.purpose == "raw-data"]
    (crossed,) = [d for d in admission.decisions if d.rule == "transfer-record"]
    assert crossed.allowed and "tr-test" in crossed.reason
