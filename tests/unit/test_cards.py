"""Data cards: schema strictness, approval pinned to content, CLI, report and region matrix.

Every test works on a tmp copy of data_cards/ (SOVTRAIN_CARDS_DIR points there), so the
shipped cards and their approvals are never touched.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovtrain.cli.cards import cards_app
from sovtrain.governance.cards import CardError, approve, card_files, check_cards, load_card
from sovtrain.governance.policy import load_policy
from sovtrain.governance.report import (
    approval_of,
    policy_problems,
    region_permissions,
    render_html,
    render_markdown,
    report_for_dir,
)
from tests.conftest import REPO

TODAY = dt.date(2026, 11, 23)
CARD_IDS = (
    "hk-bank-comms",
    "hk-bank-comms-deid",
    "hkfin-mc-eval",
    "synthetic-finance-bilingual",
    "synthetic-logistics-bilingual",
)
runner = CliRunner()


def _unreviewed(text: str) -> str:
    """The card without its review block (shipped cards may carry one)."""
    return re.sub(r"^review:.*?(?=^\S|\Z)", "", text, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture
def cards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of data_cards/ with every card unreviewed, used as the cards dir."""
    root = tmp_path / "data_cards"
    shutil.copytree(REPO / "data_cards", root)
    for path in card_files(root):
        path.write_text(_unreviewed(path.read_text(encoding="utf-8")), encoding="utf-8")
    monkeypatch.setenv("SOVTRAIN_CARDS_DIR", str(root))
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _rejected(path: Path) -> str:
    with pytest.raises(CardError) as err:
        load_card(path)
    return str(err.value)


# --- schema ------------------------------------------------------------------------------


def test_unknown_field_names_file_and_dotted_field(cards: Path):
    path = cards / "hk-bank-comms.yaml"
    _edit(path, "  home_region: hk\n", "  home_region: hk\n  extra_regions: [sg]\n")
    message = _rejected(path)
    assert str(path) in message
    assert "residency.extra_regions" in message and "unknown field" in message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("languages: [en, zh-Hant-HK]", "languages: [en, zh_HK]", "languages"),
        ("languages: [en, zh-Hant-HK]", "languages: [english]", "languages"),
        ("license: LicenseRef-internal-use-only", "license: Apache 2.0 licence", "license"),
        ("  home_region: hk\n", "  home_region: sg\n", "residency"),
    ],
    ids=["bcp47-underscore", "bcp47-word", "spdx", "home-not-in-storage"],
)
def test_invalid_values_rejected(cards: Path, old: str, new: str, field: str):
    path = cards / "hk-bank-comms.yaml"
    _edit(path, old, new)
    message = _rejected(path)
    assert str(path) in message and f"{field}" in message


def test_home_region_message_explains(cards: Path):
    path = cards / "hk-bank-comms.yaml"
    _edit(path, "  home_region: hk\n", "  home_region: sg\n")
    assert "home_region 'sg' must be in storage_regions" in _rejected(path)


def test_shipped_cards_validate():
    checks = check_cards(card_files(REPO / "data_cards"))
    assert sorted(c.path.stem for c in checks) == sorted(CARD_IDS)
    assert [c.problems for c in checks] == [[]] * len(CARD_IDS)
    policy = load_policy(REPO / "data_cards" / "residency.yaml")
    for check in checks:
        assert check.loaded is not None
        assert policy_problems(check.loaded.card, policy) == []


def test_region_typo_is_a_policy_problem(cards: Path):
    path = cards / "hk-bank-comms.yaml"
    _edit(path, "  processing_regions: [hk]", "  processing_regions: [hk, hkg]")
    card = load_card(path).card  # schema-valid: the region id is well formed
    problems = policy_problems(card, load_policy(cards / "residency.yaml"))
    assert len(problems) == 1 and "residency.processing_regions" in problems[0]
    assert "'hkg'" in problems[0]


# --- approval ----------------------------------------------------------------------------


