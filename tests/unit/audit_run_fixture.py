"""A chain of runs built by hand for the audit report tests: prepared data in hk, moved to
cn-gba under a transfer (transfer.json + both sides' transfer logs, per the issue-17
contract), a training run there with its audit log (allow and deny decisions, io-totals),
one checkpoint and an export back to hk with its model card front matter."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import yaml

from sovtrain.governance.audit import AuditLog
from sovtrain.governance.cards import load_card
from sovtrain.governance.residency import Decision
from tests.conftest import REPO, TINY_RECIPE

CARD = "hk-bank-comms"
EVIDENCE = {
    "detector": "sovtrain.data.clean.pii",
    "detector_version": "sovtrain-pii-2",
    "scanned": "final shards (decoded)",
    "types": ["bank_account", "card", "email", "hkid", "phone", "prc_id"],
    "found": {t: 0 for t in ["bank_account", "card", "email", "hkid", "phone", "prc_id"]},
    "shards": 2,
    "tokens": 4096,
    "pii_action": "mask",
}


def _decision(run: Path, action: str, purpose: str, rule: str, ok: bool, **kw: str) -> dict:
    card = kw.pop("card", "")
    return Decision(
        kw.pop("dataset", "-"), card, kw.pop("uri", str(run)), kw.pop("region", "cn-gba"),
        "cn-gba", action, purpose, rule, ok, kw.pop("reason", "test decision"),
    ).as_record()  # fmt: skip


def _prepared(root: Path, manifest: dict) -> str:
    shards = root / "shards"
    shards.mkdir(parents=True)
    (shards / "train_0000.bin").write_bytes(b"\x00" * 1024)
    text = json.dumps(manifest, sort_keys=True)
    (shards / "manifest.json").write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def build_chain(tmp: Path) -> dict:
    """Everything on disk; returns the paths and values the tests check against."""
    cards = tmp / "cards"
    shutil.copytree(REPO / "data_cards", cards)
    loaded = load_card(cards / f"{CARD}.yaml")
    ref, digest = loaded.card.ref, loaded.digest
    source, dest = tmp / "hk" / "prepared", tmp / "gba" / "prepared"
    manifest = {"shards": [{"name": "train_0000.bin"}], "deidentification": EVIDENCE}
    _prepared(source, manifest)
    manifest_digest = _prepared(dest, manifest)
    transfer_id = "tr-20261201T224000Z-1a2b3c4d"
    heads = {}
    for side, where in (("source", source), ("destination", dest)):
        log = AuditLog(where / "transfers.audit.jsonl", job="transfer")
        log.append(_decision(where, "write", "shards", "transfer-live", True, dataset=ref,
                             card=digest, uri=str(dest)))  # fmt: skip
        record = log.append({
            "kind": "transfer", "transfer_id": transfer_id, "result": "allow",
            "rule": "transfer-live", "manifest_digest": manifest_digest, "bytes": 1024,
            "destination_uri": str(dest),
        })  # fmt: skip
        heads[side] = {"log": str(where / "transfers.audit.jsonl"), "head": log.head,
                       "record_hash": record["hash"]}  # fmt: skip
        log.close()
    transfer = {
        "format": 1, "transfer_id": transfer_id, "time": "2026-12-01T22:40:00.000+00:00",
        "principal": "tester@host", "source_uri": str(source), "source_region": "hk",
        "destination_uri": str(dest), "destination_region": "cn-gba", "purpose": "processing",
        "cards": [{"id": CARD, "ref": ref, "digest": digest, "transfer": {
            "destination": "cn-gba", "mechanism": "gba-standard-contract",
            "filing_reference": "GBA-SC-2026-0417", "expires": "2027-06-30",
            "purposes": ["processing", "derived-storage"], "deidentification_required": True,
            "onward_transfer": "prohibited"}}],
        "manifest_digest": manifest_digest,
        "files": [{"path": "shards/train_0000.bin", "bytes": 1024, "sha256": "x"}],
        "bytes": 1024, "evidence": EVIDENCE, "audit": heads,
    }  # fmt: skip
    (dest / "transfer.json").write_text(json.dumps(transfer, indent=2))

    run = tmp / "gba" / "runs" / "tiny"
    run.mkdir(parents=True)
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(run)
    recipe["data"]["prepared_uri"] = str(dest)
    recipe["data"]["sources"] = [{"name": "bank", "kind": "files", "card": CARD,
                                  "uri": str(tmp / "hk" / "raw" / "*.jsonl")}]  # fmt: skip
    recipe["tracking"]["enabled"] = False
    (run / "recipe.resolved.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    ckpt = run / "checkpoints" / "step_00000004"
    log = AuditLog(run / "audit.jsonl", job="tiny")
    log.append(_decision(run, "use", "review", "card-review", True, dataset=ref, card=digest))
    log.append(_decision(run, "read", "shards", "derived-storage-region", True, dataset=ref,
                         card=digest, uri=str(dest / "shards" / "train_0000.bin")))  # fmt: skip
    log.append(_decision(run, "write", "checkpoint", "derived-storage-region", True,
                         dataset=ref, card=digest, uri=str(ckpt / "model.pt")))  # fmt: skip
    log.append(_decision(run, "read", "raw-data", "transfer-deidentified", False, dataset=ref,
                         card=digest, uri=str(tmp / "hk" / "raw" / "a.jsonl"), region="hk",
                         reason="cn-gba may process this data only de-identified"))  # fmt: skip
    for region, purpose, action, size, calls in (
        ("cn-gba", "shards", "read", 1000, 3), ("cn-gba", "checkpoint", "write", 5000, 2),
        ("cn-gba", "shards", "read", 24, 1),  # a second job's totals: summed
    ):  # fmt: skip
        log.append({"kind": "io-totals", "region": region, "purpose": purpose,
                    "action": action, "bytes": size, "calls": calls})  # fmt: skip
    log.close()
    ckpt.mkdir(parents=True)
    (ckpt / "model.pt").write_bytes(b"w" * 300)
    (ckpt / "sovtrain_state.json").write_text(json.dumps({"step": 4, "mlflow_run_id": None}))
    files = {"model.pt": {"bytes": 300, "sha256": "x"}, "sovtrain_state.json": {"bytes": 40}}
    (ckpt / "manifest.json").write_text(json.dumps({"files": files}))
    (run / "checkpoints" / "latest").write_text("step_00000004\n")

    export = tmp / "hk" / "export"
    export.mkdir(parents=True)
    front = {"sovtrain": {"step": 4, "weights_storage_regions": ["hk", "cn-gba"]}}
    (export / "README.md").write_text(f"---\n{yaml.safe_dump(front)}---\n# tiny\n")
    log = AuditLog(run / "export-audit.jsonl", job="tiny/export")
    log.append(_decision(run, "write", "export", "derived-storage-region", True, dataset=ref,
                         card=digest, uri=str(export), region="hk"))  # fmt: skip
    weights = str(export / "model.safetensors")
    log.append(_decision(run, "write", "export", "derived-storage-region", True, dataset=ref,
                         card=digest, uri=weights, region="hk"))  # fmt: skip
    log.close()
    return {"cards": cards, "run": run, "source": source, "dest": dest, "export": export,
            "ref": ref, "digest": digest, "transfer_id": transfer_id}  # fmt: skip
