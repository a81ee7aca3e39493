"""The audit report of a real tracked run, as a browser sees it.

One tiny run trains against a real `mlflow server`; `sovtrain audit report` must find the
run id in its checkpoint, read the `audit.head` tag through `sovtrain.tracking` and report
the chain as matching it; with the last record cut off the log (a valid but shorter chain)
the same comparison must say MISMATCH and `--strict` exit 1. The HTML is read back from
headless Chromium's DOM (see test_cards_report_chromium.py for why), and a screenshot is
taken of the hand-built transfer chain, whose page has every section filled in.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import tracked_recipe
from tests.integration.servers import mlflow_server
from tests.integration.test_cards_report_chromium import _run as chromium
from tests.unit.audit_run_fixture import build_chain

pytestmark = pytest.mark.slow
RANK0 = "run log (rank 0)"


def sovtrain(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        full.pop(var, None)
    return subprocess.run([sys.executable, "-m", "sovtrain.cli", *args], capture_output=True,
                          text=True, timeout=300, env=full)  # fmt: skip


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit-report")
    with mlflow_server(tmp / "mlflow") as url:
        path = tracked_recipe(tmp, "audited", url, max_steps=4)
        recipe = yaml.safe_load(path.read_text())
        recipe["data"]["sources"][0]["documents"] = 300
        recipe["tokenizer"]["fertility_report"] = False
        recipe["checkpoint"]["interval_steps"] = 2
        path.write_text(yaml.safe_dump(recipe, sort_keys=False))
        trained = sovtrain("train", str(path))
        assert trained.returncode == 0, trained.stderr[-4000:]
        client = MlflowClient(url)
        run = client.search_runs([client.get_experiment_by_name("tests").experiment_id])[0]
        yield {"tmp": tmp, "url": url, "run": tmp / "audited", "mlflow": run}


def _dom(html: Path, tmp: Path) -> str:
    result = chromium(["--dump-dom", html.as_uri()], tmp)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert '<html lang="en">' in dom[:200] and dom.rstrip().endswith("</html>"), dom[:500]
    return dom


def _report(run: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return sovtrain("audit", "report", str(run), "-f", "html", "-o", str(out), *extra)


def _chain_row(dom: str, label: str) -> dict[str, str]:
    row = re.search(rf'<tr data-log="{re.escape(label)}" data-state="(\w+)" data-head="([\w/-]+)">',
                    dom)  # fmt: skip
    assert row is not None, label
    return {"state": row.group(1), "head": row.group(2)}


def test_tracked_run_matches_its_mlflow_head(tracked, tmp_path):
    head = tracked["mlflow"].data.tags["audit.head"]
    out = tmp_path / "audit.html"
    result = _report(tracked["run"], out, "--strict")
    assert result.returncode == 0, result.stderr[-3000:]
    dom = _dom(out, tmp_path)
    assert re.search(r'<section class="run status-verified" id="run-audited"', dom)
    assert 'id="status" data-status="verified"' in dom
    assert 'class="tracking" data-state="tracked"' in dom
    assert tracked["mlflow"].info.run_id in dom
    assert _chain_row(dom, RANK0) == {"state": "verified", "head": "match"}
    assert f"<code>{head[:24]}...</code>" in dom
    for section in ("chains", "io", "refusals", "cards", "transfer", "weights"):
        assert f'class="{section}"' in dom, section
    names = re.findall(r'<tr data-name="(step_\d+)">', dom)
    assert names == ["step_00000002", "step_00000004"]


def test_truncated_log_does_not_match(tracked, tmp_path):
    log = tracked["run"] / "audit.jsonl"
    original = log.read_text()
    lines = original.splitlines(keepends=True)
    try:
        log.write_text("".join(lines[:-1]))  # still a valid chain, one record shorter
        out = tmp_path / "audit.html"
        result = _report(tracked["run"], out)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "FAILED audited: run log (rank 0): head mismatch" in result.stderr
        dom = _dom(out, tmp_path)
        assert _chain_row(dom, RANK0) == {"state": "verified", "head": "mismatch"}
        assert 'id="status" data-status="failed"' in dom
        assert '<span class="badge head-mismatch">MISMATCH</span>' in dom
        assert _report(tracked["run"], out, "--strict").returncode == 1
    finally:
        log.write_text(original)


def test_transfer_chain_page(tmp_path):
    """The hand-built hk -> cn-gba chain: every section filled in, tampering shown."""
    chain = build_chain(tmp_path)
    env = {"SOVTRAIN_CARDS_DIR": str(chain["cards"]), "SOVTRAIN_CACHE": str(tmp_path / "c")}
    log = chain["run"] / "audit.jsonl"
    log.write_text(log.read_text().replace("test decision", "test decisioN", 1))
    out = tmp_path / "chain.html"
    result = sovtrain("audit", "report", str(chain["run"]), "-f", "html", "-o", str(out),
                      env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    dom = _dom(out, tmp_path)
    assert _chain_row(dom, RANK0)["state"] == "FAILED"
    assert _chain_row(dom, "transfer source log (hk)") == {"state": "verified", "head": "match"}
    assert '<td class="filing">GBA-SC-2026-0417</td>' in dom
    assert re.search(r'<tr data-type="hkid"><td><code>hkid</code></td><td class="num">0</td>', dom)
    assert '<tr data-rule="transfer-deidentified">' in dom
    assert re.search(r'<tr data-region="cn-gba" data-purpose="shards" data-action="read">', dom)
    png = tmp_path / "chain.png"
    shot = chromium([f"--screenshot={png}", "--window-size=1280,2400", out.as_uri()], tmp_path)
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
