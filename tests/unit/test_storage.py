"""The storage door: canonical targets, atomic writes, guards that run before any I/O."""

from __future__ import annotations

import os

import pytest

from sovtrain import storage
from sovtrain.core.errors import PolicyRefused


@pytest.fixture(autouse=True)
def _no_guards():
    storage.clear_guards()
    yield
    storage.clear_guards()


def test_canonical_uri_collapses_spellings(tmp_path):
    real = tmp_path / "a" / "b"
    real.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)
    spellings = [
        str(real),
        f"file://{real}",
        f"{tmp_path}/a/./x/../b",
        str(link),
        f"file://{tmp_path}/a/%62",  # %62 == 'b'
    ]
    assert {storage.canonical_uri(s) for s in spellings} == {str(real.resolve())}
    assert storage.canonical_uri("s3://bucket/x/../y//z") == "s3://bucket/y/z"
    assert storage.canonical_uri("s3a://bucket/%2e%2e/k") == "s3://k"
    with pytest.raises(ValueError, match="chained"):
        storage.canonical_uri("simplecache::s3://bucket/k")


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "d" / "f.json"
    storage.write_text_atomic(str(target), "one", purpose="test")
    storage.write_text_atomic(str(target), "two", purpose="test")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["f.json"]


def test_guard_sees_resolved_target_and_refusal_writes_nothing(tmp_path):
    allowed = tmp_path / "hk"
    allowed.mkdir()
    seen = []

    def only_hk(access: storage.Access) -> None:
        seen.append(access)
        if access.action == "write" and not access.uri.startswith(str(allowed)):
            raise PolicyRefused(f"{access.uri} is outside hk ({access.purpose})")

    storage.add_guard(only_hk)
    storage.write_text_atomic(str(allowed / "ok.txt"), "x", purpose="test", lineage=("card",))
    sneaky = f"{allowed}/../elsewhere.txt"
    with pytest.raises(PolicyRefused, match=r"elsewhere\.txt"):
        storage.write_text_atomic(sneaky, "x", purpose="test")
    assert not (tmp_path / "elsewhere.txt").exists()
    assert seen[0].lineage == ("card",) and seen[0].purpose == "test"


def test_listdir_and_remove(tmp_path):
    for name in ("b", "a"):
        storage.write_text_atomic(str(tmp_path / "d" / name), name, purpose="test")
    assert storage.listdir(str(tmp_path / "d"), purpose="test") == ["a", "b"]
    storage.remove(str(tmp_path / "d"), purpose="test", recursive=True)
    assert storage.listdir(str(tmp_path / "d"), purpose="test") == []


def test_local_dir_is_in_place_and_still_guarded(tmp_path):
    """A local directory is used where it is (no copy of a 100 GB checkpoint), but the read
    is still put to the guards, so a refused location stays refused."""
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "w.bin").write_bytes(b"w")
    seen = []

    def no_secret(access: storage.Access) -> None:
        seen.append((access.uri, access.action, access.purpose))
        if "secret" in access.uri:
            raise PolicyRefused(f"{access.uri}: refused")

    storage.add_guard(no_secret)
    with storage.local_dir(str(tmp_path / "ckpt"), purpose="checkpoint") as local:
        assert local == tmp_path / "ckpt" and (local / "w.bin").read_bytes() == b"w"
    assert seen == [(str(tmp_path / "ckpt"), "read", "checkpoint")]
    (tmp_path / "secret").mkdir()
    with pytest.raises(PolicyRefused), storage.local_dir(str(tmp_path / "secret"), purpose="x"):
        pass