def test_edit_outside_review_block_voids_approval(cards: Path):
    path = cards / "hk-bank-comms.yaml"
    approved = approve(path, "DPO", TODAY, valid_days=30)
    assert approved.review_problem(TODAY) is None
    assert approval_of(approved, TODAY).state == "approved"

    _edit(path, "# Data card:", "# Data card;")  # one byte, inside a comment
    changed = load_card(path)
    problem = changed.review_problem(TODAY)
    assert problem is not None and "changed since approval" in problem
    assert approval_of(changed, TODAY).state == "changed"

    reapproved = approve(path, "DPO", TODAY)
    assert reapproved.review_problem(TODAY) is None
    assert reapproved.card.review is not None
    assert reapproved.card.review.approved_digest == changed.digest


def test_value_edit_voids_approval_and_review_edit_does_not(cards: Path):
    path = cards / "hk-bank-comms.yaml"
    approve(path, "DPO", TODAY, notes="first")
    _edit(path, "notes: first", "notes: amended")  # inside the review block: not content
    assert load_card(path).review_problem(TODAY) is None
    _edit(path, 'version: "1"', 'version: "2"')
    assert "changed since approval" in (load_card(path).review_problem(TODAY) or "")


def test_expired_approval_is_blocked(cards: Path):
    path = cards / "hk-bank-comms.yaml"
    approve(path, "DPO", dt.date(2025, 1, 1), valid_days=30)
    loaded = load_card(path)
    assert loaded.review_problem(dt.date(2025, 1, 31)) is None  # valid through its last day
    problem = loaded.review_problem(dt.date(2025, 2, 1))
    assert problem == "approval expired on 2025-01-31"
    assert approval_of(loaded, dt.date(2025, 2, 1)).state == "expired"


@pytest.mark.parametrize("status", ["pending", "rejected"])
def test_non_approved_status_is_blocked(cards: Path, status: str):
    path = cards / "hk-bank-comms.yaml"
    approve(path, "DPO", TODAY)
    _edit(path, "status: approved", f"status: {status}")
    loaded = load_card(path)
    assert loaded.review_problem(TODAY) == f"review status is {status}"
    assert approval_of(loaded, TODAY).state == status


def test_unreviewed_card(cards: Path):
    loaded = load_card(cards / "hk-bank-comms.yaml")
    assert approval_of(loaded, TODAY).state == "not-reviewed"


# --- region matrix -----------------------------------------------------------------------


def test_matrix_for_hk_bank_comms(cards: Path):
    card = load_card(cards / "hk-bank-comms.yaml").card
    assert region_permissions(card, "hk", TODAY) == {
        "store": True,
        "process": True,
        "derived": True,
    }
    assert region_permissions(card, "cn-gba", TODAY) == {
        "store": False,
        "process": False,
        "derived": False,
    }


def test_matrix_counts_only_current_transfers(cards: Path):
    path = cards / "hk-bank-comms.yaml"
    _edit(
        path,
        "transfers: []",
        "transfers:\n"
        "  - {destination: cn-gba, mechanism: gba-standard-contract, purposes: [processing],"
        " expires: 2027-01-15}\n"
        "  - {destination: sg, mechanism: consent, purposes: [storage], expires: 2026-01-01}\n"
        "#",
    )
    card = load_card(path).card
    gba = region_permissions(card, "cn-gba", TODAY)
    assert gba == {"store": False, "process": True, "derived": False}
    assert region_permissions(card, "sg", TODAY)["store"] is False  # expired transfer
    assert region_permissions(card, "sg", dt.date(2026, 1, 1))["store"] is True
    assert region_permissions(card, "cn-gba", dt.date(2027, 1, 16))["process"] is False

    report = report_for_dir(cards, TODAY)
    entry = next(e for e in report.cards if e.ref == "hk-bank-comms@1")
    assert [(f.level, f.text.split(" ", 3)[2]) for f in entry.flags] == [
        ("warn", "cn-gba"),
        ("error", "sg"),
    ]


def test_retention_deadlines_are_flagged(cards: Path):
    report = report_for_dir(cards, dt.date(2033, 9, 1))
    entry = next(e for e in report.cards if e.ref == "hk-bank-comms@1")
    assert entry.retention_flag is not None and entry.retention_flag.level == "warn"
    report = report_for_dir(cards, dt.date(2034, 1, 1))
    entry = next(e for e in report.cards if e.ref == "hk-bank-comms@1")
    assert entry.retention_flag is not None and entry.retention_flag.level == "error"
    assert "overdue" in entry.retention_flag.text


