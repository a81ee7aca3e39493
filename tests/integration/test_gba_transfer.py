"""The GBA split end to end on two real S3 endpoints (SeaweedFS), an MLflow server and the
real CLI: prepare hk-bank-comms-deid in Hong Kong with PII masked, transfer the shards to the
Shenzhen bucket under the card's filed GBA transfer, train there, export the weights home.
Then each refusal the issue names, each copying nothing."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

import sovtrain_synth as synth
from sovtrain.governance.audit import verify
from sovtrain.governance.cards import approve
from tests.conftest import REPO, TINY_RECIPE
from tests.integration.servers import S3Endpoint, mlflow_server, seaweedfs_s3

pytestmark = pytest.mark.slow
CARD = "hk-bank-comms-deid"
HK_PREP = "s3://sovtrain-hk/prepared/bank"
GBA_PREP = "s3://sovtrain-gba/prepared/bank"


@pytest.fixture(scope="module")
def gba(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("gba-split")
    with (
        seaweedfs_s3(tmp / "weed-hk") as hk,
        seaweedfs_s3(tmp / "weed-gba") as sz,
        mlflow_server(tmp / "mlflow") as url,
    ):
        hk.client().create_bucket(Bucket="sovtrain-hk")
        sz.client().create_bucket(Bucket="sovtrain-gba")
        cards = tmp / "cards"
        shutil.copytree(REPO / "data_cards", cards)
        policy = yaml.safe_load((cards / "residency.yaml").read_text())
        for mapping in policy["storage"]:
            endpoint = {"s3://sovtrain-hk": hk, "s3://sovtrain-gba": sz}.get(mapping["prefix"])
            if endpoint is not None:
                mapping["endpoint_url"] = endpoint.endpoint
        (cards / "residency.yaml").write_text(yaml.safe_dump(policy))
        clusters = tmp / "clusters"
        clusters.mkdir()
        for name, region in (("site-hk", "hk"), ("site-gba", "cn-gba")):
            profile = {"name": name, "region": region, "scheduler": "none"}
            (clusters / f"{name}.yaml").write_text(yaml.safe_dump(profile))
        env = {
            "SOVTRAIN_CARDS_DIR": str(cards), "SOVTRAIN_CLUSTERS_DIR": str(clusters),
            "SOVTRAIN_CACHE": str(tmp / "cache"), "AWS_ACCESS_KEY_ID": hk.access_key,
            "AWS_SECRET_ACCESS_KEY": hk.secret_key, "AWS_DEFAULT_REGION": hk.region,
        }  # fmt: skip
        rows = [{"text": d.text} for d in synth.generate("hk-bank-comms", 5, 240, ["en"])]
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        hk.client().put_object(Bucket="sovtrain-hk", Key="raw/bank/part-0.jsonl",
                               Body=body.encode())  # fmt: skip
        world = {"tmp": tmp, "hk": hk, "gba": sz, "url": url, "env": env, "cards": cards}
        _ok(_cli(world, "data", "prepare", str(_recipe(world, "prep", HK_PREP, "hk")),
                 "--cluster", "site-hk"))  # fmt: skip
        world["transfer"] = _cli(world, "data", "transfer", HK_PREP, GBA_PREP, "--card", CARD,
                                 "--cluster", "site-hk")  # fmt: skip
        world["train"] = _cli(world, "train", str(_recipe(world, "train", GBA_PREP, "gba")),
                              "--cluster", "site-gba")  # fmt: skip
        world["export"] = _cli(world, "export", "s3://sovtrain-gba/runs/train",
                               "s3://sovtrain-hk/models/bank", "--format", "hf",
                               "--cluster", "site-gba")  # fmt: skip
        yield world


def _cli(world: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **world["env"]}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT",
                "AWS_ENDPOINT_URL", "SOVTRAIN_S3_ENDPOINT", "AWS_PROFILE"):  # fmt: skip
        env.pop(var, None)
    command = [sys.executable, "-m", "sovtrain.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr[-4000:]}"
    return result


def _recipe(world: dict, name: str, prepared: str, side: str, **cleaning) -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    bucket = {"hk": "sovtrain-hk", "gba": "sovtrain-gba"}[side]
    recipe["run"].update(name=name, output_uri=f"s3://{bucket}/runs/{name}")
    recipe["data"]["sources"] = [{
        "name": "bank", "kind": "files", "domain": "finance", "card": CARD,
        "uri": "s3://sovtrain-hk/raw/bank/*.jsonl",
    }]  # fmt: skip
    recipe["data"]["prepared_uri"] = prepared
    recipe["data"]["cleaning"] = {"pii": {"action": "mask"}, **cleaning}
    recipe["tokenizer"]["fertility_report"] = False
    recipe["train"].update(max_steps=4)
    recipe["checkpoint"]["interval_steps"] = 2
    recipe["tracking"]["uri"] = world["url"]
    path = world["tmp"] / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def _keys(server: S3Endpoint, bucket: str, prefix: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _object(server: S3Endpoint, bucket: str, key: str) -> bytes:
    return server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def _verified_chain(world: dict, server: S3Endpoint, bucket: str, key: str, name: str):
    path = world["tmp"] / f"{name}.jsonl"
    path.write_bytes(_object(server, bucket, key))
    result = verify(path)
    assert result.ok, (name, result)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_prepare_in_hk_transfer_train_in_gba_export_home(gba):
    hk, sz = gba["hk"], gba["gba"]
    _ok(gba["transfer"])
    manifest = json.loads(_object(hk, "sovtrain-hk", "prepared/bank/shards/manifest.json"))
    evidence = manifest["deidentification"]
    assert evidence["pii_action"] == "mask" and set(evidence["found"].values()) == {0}
    record = json.loads(_object(sz, "sovtrain-gba", "prepared/bank/transfer.json"))
    (entry,) = record["cards"]
    assert entry["id"] == CARD and entry["transfer"]["mechanism"] == "gba-standard-contract"
    assert record["source_region"] == "hk" and record["destination_region"] == "cn-gba"
    assert record["evidence"] == evidence
    copied = {f["path"] for f in record["files"]}
    assert copied == {k.removeprefix("prepared/bank/")
                      for k in _keys(sz, "sovtrain-gba", "prepared/bank/")} - {
        "transfer.json", "transfers.audit.jsonl"}  # fmt: skip
    # both sides' audit chains verify and hold the transfer with the manifest digest
    sides = ((hk, "sovtrain-hk", "source"), (sz, "sovtrain-gba", "destination"))
    for server, bucket, side in sides:
        records = _verified_chain(gba, server, bucket, "prepared/bank/transfers.audit.jsonl", side)
        (summary,) = [r for r in records if r.get("kind") == "transfer"]
        assert summary["result"] == "allow"
        assert summary["manifest_digest"] == record["manifest_digest"]
        assert summary["hash"] == record["audit"][side]["record_hash"]
    # trained in cn-gba on the transferred shards: no raw read, the transfer in MLflow
    _ok(gba["train"])
    assert "used as transferred" in gba["train"].stderr
    client = MlflowClient(gba["url"])
    (run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id],
                                "attributes.run_name = 'train'")  # fmt: skip
    tags = run.data.tags
    assert tags["compliance.transfer.id"] == record["transfer_id"]
    assert tags["compliance.transfer.filing_reference"] == entry["transfer"]["filing_reference"]
    assert tags["compliance.transfer.audit_hash"] == record["audit"]["source"]["record_hash"]
    assert tags["compliance.compute_region"] == "cn-gba"
    # exported to hk: the card carries the transfer
    _ok(gba["export"])
    card = _object(hk, "sovtrain-hk", "models/bank/README.md").decode()
    front = yaml.safe_load(card.split("---\n")[1])
    (crossed,) = front["sovtrain"]["transfers"]
    assert crossed["id"] == record["transfer_id"] and crossed["to_region"] == "cn-gba"
    assert "## Cross-boundary transfer" in card
    assert entry["transfer"]["filing_reference"] in card
    assert set(front["sovtrain"]["weights_storage_regions"]) == {"hk", "cn-gba"}
    # the reviewer's pages: the cards report lists what crossed (ledger -> S3 transfer.json),
    # the audit report of the chain verifies every log and shows the transfer and its evidence
    report = _ok(_cli(gba, "cards", "report", "--format", "md")).stdout
    assert record["transfer_id"] in report and "GBA-SC-2026-0417" in report
    audit = _ok(_cli(gba, "audit", "report", "s3://sovtrain-hk/runs/prep",
                     "s3://sovtrain-gba/runs/train", "--strict")).stdout  # fmt: skip
    assert record["transfer_id"] in audit and "GBA-SC-2026-0417" in audit


def _refused(result: subprocess.CompletedProcess, rule: str) -> None:
    assert result.returncode == 3, result.stderr[-3000:]
    assert rule in result.stderr and "Traceback" not in result.stderr, result.stderr[-3000:]


def test_export_to_a_region_the_cards_do_not_allow_is_refused(gba):
    result = _cli(gba, "export", "s3://sovtrain-gba/runs/train", "s3://sovtrain-sg/models/bank",
                  "--format", "hf", "--cluster", "site-gba")  # fmt: skip
    _refused(result, "derived-storage-region")


def test_a_raw_source_never_crosses(gba):
    result = _cli(gba, "data", "transfer", "s3://sovtrain-hk/raw/bank",
                  "s3://sovtrain-gba/raw-leak", "--card", CARD, "--cluster", "site-hk")  # fmt: skip
    _refused(result, "prepared-only")
    assert _keys(gba["gba"], "sovtrain-gba", "raw-leak") == []


def test_a_destination_the_transfer_does_not_name_is_refused(gba, tmp_path):
    dest = tmp_path / "sg"  # mapped to sg below: a region the card files no transfer for
    policy_path = gba["cards"] / "residency.yaml"
    saved = policy_path.read_text()
    policy = yaml.safe_load(saved)
    policy["storage"].append({"prefix": str(dest), "region": "sg"})
    policy_path.write_text(yaml.safe_dump(policy))
    try:
        result = _cli(gba, "data", "transfer", HK_PREP, str(dest), "--card", CARD,
                      "--cluster", "site-hk")  # fmt: skip
    finally:
        policy_path.write_text(saved)
    _refused(result, "transfer-destination")
    assert not dest.exists() or not any(dest.iterdir())  # a mapped root may be created empty


def test_an_expired_transfer_is_refused(gba):
    path = gba["cards"] / f"{CARD}.yaml"
    saved = path.read_text()
    card = yaml.safe_load(saved)
    expires = str(card["transfers"][0]["expires"])
    path.write_text(saved.replace(expires, str(dt.date.today() - dt.timedelta(days=1))))
    approve(path, "Compliance Office", dt.date.today())
    try:
        result = _cli(gba, "data", "transfer", HK_PREP, "s3://sovtrain-gba/prepared/again",
                      "--card", CARD, "--cluster", "site-hk")  # fmt: skip
    finally:
        path.write_text(saved)
    _refused(result, "transfer-expired")
    assert _keys(gba["gba"], "sovtrain-gba", "prepared/again") == []


def test_shards_that_still_contain_pii_are_refused(gba):
    kept = "s3://sovtrain-hk/prepared/bank-kept"
    recipe = _recipe(gba, "prep-kept", kept, "hk", pii={"action": "keep"})
    _ok(_cli(gba, "data", "prepare", str(recipe), "--cluster", "site-hk"))
    result = _cli(gba, "data", "transfer", kept, "s3://sovtrain-gba/prepared/bank-kept",
                  "--card", CARD, "--cluster", "site-hk")  # fmt: skip
    _refused(result, "deid-evidence")
    assert "detectable PII" in result.stderr
    assert _keys(gba["gba"], "sovtrain-gba", "prepared/bank-kept") == []
