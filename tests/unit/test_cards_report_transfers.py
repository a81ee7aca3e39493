"""`cards report` shows the transfers that happened, under the cards whose data crossed.

The records are hand-made here in the contract's format (`transfer.json` in a destination
directory, `kind: transfer` records in a hash-chained ledger under $SOVTRAIN_CACHE), so the
report is tested without running `sovtrain data transfer` itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sovtrain.cli.cards import cards_app
from sovtrain.governance.audit import AuditLog
from sovtrain.governance.cards import CardError
from sovtrain.governance.report import render_html, render_markdown, report_for_dir
from sovtrain.governance.transfers_done import collect
from tests.conftest import REPO

TODAY = dt.date(2026, 12, 15)
TYPES = ["bank_account", "card", "email", "hkid", "phone", "prc_id"]
runner = CliRunner()

RECORD: dict[str, Any] = {
    "format": 1,
    "transfer_id": "tr-20261201T224000Z-1a2b3c4d",
    "time": "2026-12-01T22:40:00.000+00:00",
    "principal": "ops@hk-login",
    "source_uri": "/srv/sovtrain/hk/prepared/bank-deid",
    "source_region": "hk",
    "destination_uri": "",  # set per test: the directory the record is in
    "destination_region": "cn-gba",
    "purpose": "processing",
    "cards": [
        {
            "id": "hk-bank-comms-deid",
            "ref": "hk-bank-comms-deid@1",
            "digest": "ab" * 32,
            "transfer": {
                "destination": "cn-gba",
                "mechanism": "gba-standard-contract",
                "filing_reference": "GBA-SC-2026-0417",
                "expires": "2027-06-30",
                "purposes": ["processing", "derived-storage"],
                "deidentification_required": True,
                "onward_transfer": "prohibited",
            },
        }
    ],
    "manifest_digest": "cd" * 32,
    "files": [{"path": "shards/train_0000.bin", "bytes": 123456, "sha256": "ef" * 32}],
    "bytes": 123456,
    "evidence": {
        "detector": "sovtrain.data.clean.pii",
        "detector_version": "sovtrain-pii-2",
        "scanned": "final shards (decoded)",
        "types": TYPES,
        "found": dict.fromkeys(TYPES, 0),
        "shards": 12,
        "tokens": 98765,
        "pii_action": "mask",
    },
    "audit": {
        "source": {"log": "x", "head": "3:aa", "record_hash": "12" * 32},
        "destination": {"log": "y", "head": "3:bb", "record_hash": "34" * 32},
    },
}


@pytest.fixture
def cards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data_cards"
    shutil.copytree(REPO / "data_cards", root)
    monkeypatch.setenv("SOVTRAIN_CARDS_DIR", str(root))
    monkeypatch.setenv("SOVTRAIN_CACHE", str(tmp_path / "cache"))
    return root


def _transferred(where: Path, **changes: Any) -> Path:
    """A destination directory holding a transfer.json (the prepared copy itself omitted)."""
    where.mkdir(parents=True)
    record = copy.deepcopy(RECORD)
    record.update(destination_uri=str(where), **changes)
    (where / "transfer.json").write_text(json.dumps(record, indent=2))
    return where


def _ledger(path: Path, *records: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    log = AuditLog(path, job="data-transfer")
    for record in records:
        log.append(record)
    log.close()
    return path


def _summary(destination: str, result: str = "allow", **extra: Any) -> dict[str, Any]:
    return {"kind": "transfer", "result": result, "rule": "transfer",
            "source_uri": RECORD["source_uri"], "destination_uri": destination,
            "source_region": "hk", "destination_region": "cn-gba", **extra}  # fmt: skip


def _section(text: str, card_id: str) -> str:
    start = text.index(f'<a id="card-{card_id}"></a>')
    end = text.find('<a id="card-', start + 1)
    return text[start : end if end > 0 else len(text)]


def test_explicit_record_is_listed_under_its_card(cards: Path, tmp_path: Path):
    dest = _transferred(tmp_path / "gba" / "prepared" / "bank-deid")
    executed = collect([str(dest)])
    text = render_markdown(report_for_dir(cards, TODAY, executed))
    section = _section(text, "hk-bank-comms-deid")
    assert "### Transfers executed" in section
    row = next(ln for ln in section.splitlines() if ln.startswith("| 2026-12-01T22:40"))
    assert "`hk` -> `cn-gba`" in row and f"`{dest}`" in row
    assert "GBA-SC-2026-0417" in row and "gba-standard-contract" in row and "2027-06-30" in row
    assert "123,456" in row and "cd" * 32 in row
    assert "`sovtrain-pii-2`: 0 found (bank\\_account 0, card 0, email 0, hkid 0" in row
    assert "in 12 shards" in row
    assert "tr-20261201T224000Z-1a2b3c4d" in section and "1212121212121212" in section
    assert "None recorded." in _section(text, "hk-bank-comms")  # nothing crossed for it
    assert f"{dest}/transfer.json: transfer record" in text  # where the report looked


def test_default_ledger_follows_records_to_transfer_json(cards: Path, tmp_path: Path):
    dest = _transferred(tmp_path / "gba" / "prepared" / "bank-deid")
    ledgers = tmp_path / "cache" / "audit" / "transfers"
    tid = RECORD["transfer_id"]
    _ledger(ledgers / "hk.jsonl",
            {"dataset": "hk-bank-comms-deid@1", "rule": "transfer-destination", "allowed": True},
            _summary(str(tmp_path / "elsewhere"), "deny", transfer_id="tr-refused"),
            _summary(str(dest), transfer_id=tid, manifest_digest=RECORD["manifest_digest"]),
            _summary(str(tmp_path / "gone"), transfer_id="tr-gone", bytes=99, files=3,
                     cards=["hk-bank-comms-deid@1"], time="2026-12-02T01:00:00+00:00"))  # fmt: skip
    # the destination side's ledger names the same transfer: listed once
    _ledger(ledgers / "cn-gba.jsonl", _summary(str(dest), transfer_id=tid))
    executed = collect()
    assert [t.transfer_id for t in executed.transfers] == [tid, "tr-gone"]
    assert all("chain verified" in s for s in executed.sources)
    full, gone = executed.transfers
    assert full.complete and full.origin.startswith(f"{dest}/transfer.json (via ")
    assert not gone.complete and gone.bytes == 99 and "not readable" in gone.notes[0]

    result = runner.invoke(cards_app, ["report", "--as-of", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    section = _section(result.stdout, "hk-bank-comms-deid")
    assert "tr-refused" not in result.stdout  # a refusal is not an executed transfer
    assert section.count("| 2026-12-0") == 2
    assert "not in the ledger record" in section and "transfer.json not readable" in section


def test_html_report_shows_the_executed_transfer(cards: Path, tmp_path: Path):
    dest = _transferred(tmp_path / "gba" / "<b>bank</b>")
    html = render_html(report_for_dir(cards, TODAY, collect([str(dest / "transfer.json")])))
    assert "<b>bank</b>" not in html and "&lt;b&gt;bank&lt;/b&gt;" in html
    start = html.index('id="card-hk-bank-comms-deid"')
    section = html[start : html.index("</section>", start)]
    assert f'<tr data-transfer="{RECORD["transfer_id"]}">' in section
    assert '<td class="filing">GBA-SC-2026-0417</td>' in section
    assert '<strong class="pii-total">0</strong>' in section and 'data-pii="hkid"' in section
    assert 'id="transfer-sources"' in html


def test_pii_in_the_evidence_and_the_expiry_are_flagged(cards: Path, tmp_path: Path):
    dirty = copy.deepcopy(RECORD["evidence"])
    dirty["found"]["hkid"] = 2
    dirty["types"] = [t for t in TYPES if t != "email"]
    dest = _transferred(tmp_path / "gba" / "dirty", evidence=dirty, transfer_id="tr-dirty")
    report = report_for_dir(cards, TODAY, collect([str(dest)]))
    entry = next(e for e in report.cards if e.ref == "hk-bank-comms-deid@1")
    (row,) = entry.executed
    assert "evidence does not cover PII type email" in row.problems
    assert "detectable PII in the transferred shards: hkid 2" in row.problems
    assert row.flag is not None and row.flag.level == "error" and row.flag in entry.flags

    clean = _transferred(tmp_path / "gba" / "clean")
    late = report_for_dir(cards, dt.date(2027, 6, 1), collect([str(clean)]))
    (row,) = next(e for e in late.cards if e.ref == "hk-bank-comms-deid@1").executed
    assert row.flag is not None and row.flag.level == "warn"
    assert "must be deleted by 2027-06-30" in row.flag.text
    after = report_for_dir(cards, dt.date(2027, 7, 2), collect([str(clean)]))
    (row,) = next(e for e in after.cards if e.ref == "hk-bank-comms-deid@1").executed
    assert row.flag is not None and row.flag.level == "error" and "past" in row.flag.text


def test_transfer_of_an_unknown_card_is_still_shown(cards: Path, tmp_path: Path):
    other = copy.deepcopy(RECORD["cards"])
    other[0].update(id="hk-logistics", ref="hk-logistics@2")
    dest = _transferred(tmp_path / "gba" / "logistics", cards=other, transfer_id="tr-other")
    text = render_markdown(report_for_dir(cards, TODAY, collect([str(dest)])))
    assert "## Transfers of cards not in this directory" in text
    assert "`tr-other`" in text and "hk-logistics@2" in text


def test_unreadable_explicit_record_is_an_error(cards: Path, tmp_path: Path):
    result = runner.invoke(cards_app, ["report", "--transfers", str(tmp_path / "missing")])
    assert result.exit_code != 0 and isinstance(result.exception, CardError)
    assert "--transfers" in str(result.exception) and "missing" in str(result.exception)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "transfer.json").write_text('{"format": 1}')
    result = runner.invoke(cards_app, ["report", "--transfers", str(bad)])
    assert isinstance(result.exception, CardError) and "no transfer_id" in str(result.exception)


def test_cli_transfers_option_repeatable(cards: Path, tmp_path: Path):
    one = _transferred(tmp_path / "gba" / "one")
    two = _transferred(tmp_path / "gba" / "two", transfer_id="tr-two",
                       time="2026-12-03T08:00:00.000+00:00")  # fmt: skip
    out = tmp_path / "report.md"
    args = ["--transfers", str(one), "--transfers", str(two), "-o", str(out)]
    result = runner.invoke(cards_app, ["report", "--as-of", TODAY.isoformat(), *args])
    assert result.exit_code == 0, result.output
    section = _section(out.read_text(), "hk-bank-comms-deid")
    assert section.index("tr-20261201T224000Z-1a2b3c4d") < section.index("tr-two")


def test_bucket_endpoints_come_from_the_policy(tmp_path: Path):
    from sovtrain.governance.policy import load_policy
    from sovtrain.governance.transfers_done import bucket_endpoints

    policy = tmp_path / "residency.yaml"
    policy.write_text(
        "regions: {hk: {name: HK}, cn-gba: {name: GBA}}\n"
        "storage:\n"
        "  - {prefix: 's3://sovtrain-hk', region: hk, endpoint_url: 'http://127.0.0.1:9001'}\n"
        "  - {prefix: 's3://sovtrain-gba/x', region: cn-gba, endpoint_url: 'http://127.0.0.1:9002'}\n"
        "  - {prefix: /srv/sovtrain/hk, region: hk}\n"
    )
    assert bucket_endpoints(load_policy(policy)) == {
        "sovtrain-hk": "http://127.0.0.1:9001",
        "sovtrain-gba": "http://127.0.0.1:9002",
    }
