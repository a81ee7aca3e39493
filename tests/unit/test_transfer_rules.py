"""The rules of `sovtrain data transfer`, as pure functions of card, manifest and regions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from sovtrain.governance.cards import approve, load_card
from sovtrain.governance.transfer import TransferRequest, decide_transfer, evidence_text
from tests.conftest import REPO

TODAY = dt.date(2026, 12, 1)
CARD = "hk-bank-comms-deid"
EVIDENCE = {"detector": "sovtrain.data.clean.pii", "detector_version": "sovtrain-pii-2",
            "types": ["bank_account", "card", "email", "hkid", "phone", "prc_id"],
            "found": dict.fromkeys(["bank_account", "card", "email", "hkid", "phone", "prc_id"], 0),
            "shards": 3, "tokens": 900, "pii_action": "mask"}  # fmt: skip
REQUEST = TransferRequest(
    source_uri="s3://sovtrain-hk/prepared/bank", source_region="hk",
    dest_uri="s3://sovtrain-gba/prepared/bank", dest_region="cn-gba", card_ids=(CARD,),
    purpose="processing", manifest={"sources": [{"card": CARD}], "deidentification": EVIDENCE},
    onward_of=None, detector_version="sovtrain-pii-2", compute_region="hk",
)  # fmt: skip


def _card(tmp_path: Path, **transfer) -> dict:
    path = tmp_path / f"{CARD}.yaml"
    shutil.copy(REPO / "data_cards" / f"{CARD}.yaml", path)
    data = yaml.safe_load(path.read_text())
    data["transfers"][0].update(transfer)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    approve(path, "Reviewer", TODAY)
    return {CARD: load_card(path)}


def _refused(decisions) -> list[tuple[str, str]]:
    return [(d.rule, d.reason) for d in decisions if not d.allowed]


def test_the_shipped_card_lets_evidenced_shards_cross_to_gba(tmp_path):
    decisions, entries = decide_transfer(REQUEST, _card(tmp_path), TODAY)
    assert _refused(decisions) == []
    assert {d.rule for d in decisions} == {"transfer-destination", "transfer-filing",
                                           "transfer-purpose", "onward-transfer",
                                           "deid-evidence"}  # fmt: skip
    assert entries[CARD].filing_reference == "GBA-SC-2026-0417"
    assert evidence_text(EVIDENCE) == (
        "0 detectable PII (bank_account 0, card 0, email 0, hkid 0, phone 0, prc_id 0) in 3 "
        "shards by sovtrain-pii-2"
    )


@pytest.mark.parametrize(
    "change, transfer, rule, words",
    [
        ({"manifest": None}, {}, "prepared-only", "never raw sources"),
        ({"card_ids": ("hk-bank-comms",)}, {}, "transfer-cards", "prepared from"),
        ({"dest_region": "sg"}, {}, "transfer-destination", "no transfer to sg"),
        ({}, {"expires": "2026-11-30"}, "transfer-expired", "expired on 2026-11-30"),
        ({}, {"filing_reference": None}, "transfer-filing", "needs a filing reference"),
        ({}, {"purposes": ["processing"]}, "transfer-purpose", "not derived-storage"),
        ({"purpose": "storage"}, {}, "transfer-purpose", "not storage"),
        ({"onward_of": {"transfer_id": "tr-1", "cards": [
            {"id": CARD, "transfer": {"onward_transfer": "prohibited"}}]}}, {},
         "onward-transfer", "prohibits onward transfer"),
        ({"manifest": {"sources": [{"card": CARD}]}}, {}, "deid-evidence", "no de-identific"),
        ({"detector_version": "sovtrain-pii-3"}, {}, "deid-evidence", "not the current"),
        ({"manifest": {"sources": [{"card": CARD}], "deidentification": {
            **EVIDENCE, "found": {**EVIDENCE["found"], "hkid": 2}}}}, {}, "deid-evidence",
         "still contain detectable PII (hkid 2"),
    ],
)  # fmt: skip
def test_each_rule_refuses_with_its_name(tmp_path, change, transfer, rule, words):
    request = dataclasses.replace(REQUEST, **change)
    decisions, entries = decide_transfer(request, _card(tmp_path, **transfer), TODAY)
    refused = _refused(decisions)
    assert [r for r, _ in refused] == [rule], refused
    assert words in refused[0][1] and CARD not in entries


def test_a_transfer_without_de_identification_needs_no_evidence(tmp_path):
    request = dataclasses.replace(REQUEST, manifest={"sources": [{"card": CARD}]})
    cards = _card(tmp_path, deidentification_required=False)
    decisions, entries = decide_transfer(request, cards, TODAY)
    assert _refused(decisions) == [] and CARD in entries
    assert "deid-evidence" not in {d.rule for d in decisions}
