"""The HTML compliance report as a browser sees it: headless Chromium parses and renders it.

String checks on the template cannot catch markup a browser repairs or drops (an unclosed
tag swallowing a section, a bad attribute); reading back Chromium's DOM can. The screenshot
is the artefact a reviewer would look at. Chromium is a declared system dependency
(`make system-deps`), so its absence fails the test instead of skipping it.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sovtrain.governance.cards import approve, card_files
from sovtrain.governance.report import render_html, report_for_dir
from sovtrain.governance.transfers_done import collect
from tests.conftest import REPO
from tests.unit.test_cards_report_transfers import RECORD

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 60
TODAY = dt.date(2026, 11, 23)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


def _chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if not found:
        pytest.fail(
            f"headless Chromium not found at {CHROMIUM}: run `make system-deps` "
            "(as root: apt-get install -y chromium)",
            pytrace=False,
        )
    return found


def _run(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture
def report_html(tmp_path: Path) -> Path:
    """Cards in three states: one approved, one unreviewed, one failing validation."""
    root = tmp_path / "data_cards"
    shutil.copytree(REPO / "data_cards", root)
    for path in card_files(root):  # start from unreviewed copies of the shipped cards
        text = path.read_text(encoding="utf-8")
        path.write_text(
            re.sub(r"^review:.*?(?=^\S|\Z)", "", text, flags=re.MULTILINE | re.DOTALL),
            encoding="utf-8",
        )
    approve(root / "synthetic-finance-bilingual.yaml", "Compliance Office", TODAY)
    bad = root / "synthetic-logistics-bilingual.yaml"
    bad.write_text(
        bad.read_text(encoding="utf-8").replace("license: Apache-2.0", "license: Apache 2 <b>"),
        encoding="utf-8",
    )
    dest = tmp_path / "gba" / "bank-deid"  # one executed transfer, from a hand-made record
    dest.mkdir(parents=True)
    record = copy.deepcopy(RECORD)
    record["destination_uri"] = str(dest)
    (dest / "transfer.json").write_text(json.dumps(record), encoding="utf-8")
    out = tmp_path / "report.html"
    report = report_for_dir(root, TODAY, collect([str(dest)]))
    out.write_text(render_html(report), encoding="utf-8")
    return out


def test_report_dom_in_chromium(report_html: Path, tmp_path: Path):
    result = _run(["--dump-dom", report_html.as_uri()], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert '<html lang="en">' in dom[:200] and dom.rstrip().endswith("</html>"), dom[:500]

    for card_id in (
        "hk-bank-comms",
        "synthetic-finance-bilingual",
        "synthetic-logistics-bilingual",
    ):
        assert re.search(rf'<section class="card \w+" id="card-{card_id}">', dom), card_id
    matrix = re.search(r'<table id="matrix">.*?</table>', dom, re.DOTALL)
    assert matrix is not None
    hk_row = re.search(r'<tr data-card="card-hk-bank-comms">.*?</tr>', matrix.group(0), re.DOTALL)
    assert hk_row is not None
    cells = re.findall(r'<td class="cell" data-region="([\w-]+)">(.*?)</td>', hk_row.group(0))
    assert [region for region, _ in cells] == ["hk", "cn-gba", "sg"]
    assert cells[0][1].count("perm allow") == 3 and cells[1][1].count("perm deny") == 3
    assert 'class="invalid"' in matrix.group(0)  # the invalid card's row

    states = dict(
        re.findall(r'id="card-([\w-]+)">.*?<div class="approval" data-state="([\w-]+)">', dom, re.S)
    )
    assert states == {
        "hk-bank-comms": "not-reviewed",
        "hk-bank-comms-deid": "not-reviewed",
        "hkfin-mc-eval": "not-reviewed",  # approved 2026-12-01, after this report's day
        "synthetic-finance-bilingual": "approved",
        "synthetic-logistics-bilingual": "invalid",
    }
    invalid_card = dom[dom.index('id="card-synthetic-logistics-bilingual"') :]
    problems = re.search(r'<div class="problems has-problems">(.*?)</div>', invalid_card, re.S)
    assert problems is not None and "<li>" in problems.group(1)
    assert "license" in problems.group(1) and "Apache 2 &lt;b&gt;" in problems.group(1)
    assert dom.count('class="problems no-problems"') == 4
    deid = re.search(r'id="card-hk-bank-comms-deid">.*?</section>', dom, re.S)
    assert deid is not None
    executed = re.search(r'<div class="executed">(.*?)</div>', deid.group(0), re.S)
    assert executed is not None
    row = re.search(
        rf'<tr data-transfer="{RECORD["transfer_id"]}">.*?</tr>', executed.group(1), re.S
    )
    assert row is not None and row.group(0).count("<td") == 9
    assert "GBA-SC-2026-0417" in row.group(
        0
    ) and '<strong class="pii-total">0</strong>' in row.group(0)
    assert dom.count('<div class="executed">') == 4  # every valid card has the section


def test_report_screenshot(report_html: Path, tmp_path: Path):
    png = tmp_path / "report.png"
    result = _run(
        [f"--screenshot={png}", "--window-size=1280,2000", report_html.as_uri()], tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert png.is_file(), result.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000, f"screenshot is only {len(data)} bytes: blank page?"
