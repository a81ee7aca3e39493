"""Residency against real object storage: two SeaweedFS S3 gateways standing for the HK and
the Shenzhen (cn-gba) regions' buckets, each on its own endpoint, chosen per bucket by the
policy. Allowed reads and writes go through; refused ones fail before any request is made,
whatever spelling is used, and leave nothing in either region."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator

import pytest
import yaml

import sovtrain_synth as synth
from sovtrain import storage
from sovtrain.core.errors import PolicyRefused, StorageError
from sovtrain.data.prepare import prepare
from sovtrain.governance.admission import enforce
from sovtrain.governance.audit import verify
from sovtrain.recipe import load_recipe
from tests.conftest import REPO, TINY_RECIPE, write_recipe
from tests.integration.servers import S3Endpoint, seaweedfs_s3

pytestmark = pytest.mark.slow
LINEAGE = ("hk-bank-comms",)


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("two-regions")
    with (
        seaweedfs_s3(tmp / "weed-hk") as hk,
        seaweedfs_s3(tmp / "weed-gba") as gba,
        pytest.MonkeyPatch.context() as mp,
    ):
        for var in ("AWS_ENDPOINT_URL", "SOVTRAIN_S3_ENDPOINT", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            mp.delenv(var, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", hk.access_key)
        mp.setenv("AWS_SECRET_ACCESS_KEY", hk.secret_key)
        mp.setenv("AWS_DEFAULT_REGION", hk.region)
        hk.client().create_bucket(Bucket="sovtrain-hk")
        gba.client().create_bucket(Bucket="sovtrain-gba")
        cards = tmp / "cards"
        shutil.copytree(REPO / "data_cards", cards)
        policy = yaml.safe_load((cards / "residency.yaml").read_text())
        for mapping in policy["storage"]:
            if mapping["prefix"] == "s3://sovtrain-hk":
                mapping["endpoint_url"] = hk.endpoint
            if mapping["prefix"] == "s3://sovtrain-gba":
                mapping["endpoint_url"] = gba.endpoint
        (cards / "residency.yaml").write_text(yaml.safe_dump(policy))
        mp.setenv("SOVTRAIN_CARDS_DIR", str(cards))
        mp.setenv("SOVTRAIN_CACHE", str(tmp / "cache"))
        yield {"hk": hk, "gba": gba, "tmp": tmp}
        storage.clear_guards()
        storage.set_endpoints({})


def _keys(server: S3Endpoint, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _buckets(server: S3Endpoint) -> list[str]:
    return sorted(b["Name"] for b in server.client().list_buckets()["Buckets"])


def test_allowed_prepare_reads_and_writes_the_hk_bucket_only(regions):
    hk, gba = regions["hk"], regions["gba"]
    rows = [{"text": d.text} for d in synth.generate("finance", 3, 300, ["en", "zh-Hant"])]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    hk.client().put_object(Bucket="sovtrain-hk", Key="raw/part-0.jsonl", Body=body.encode())
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = "s3://sovtrain-hk/runs/tiny"
    recipe["data"]["sources"] = [{
        "name": "bank", "kind": "files", "domain": "finance", "card": "hk-bank-comms",
        "uri": "s3://sovtrain-hk/raw/*.jsonl",
    }]  # fmt: skip
    loaded = load_recipe(write_recipe(regions["tmp"] / "private.yaml", recipe)).recipe
    admission = enforce(loaded, "hk-cyberport", "it")
    prepared = prepare(loaded, show_progress=False)
    assert prepared.shards_uri == "s3://sovtrain-hk/runs/tiny/data/shards"
    assert any(k.startswith("runs/tiny/data/shards/") for k in _keys(hk, "sovtrain-hk"))
    assert _keys(gba, "sovtrain-gba") == []
    records = [json.loads(x) for x in admission.audit.path.read_text().splitlines()]
    reads = [r for r in records if r["purpose"] == "raw-data" and r["action"] == "read"]
    assert reads and all(r["storage_region"] == "hk" and r["result"] == "allow" for r in reads)
    assert verify(admission.audit.path).ok


@pytest.mark.parametrize(
    "uri",
    [
        "s3://sovtrain-gba/runs/x.bin",
        "s3a://sovtrain-gba/runs/x.bin",
        "S3://sovtrain-gba/runs/x.bin",
        "s3://sovtrain-gba//runs/./x.bin",
        "s3://sovtrain-hk/../sovtrain-gba/runs/x.bin",
        "s3://sovtrain-hk/%2e%2e/sovtrain-gba/runs/x.bin",
        "s3://sovtrain-hk-shadow/runs/x.bin",  # unmapped bucket: default deny
        "s3://SOVTRAIN-HK/runs/x.bin",  # not the mapped bucket name
    ],
)
def test_writes_outside_the_allowed_region_are_refused_and_leave_nothing(regions, uri):
    hk, gba = regions["hk"], regions["gba"]
    before = _keys(hk, "sovtrain-hk")
    with pytest.raises(PolicyRefused, match="hk-bank-comms@1") as err:
        storage.write_bytes_atomic(uri, b"customer records", purpose="checkpoint", lineage=LINEAGE)
    message = str(err.value)
    assert "derived-storage-region" in message or "mapped-location" in message
    assert "compute region hk" in message
    assert _keys(gba, "sovtrain-gba") == []
    assert _keys(hk, "sovtrain-hk") == before
    assert _buckets(hk) == ["sovtrain-hk"] and _buckets(gba) == ["sovtrain-gba"]


def test_reads_from_the_wrong_region_and_chained_urls_are_refused(regions):
    gba = regions["gba"]
    gba.client().put_object(Bucket="sovtrain-gba", Key="raw/other.jsonl", Body=b"{}\n")
    with pytest.raises(PolicyRefused, match="storage-region"):
        storage.read_bytes("s3://sovtrain-gba/raw/other.jsonl", purpose="raw-data", lineage=LINEAGE)
    with pytest.raises(StorageError, match="chained"):
        storage.read_bytes("simplecache::s3://sovtrain-gba/raw/other.jsonl", purpose="raw-data")
    gba.client().delete_object(Bucket="sovtrain-gba", Key="raw/other.jsonl")


def test_allowed_write_and_read_round_trip_on_the_hk_endpoint(regions):
    uri = "s3://sovtrain-hk/runs/tiny/notes/ok.txt"
    storage.write_text_atomic(uri, "stays in hk", purpose="artifact", lineage=LINEAGE)
    assert storage.read_text(uri, purpose="artifact", lineage=LINEAGE) == "stays in hk"
    assert "runs/tiny/notes/ok.txt" in _keys(regions["hk"], "sovtrain-hk")