# --- report ------------------------------------------------------------------------------


def test_markdown_report_lists_every_card_and_the_matrix(cards: Path):
    _edit(cards / "synthetic-logistics-bilingual.yaml", "sensitivity: public", "sensitivity: open")
    text = render_markdown(report_for_dir(cards, TODAY))
    assert "## Dataset x region matrix" in text
    assert "| hk-bank-comms@1 | store, process, derived | - | - |" in text
    for card_id in CARD_IDS:
        assert f'<a id="card-{card_id}"></a>' in text
    assert "synthetic-logistics-bilingual.yaml: sensitivity: Input should be" in text
    assert "invalid card" in text


def test_html_report_escapes_and_is_self_contained(cards: Path):
    _edit(cards / "hk-bank-comms.yaml", "title: HK retail", "title: <script>alert(1)</script> HK")
    html = render_html(report_for_dir(cards, TODAY))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert 'id="matrix"' in html and 'id="card-hk-bank-comms"' in html


# --- CLI ---------------------------------------------------------------------------------


def test_cli_validate(cards: Path):
    result = runner.invoke(cards_app, ["validate"])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("ok ")]
    # the data cards stripped of their reviews, and the pending example model card
    assert len(lines) == len(CARD_IDS) + 1
    assert sum("not reviewed" in ln for ln in lines) == len(CARD_IDS)

    _edit(cards / "hk-bank-comms.yaml", "  home_region: hk\n", "  home_region: hk\n  typo: 1\n")
    result = runner.invoke(cards_app, ["validate"])
    assert result.exit_code == 2
    assert "FAIL" in result.stdout and "residency.typo" in result.stdout
    one = runner.invoke(cards_app, ["validate", str(cards / "synthetic-finance-bilingual.yaml")])
    assert one.exit_code == 0 and one.stdout.count("\n") == 1


def test_cli_approve(cards: Path):
    result = runner.invoke(
        cards_app, ["approve", "hk-bank-comms", "--reviewer", "DPO", "--days", "10"]
    )
    assert result.exit_code == 0, result.output
    loaded = load_card(cards / "hk-bank-comms.yaml")
    assert loaded.digest in result.stdout
    review = loaded.card.review
    assert review is not None and review.reviewer == "DPO"
    assert review.expires == review.decided + dt.timedelta(days=10)

    missing = runner.invoke(cards_app, ["approve", "no-such-card", "--reviewer", "DPO"])
    assert isinstance(missing.exception, CardError) and "hk-bank-comms" in str(missing.exception)

    path = cards / "synthetic-finance-bilingual.yaml"
    _edit(path, "license: Apache-2.0", "license: Apache 2")
    before = path.read_text()
    refused = runner.invoke(cards_app, ["approve", path.stem, "--reviewer", "DPO"])
    assert isinstance(refused.exception, CardError) and "license" in str(refused.exception)
    assert path.read_text() == before


def test_cli_report(cards: Path, tmp_path: Path):
    result = runner.invoke(cards_app, ["report", "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "# Data card compliance review" in result.stdout
    assert all(f"{card_id}@1" in result.stdout for card_id in CARD_IDS)
    out = tmp_path / "out" / "report.html"
    result = runner.invoke(cards_app, ["report", "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!DOCTYPE html>") and 'id="matrix"' in out.read_text()


def test_cards_registered_in_main_cli(cards: Path):
    from sovtrain.cli.app import app

    result = runner.invoke(app, ["cards", "--help"])
    assert result.exit_code == 0
    assert all(cmd in result.stdout for cmd in ("validate", "approve", "report"))


def test_cli_error_exits_2_without_traceback(cards: Path):
    result = subprocess.run(
        [sys.executable, "-m", "sovtrain.cli", "cards", "approve", "nope", "--reviewer", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "no card 'nope'" in result.stderr and "Traceback" not in result.stderr
