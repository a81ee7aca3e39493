"""`sovtrain audit report`: the figures gathered from a hand-built chain of runs, how a
tampered log or transfer log is shown, the Markdown page, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sovtrain.cli.app import app
from sovtrain.core.errors import SovtrainError
from sovtrain.governance.audit_gather import NotARun, build_report, gather_run
from sovtrain.governance.audit_report import render_html, render_markdown
from tests.conftest import TINY_RECIPE
from tests.unit.audit_run_fixture import CARD, build_chain


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    built = build_chain(tmp_path)
    monkeypatch.setenv("SOVTRAIN_CARDS_DIR", str(built["cards"]))
    monkeypatch.setenv("SOVTRAIN_CACHE", str(tmp_path / "cache"))
    return built


def _flip_byte(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_gathered_figures(chain):
    run = gather_run(str(chain["run"]))
    assert run.name == "tiny" and run.compute_regions == ("cn-gba",)
    assert run.jobs == ("tiny", "tiny/export")
    io = {(r.region, r.purpose, r.action): (r.bytes, r.calls) for r in run.io}
    assert io == {("cn-gba", "shards", "read"): (1024, 4),
                  ("cn-gba", "checkpoint", "write"): (5000, 2)}  # fmt: skip
    assert run.io_total("read") == 1024 and run.io_total("write") == 5000
    assert run.io_missing == ("export log",)  # a log without io-totals: "not recorded"
    assert [(f.rule, f.action, f.purpose) for f in run.refusals] == [
        ("transfer-deidentified", "read", "raw-data")
    ]
    by_label = {c.label: c for c in run.all_chains}
    assert by_label["run log (rank 0)"].state == "verified"
    assert by_label["run log (rank 0)"].records == 7 and by_label["run log (rank 0)"].denied == 1
    assert by_label["run log (rank 0)"].head_state == "not-tracked"
    assert by_label["export log"].state == "verified"
    assert by_label["transfer source log (hk)"].head_state == "match"
    assert by_label["transfer destination log (cn-gba)"].head_state == "match"
    assert run.failures == []
    assert [(c.card_id, c.kind, c.state) for c in run.cards] == [(CARD, "data", "unchanged")]
    assert run.cards[0].admitted_digest == chain["digest"]
    assert run.base is None
    transfer = run.transfer
    assert transfer is not None and transfer.problems == ()
    assert transfer.get("transfer_id") == chain["transfer_id"]
    assert transfer.cards[0]["transfer"]["filing_reference"] == "GBA-SC-2026-0417"
    assert transfer.evidence["found"]["hkid"] == 0
    assert any("matches the transferred digest" in f for f in transfer.findings)
    assert [(e.transfer_id, e.result) for e in run.transfer_events] == [
        (chain["transfer_id"], "allow")
    ]
    assert [(c.name, c.bytes, c.latest) for c in run.checkpoints] == [("step_00000004", 340, True)]
    assert run.checkpoint_regions == ("cn-gba",)
    assert [(e.uri, e.region, e.weights_storage_regions, e.step) for e in run.exports] == [
        (str(chain["export"]), "hk", ("hk", "cn-gba"), 4)
    ]


def test_tampered_log_is_failed(chain):
    _flip_byte(chain["run"] / "audit.jsonl", "test decision", "test decisioN")
    report = build_report([str(chain["run"])])
    run = report.runs[0]
    rank0 = run.chains[0]
    assert rank0.state == "FAILED" and any("edited" in p for p in rank0.problems)
    assert report.failed and "run log (rank 0): FAILED" in report.failed[0][1]
    text = render_markdown(report)
    assert "- **FAILED**: 1 check(s) did not verify" in text
    assert "| run log (rank 0) |" in text and "| **FAILED** |" in text


def test_transfer_log_missing_its_records(chain):
    log = chain["source"] / "transfers.audit.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[0])  # a valid, shorter chain: the transfer's record is gone
    run = gather_run(str(chain["run"]))
    source = next(c for c in run.all_chains if c.label == "transfer source log (hk)")
    assert source.state == "verified" and source.head_state == "mismatch"
    assert any("no record with the transfer's hash" in p for p in run.transfer.problems)
    assert len(run.failures) == 2


def test_shards_changed_after_transfer(chain):
    manifest = chain["dest"] / "shards" / "manifest.json"
    manifest.write_text(manifest.read_text() + " ")
    run = gather_run(str(chain["run"]))
    assert any("the shards changed after the transfer" in p for p in run.transfer.problems)


def test_markdown_page(chain):
    report = build_report([str(chain["run"])])
    text = render_markdown(report)
    assert text.startswith("# Audit report\n")
    assert "## Run `tiny`" in text
    assert "Every audit chain verified" in text
    assert "| `cn-gba` | shards | read | 1,024 B (1.0 kB) | 4 |" in text
    assert "Totals: read 1,024 B (1.0 kB), written 5,000 B (5.0 kB)." in text
    assert "Not recorded in: export log." in text
    assert "**transfer-deidentified**" in text
    assert "filing **GBA-SC-2026-0417**" in text and "expires 2027-06-30" in text
    assert "| `hkid` | 0 |" in text
    assert "| `step_00000004` | 340 B | yes |" in text
    assert f"| `{chain['export']}` | hk | present, step 4 | hk, cn-gba |" in text
    assert "{{" not in text and "{%" not in text


def test_run_with_nothing_shows_none(tmp_path, monkeypatch):
    monkeypatch.setenv("SOVTRAIN_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "bare"
    run.mkdir()
    recipe = {**TINY_RECIPE, "run": {"name": "bare", "output_uri": str(run)}}
    (run / "recipe.resolved.yaml").write_text(yaml.safe_dump(recipe))
    report = build_report([str(run)])
    assert not report.failed
    text = render_markdown(report)
    assert "| run log (rank 0) |" in text and "| missing |" in text
    assert "Not recorded (no io-totals records in this run's logs)." in text
    assert "None (0 decisions recorded, all allowed)." in text
    assert "No transfer brought this run's prepared data here" in text
    assert "Checkpoints: none." in text and "Exports: none." in text
    assert "<html" in render_html(report)


def test_not_a_run_directory(tmp_path):
    with pytest.raises(NotARun, match="not a run directory"):
        gather_run(str(tmp_path))


def test_cli_exit_codes(chain, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "report", str(chain["run"])])
    assert result.exit_code == 0, result.output
    assert "## Run `tiny`" in result.stdout
    out = tmp_path / "page" / "audit.html"
    result = runner.invoke(app, ["audit", "report", str(chain["run"]), "-f", "html", "-o",
                                 str(out), "--strict"])  # fmt: skip
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    _flip_byte(chain["run"] / "audit.jsonl", '"seq": 2', '"seq": 9')
    result = runner.invoke(app, ["audit", "report", str(chain["run"])])
    assert result.exit_code == 0 and "FAILED tiny: run log (rank 0)" in result.stderr
    result = runner.invoke(app, ["audit", "report", str(chain["run"]), "--strict"])
    assert result.exit_code == 1
    bad = tmp_path / "not-a-run"
    bad.mkdir()
    result = runner.invoke(app, ["audit", "report", str(chain["run"]), str(bad)])
    assert isinstance(result.exception, SovtrainError) and result.exception.exit_code == 2
    assert str(result.exception) == f"{bad}: not a run directory (no readable recipe.resolved.yaml)"


def test_transfer_json_unreadable(chain):
    (chain["dest"] / "transfer.json").write_text(json.dumps(["not", "an", "object"]))
    run = gather_run(str(chain["run"]))
    assert run.transfer is not None and run.transfer.problems
    assert "transfer: transfer.json does not parse" in run.failures[0]


def test_prepare_run_shows_its_outgoing_transfers(chain, tmp_path):
    """The first run of the chain (prepared in hk): no transfer.json, but its prepared data's
    transfer log lists the transfers out, a refused one among the refusals."""
    from sovtrain.governance.audit import AuditLog

    log = AuditLog(chain["source"] / "transfers.audit.jsonl", job="transfer")
    log.append({"kind": "transfer", "transfer_id": "tr-refused", "result": "deny",
                "rule": "transfer-expired", "destination_uri": "s3://sg/prepared",
                "reason": "the transfer to sg expired on 2026-01-01"})  # fmt: skip
    log.close()
    prepare = tmp_path / "hk" / "runs" / "prepare"
    prepare.mkdir(parents=True)
    recipe = {**TINY_RECIPE, "run": {"name": "prepare", "output_uri": str(prepare)},
              "data": {**TINY_RECIPE["data"], "prepared_uri": str(chain["source"])}}  # fmt: skip
    (prepare / "recipe.resolved.yaml").write_text(yaml.safe_dump(recipe))
    report = build_report([str(prepare), str(chain["run"])])
    first = report.runs[0]
    assert first.transfer is None
    assert [c.label for c in first.chains] == [
        "run log (rank 0)", "export log", "transfer log at the prepared data"
    ]  # fmt: skip
    assert first.chains[2].state == "verified" and first.chains[2].records == 3
    assert [(e.transfer_id, e.result) for e in first.transfer_events] == [
        (chain["transfer_id"], "allow"), ("tr-refused", "deny")
    ]  # fmt: skip
    assert [(f.log, f.rule) for f in first.refusals] == [("transfer log", "transfer-expired")]
    assert first.deidentification is not None and first.deidentification["found"]["email"] == 0
    text = render_markdown(report)
    assert "## Run `prepare`" in text and "## Run `tiny`" in text
    assert "| `tr-refused` | **deny** | transfer-expired | `s3://sg/prepared` |" in text
    assert "De-identification evidence in this run's shard manifest:" in text
    assert not report.failed  # the source log grew after the transfer: its head is still in it
