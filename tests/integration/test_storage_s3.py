"""sovtrain.storage against a real S3 endpoint (SeaweedFS on loopback, signed requests).

Everything below goes through `sovtrain.storage`; only the fixture talks to S3 directly, to
create the bucket (storage has no bucket call on purpose: buckets are provisioned, not made
by training runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sovtrain import storage
from tests.integration.servers import seaweedfs_s3

pytestmark = pytest.mark.slow

BUCKET = "sovtrain-it"
PURPOSE = "artifact"


@pytest.fixture(scope="module")
def s3_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`s3://BUCKET` on a fresh server, with the endpoint and credentials in the environment."""
    with (
        seaweedfs_s3(tmp_path_factory.mktemp("seaweedfs")) as server,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        mp.setenv("SOVTRAIN_S3_ENDPOINT", server.endpoint)
        mp.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        mp.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        mp.setenv("AWS_DEFAULT_REGION", server.region)
        server.client().create_bucket(Bucket=BUCKET)
        yield f"s3://{BUCKET}"


def test_write_read_round_trip(s3_base: str) -> None:
    uri = f"{s3_base}/roundtrip/blob.bin"
    payload = bytes(range(256)) * 64
    assert not storage.exists(uri, purpose=PURPOSE)
    storage.write_bytes_atomic(uri, payload, purpose=PURPOSE)
    assert storage.exists(uri, purpose=PURPOSE)
    assert storage.read_bytes(uri, purpose=PURPOSE) == payload
    assert storage.size(uri, purpose=PURPOSE) == len(payload)
    # Overwrite: a second PUT replaces the object whole.
    storage.write_text_atomic(uri, "v2", purpose=PURPOSE)
    assert storage.read_text(uri, purpose=PURPOSE) == "v2"


def test_exists_and_listdir(s3_base: str) -> None:
    base = f"{s3_base}/listing"
    assert storage.listdir(base, purpose=PURPOSE) == []
    for rel in ("a.txt", "b.txt", "sub/c.txt"):
        storage.write_text_atomic(f"{base}/{rel}", rel, purpose=PURPOSE)
    assert storage.exists(base, purpose=PURPOSE)
    assert storage.exists(f"{base}/sub", purpose=PURPOSE)
    assert not storage.exists(f"{base}/missing.txt", purpose=PURPOSE)
    assert storage.listdir(base, purpose=PURPOSE) == ["a.txt", "b.txt", "sub"]
    assert storage.listdir(f"{base}/sub", purpose=PURPOSE) == ["c.txt"]
    # A write after the first listing shows up in the next one (no stale listing cache).
    storage.write_text_atomic(f"{base}/d.txt", "d", purpose=PURPOSE)
    assert storage.listdir(base, purpose=PURPOSE) == ["a.txt", "b.txt", "d.txt", "sub"]


def test_put_dir_get_dir_round_trip(s3_base: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = {
        "config.json": b'{"a": 1}',
        "shards/000.bin": b"\x00\x01" * 1000,
        "shards/001.bin": b"\x02\x03" * 1000,
        "deep/er/still/x.txt": b"x",
    }
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)

    uri = f"{s3_base}/tree/ckpt-1"
    storage.put_dir(src, uri, purpose=PURPOSE)
    assert storage.listdir(uri, purpose=PURPOSE) == ["config.json", "deep", "shards"]
    assert storage.read_bytes(f"{uri}/shards/001.bin", purpose=PURPOSE) == files["shards/001.bin"]

    dest = tmp_path / "dest"
    storage.get_dir(uri, dest, purpose=PURPOSE)
    got = {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert got == files

    with storage.local_dir(uri, purpose=PURPOSE) as copy:  # remote: a temporary copy
        assert copy.name == "ckpt-1"  # checkpoint tags (zero_to_fp32) follow the last part
        got = {p.relative_to(copy).as_posix(): p.read_bytes() for p in copy.rglob("*")
               if p.is_file()}  # fmt: skip
        assert got == files
    assert not copy.exists()


def test_remove_recursive(s3_base: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "one.txt").write_text("1")
    (src / "inner" / "two.txt").write_text("2")
    base = f"{s3_base}/removal"
    storage.put_dir(src, f"{base}/doomed", purpose=PURPOSE)
    storage.write_text_atomic(f"{base}/kept.txt", "kept", purpose=PURPOSE)
    assert storage.listdir(base, purpose=PURPOSE) == ["doomed", "kept.txt"]

    storage.remove(f"{base}/doomed", purpose=PURPOSE, recursive=True)
    assert not storage.exists(f"{base}/doomed/one.txt", purpose=PURPOSE)
    assert not storage.exists(f"{base}/doomed/inner/two.txt", purpose=PURPOSE)
    assert storage.read_text(f"{base}/kept.txt", purpose=PURPOSE) == "kept"
    # No assertion on `exists(base/doomed)` / `listdir(base)` (nor `get_dir` of it) here:
    # SeaweedFS keeps emptied directories as common prefixes until its background cleaner
    # (30 s ticks, one level per pass) drops them, where AWS S3 forgets the prefix at once.
    # Callers must not treat a listed prefix as proof that objects lie under it.
    assert "kept.txt" in storage.listdir(base, purpose=PURPOSE)
    # Removing what is already gone is a no-op, not an error.
    storage.remove(f"{base}/doomed", purpose=PURPOSE, recursive=True)
    storage.remove(f"{base}/kept.txt", purpose=PURPOSE)
    assert not storage.exists(f"{base}/kept.txt", purpose=PURPOSE)


def test_canonical_uri_names_the_same_object(s3_base: str) -> None:
    dotted = f"{s3_base}/canon/a/../b"
    plain = f"{s3_base}/canon/b"
    assert storage.canonical_uri(dotted) == plain
    assert storage.canonical_uri(f"s3a://{BUCKET}/canon/%2E%2E/canon/./b") == plain

    storage.write_bytes_atomic(dotted, b"written-dotted", purpose=PURPOSE)
    assert storage.read_bytes(plain, purpose=PURPOSE) == b"written-dotted"
    storage.write_bytes_atomic(plain, b"written-plain", purpose=PURPOSE)
    assert storage.read_bytes(dotted, purpose=PURPOSE) == b"written-plain"
    # The dotted spelling never became an object or a prefix of its own.
    assert storage.listdir(f"{s3_base}/canon", purpose=PURPOSE) == ["b"]


def test_prepared_shards_on_s3_read_through_a_verified_local_cache(
    s3_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`data prepare` writes tokenizer + shards to S3; the loader reads them back through
    the local cache, byte-identical to the same preparation on local disk."""
    import copy

    import numpy as np

    from sovtrain.data.loader import PackedDataset
    from sovtrain.data.prepare import prepare
    from sovtrain.data.shards import cache_dir
    from sovtrain.data.tokenizer import load_hf
    from sovtrain.recipe.schema import Recipe
    from tests.conftest import TINY_RECIPE

    monkeypatch.setenv("SOVTRAIN_CACHE", str(tmp_path / "cache"))
    raw = copy.deepcopy(TINY_RECIPE)
    raw["data"]["prepared_uri"] = f"{s3_base}/prepared"
    remote = prepare(Recipe.model_validate(raw), show_progress=False)
    raw["data"]["prepared_uri"] = str(tmp_path / "local")
    local = prepare(Recipe.model_validate(raw), show_progress=False)

    assert remote.manifest["shards"] == local.manifest["shards"]  # same bytes, same sha256
    tok = load_hf(remote.tokenizer_uri)
    assert tok.decode(tok.encode("港元 HKD 3.2億")) == "港元 HKD 3.2億"
    for split in ("train", "heldout"):
        a, b = PackedDataset(remote.shards_uri, split), PackedDataset(local.shards_uri, split)
        everything = np.arange(len(b))
        assert len(a) == len(b) > 0
        assert np.array_equal(a.rows(everything), b.rows(everything))
    cached = sorted(p.name for p in cache_dir().rglob("*.bin"))
    assert len(cached) == len(remote.manifest["shards"])
    # re-running prepare against S3 finds the verified manifest and rebuilds nothing
    raw["data"]["prepared_uri"] = f"{s3_base}/prepared"
    assert prepare(Recipe.model_validate(raw), show_progress=False).reused


def test_file_source_glob_on_s3(s3_base: str) -> None:
    import json

    from sovtrain.data.sources import read_source
    from sovtrain.recipe.schema import FilesSource

    for part in ("part-0", "part-1"):
        lines = [json.dumps({"text": f"{part} 港元存款 doc {i}"}) for i in range(3)]
        storage.write_text_atomic(f"{s3_base}/raw/{part}.jsonl", "\n".join(lines), purpose=PURPOSE)
    storage.write_text_atomic(f"{s3_base}/raw/README.md", "not data", purpose=PURPOSE)
    source = FilesSource(name="raw", domain="finance", card="c", uri=f"{s3_base}/raw/*.jsonl")
    texts = [r.text for r in read_source(source, seed=0)]
    assert texts == [f"part-{p} 港元存款 doc {i}" for p in (0, 1) for i in range(3)]


def test_conditional_create_makes_one_writer_per_run_on_object_storage(
    s3_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run lease on S3: `If-None-Match: *` lets exactly one create succeed."""
    from sovtrain.train.lease import LEASE, RunBusy, RunLease

    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    uri = f"{s3_base}/exclusive/once.txt"
    assert storage.create_exclusive(uri, b"first", purpose=PURPOSE)
    assert not storage.create_exclusive(uri, b"second", purpose=PURPOSE)
    assert storage.read_text(uri, purpose=PURPOSE) == "first"
    run = f"{s3_base}/runs/leased"
    first = RunLease(run, "a", ttl_s=60)
    first.acquire()
    with pytest.raises(RunBusy, match="being written by run 'a'"):
        RunLease(run, "b", ttl_s=60).acquire()
    first.release()
    assert not storage.exists(f"{run}/{LEASE}", purpose=PURPOSE)
