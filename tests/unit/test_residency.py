"""Residency: policy regions, admission, the storage guard and its escape attempts, audit log.

Each test builds its own small world in tmp_path: two local roots standing for the `hk` and
`cn-gba` file systems, a policy mapping them, cluster profiles in each region and data cards.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from sovtrain import storage
from sovtrain.core.errors import PolicyRefused, StorageError
from sovtrain.governance import audit
from sovtrain.governance.admission import admit, enforce
from sovtrain.governance.cards import approve
from sovtrain.governance.sites import load_site
from sovtrain.recipe import load_recipe
from tests.conftest import REPO, private_recipe

TODAY = dt.date.today()


def test_storage_regions_resolve_the_real_target(world):
    site = load_site("site-hk")
    hk, gba = world["hk"], world["gba"]
    assert site.storage_region(str(hk / "a")) == "hk"
    assert site.storage_region(f"file://{hk}/a") == "hk"
    assert site.storage_region("s3://sovtrain-hk/a") == "hk"
    assert site.storage_region("s3a://sovtrain-hk//a/./b") == "hk"  # alternate spellings
    assert site.storage_region("s3://sovtrain-hkx/a") is None  # a prefix is whole components
    assert site.storage_region("s3://SOVTRAIN-HK/a") is None  # not the mapped bucket: deny
    assert site.storage_region("s3://sovtrain-gba/../sovtrain-hk/a") == "hk"  # I/O goes there too
    assert site.storage_region(f"{hk}/../gba/a") == "cn-gba"  # traversal resolves first
    assert site.storage_region(f"file://{hk}/%2e%2e/gba/a") == "cn-gba"  # percent-encoded
    (hk / "link").symlink_to(gba)
    assert site.storage_region(str(hk / "link" / "a")) == "cn-gba"  # symlink followed
    assert site.storage_region("/opt/nowhere/a") is None  # unmapped: default deny
    assert site.storage_region("http://127.0.0.1:5000") == "hk"  # loopback = this node
    with pytest.raises(StorageError, match="chained"):
        site.storage_region(f"simplecache::file://{hk}/a")


def test_admission_on_the_shipped_policy_and_recipe():
    """Acceptance: finance-hk-private-smoke runs on hk-cyberport, not on gba-shenzhen."""
    recipe = load_recipe(REPO / "recipes/pretrain/finance-hk-private-smoke.yaml").recipe
    assert admit(recipe, "hk-cyberport").allowed
    refused = admit(recipe, "gba-shenzhen")
    assert not refused.allowed
    (decision,) = refused.refusals()
    assert (decision.dataset, decision.rule) == ("hk-bank-comms@1", "processing-region")
    assert "may be processed only in [hk]" in decision.refusal()
    assert "compute region cn-gba" in decision.refusal()


def test_outputs_must_stay_where_every_input_may_be_stored(world):
    path = private_recipe(world)
    assert admit(load_recipe(path).recipe, "site-hk").allowed
    for target, rule in ((world["gba"] / "run", "derived-storage-region"),
                         (Path("/opt/sovtrain-unmapped/run"), "mapped-location")):  # fmt: skip
        recipe = load_recipe(path, [f"run.output_uri={target}"]).recipe
        admission = admit(recipe, "site-hk")
        assert rule in {d.rule for d in admission.refusals()}
        with pytest.raises(PolicyRefused, match="hk-bank-comms@1"):
            enforce(recipe, "site-hk", "test")
        assert not target.exists()  # refused before anything was written there


def test_changed_unapproved_or_expired_card_blocks_use(world):
    card = world["cards"] / "hk-bank-comms.yaml"
    recipe = load_recipe(private_recipe(world)).recipe
    card.write_text(card.read_text().replace("marketing profiling", "marketing profilinG"))
    problem = admit(recipe, "site-hk").refusals()[0]
    assert problem.rule == "card-review" and "changed since approval" in problem.reason
    approve(card, "Reviewer", TODAY)
    assert admit(recipe, "site-hk").allowed
    approve(card, "Reviewer", TODAY - dt.timedelta(days=400), valid_days=365)
    assert "expired" in admit(recipe, "site-hk").refusals()[0].reason
    card.unlink()
    assert admit(recipe, "site-hk").refusals()[0].rule == "card-known"


def test_a_live_transfer_extends_processing_until_it_expires(world):
    card = world["cards"] / "hk-bank-comms.yaml"
    recipe = load_recipe(private_recipe(world)).recipe
    assert not admit(recipe, "site-gba").allowed
    text = card.read_text().replace(
        "transfers: []",
        "transfers:\n  - destination: cn-gba\n    mechanism: gba-standard-contract\n"
        "    filing_reference: GBA-SC-2026-0042\n    purposes: [processing]\n"
        f"    expires: '{TODAY + dt.timedelta(days=30)}'",
    )
    card.write_text(text)  # de-identification required (the default): no raw data there
    approve(card, "Reviewer", TODAY)
    rules = {d.rule for d in admit(recipe, "site-gba").refusals()}
    assert rules == {"transfer-deidentified", "transfer-record"}, rules
    text = text.replace(
        "    purposes: [processing]\n",
        "    purposes: [processing]\n    deidentification_required: false\n",
    )
    card.write_text(text)
    approve(card, "Reviewer", TODAY)
    assert admit(recipe, "site-gba").allowed
    card.write_text(
        text.replace(str(TODAY + dt.timedelta(days=30)), str(TODAY - dt.timedelta(days=1)))
    )
    approve(card, "Reviewer", TODAY)
    reason = admit(recipe, "site-gba").refusals()[0].reason
    assert "transfer to cn-gba expired" in reason


def test_guard_refuses_escapes_and_writes_nothing(world):
    hk, gba = world["hk"], world["gba"]
    recipe = load_recipe(private_recipe(world)).recipe
    admission = enforce(recipe, "site-hk", "test")
    lineage = ("hk-bank-comms",)
    storage.write_text_atomic(str(hk / "runs/tiny/ok.txt"), "ok", purpose="artifact")
    (hk / "escape").symlink_to(gba)
    attempts = [
        str(gba / "x.txt"),
        f"{hk}/../gba/x.txt",
        f"file://{hk}/%2E%2E/gba/x.txt",
        str(hk / "escape" / "x.txt"),
        "/opt/sovtrain-unmapped/x.txt",
    ]
    for uri in attempts:
        with pytest.raises(PolicyRefused, match="hk-bank-comms@1") as err:
            storage.write_text_atomic(uri, "secret", purpose="checkpoint", lineage=lineage)
        assert "derived-storage-region" in str(err.value) or "mapped-location" in str(err.value)
    with pytest.raises(StorageError):
        storage.write_text_atomic(f"simplecache::file://{gba}/x.txt", "s", purpose="checkpoint")
    assert list(gba.iterdir()) == []  # nothing reached the other region
    assert not Path("/opt/sovtrain-unmapped").exists()
    # a raw read of the restricted data from the wrong region is refused too
    with pytest.raises(PolicyRefused, match="storage-region"):
        storage.read_text(str(gba / "raw.jsonl"), purpose="raw-data", lineage=lineage)
    # every decision is in the run's audit log, chained
    log_path = hk / "runs" / "tiny" / "audit.jsonl"
    result = audit.verify(log_path)
    assert result.ok and result.records > len(attempts) and result.denied >= len(attempts)
    assert admission.audit is not None and admission.audit.head == result.head


def test_audit_log_detects_edits_deletions_and_truncation(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = audit.AuditLog(path, job="j")
    for i in range(5):
        log.append({"uri": f"/x/{i}", "result": "allow" if i % 2 else "deny", "rule": "r"})
    head = log.head
    assert audit.verify(path, expect_head=head).ok
    # continuing the same file extends the same chain
    audit.AuditLog(path, job="j2").append({"uri": "/x/5", "result": "allow"})
    assert audit.verify(path).ok and audit.verify(path).records == 6
    lines = path.read_text().splitlines()

    def check(mutated: list[str], **kw) -> list[str]:
        path.write_text("\n".join(mutated) + "\n")
        return audit.verify(path, **kw).problems

    edited = json.loads(lines[2])
    edited["result"] = "allow"
    assert any("edited" in p for p in check([*lines[:2], json.dumps(edited), *lines[3:]]))
    assert any("deleted" in p or "chain" in p for p in check(lines[:2] + lines[3:]))
    assert not check(lines)
    full_head = audit.verify(path).head
    assert check(lines[:-1], expect_head=full_head)  # truncation shows against the head
    assert not check(lines, expect_head=full_head)


def test_cli_refuses_before_touching_data_or_outputs(tmp_path):
    """Acceptance: `residency check`, `data prepare` and `train` refuse hk-bank-comms on the
    Shenzhen site, and any run.output_uri outside hk (or unmapped), writing nothing there."""
    from tests.unit.test_cli_and_launch import cli

    recipe = str(REPO / "recipes/pretrain/finance-hk-private-smoke.yaml")
    env = {"SOVTRAIN_CACHE": str(tmp_path / "cache")}
    checked = cli("residency", "check", recipe, "--cluster", "hk-cyberport", env=env)
    assert checked.returncode == 0, checked.stderr
    out_dir = tmp_path / "must-not-exist"
    for command in (["residency", "check"], ["data", "prepare"], ["train"]):
        refused = cli(*command, recipe, "--cluster", "gba-shenzhen",
                      "--set", f"run.output_uri={out_dir}", env=env)  # fmt: skip
        assert refused.returncode == 3, refused.stderr
        text = " ".join(refused.stderr.split())
        assert "hk-bank-comms@1" in text and "processing-region" in text, text
        assert "compute region cn-gba" in text
    for target in ("/srv/sovtrain/gba/runs/leak", "/opt/sovtrain-unmapped/run"):
        refused = cli("data", "prepare", recipe, "--cluster", "hk-cyberport",
                      "--set", f"run.output_uri={target}", env=env)  # fmt: skip
        assert refused.returncode == 3, refused.stderr
        assert "hk-bank-comms@1" in refused.stderr and not Path(target).exists()
    assert not out_dir.exists()
    # the refusals were audited on this site, in a verifiable chain
    assert audit.verify(tmp_path / "cache" / "audit" / "refusals.jsonl").denied >= 5
