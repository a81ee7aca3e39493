"""Bytes per region and purpose: every guarded job's audit log ends with io-totals records."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sovtrain import storage
from sovtrain.core.errors import PolicyRefused
from sovtrain.data.generate import generate_corpus
from sovtrain.data.prepare import prepare
from sovtrain.governance import admission as admission_mod
from sovtrain.governance import audit
from sovtrain.governance.admission import enforce, finish_job
from sovtrain.recipe import load_recipe
from sovtrain.train.session import publish_audit
from tests.conftest import private_recipe


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _totals(path: Path) -> dict[tuple[str, str, str], tuple[int, int]]:
    return {(r["region"], r["purpose"], r["action"]): (r["bytes"], r["calls"])
            for r in _records(path) if r.get("kind") == "io-totals"}  # fmt: skip


def _sizes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_guarded_storage_calls_are_totalled_by_region_purpose_and_action(world, tmp_path):
    hk = world["hk"]
    admission = enforce(load_recipe(private_recipe(world)).recipe, "site-hk", "test")
    run = hk / "runs" / "tiny"
    storage.write_bytes_atomic(str(run / "a.bin"), b"x" * 1000, purpose="artifact")
    storage.write_text_atomic(str(run / "b.txt"), "héllo", purpose="artifact")  # 6 bytes
    with storage.open_uri(str(run / "c.bin"), "wb", purpose="artifact") as handle:
        handle.write(b"y" * 300)
    assert len(storage.read_bytes(str(run / "a.bin"), purpose="artifact")) == 1000
    with storage.open_uri(str(run / "c.bin"), "rb", purpose="artifact") as handle:
        handle.read(10)  # a stream read counts the file's size at open
    stage = tmp_path / "stage"
    (stage / "sub").mkdir(parents=True)
    (stage / "w.bin").write_bytes(b"w" * 4096)
    (stage / "sub" / "v.bin").write_bytes(b"v" * 123)
    storage.put_dir(stage, str(run / "ckpt"), purpose="checkpoint")
    storage.get_dir(str(run / "ckpt"), tmp_path / "copy", purpose="checkpoint")
    with storage.local_dir(str(run / "ckpt"), purpose="checkpoint") as local:
        assert local == run / "ckpt"  # in place: its files counted once
    assert storage.exists(str(run / "a.bin"), purpose="artifact")
    with pytest.raises(PolicyRefused):  # refused: no I/O, not counted
        storage.write_bytes_atomic(str(world["gba"] / "x"), b"z" * 99, purpose="artifact")
    finish_job()
    totals = _totals(admission.audit.path)
    assert totals[("hk", "artifact", "write")] == (1000 + 6 + 300, 3)
    assert totals[("hk", "artifact", "read")] == (1000 + 300, 3)  # exists: a call, 0 bytes
    assert totals[("hk", "checkpoint", "write")] == (4096 + 123, 2)
    assert totals[("hk", "checkpoint", "read")] == (2 * (4096 + 123), 2)
    assert not any(region == "cn-gba" for region, _, _ in totals)
    records = _records(admission.audit.path)
    kinds = [r.get("kind") for r in records]
    assert kinds[-len(totals) :] == ["io-totals"] * len(totals)  # appended once, at the end
    assert all("kind" not in r for r in records[: -len(totals)])  # decisions have no kind
    assert audit.verify(admission.audit.path).ok
    finish_job()  # once: a second flush adds nothing
    assert len(_records(admission.audit.path)) == len(records)


def test_guarded_prepare_totals_equal_the_files_written(world):
    hk = world["hk"]
    generate_corpus("hk-bank-comms", str(hk / "raw"), 7, 120, None)
    recipe = load_recipe(private_recipe(world)).recipe
    admission = enforce(recipe, "site-hk", "tiny/prepare")
    prepared = prepare(recipe, show_progress=False)
    assert prepared.manifest["deidentification"]["found"]["hkid"] == 0  # masked by default
    finish_job()
    totals = _totals(admission.audit.path)
    shard_dir, tok_dir = Path(prepared.shards_uri), Path(prepared.tokenizer_uri)
    assert totals[("hk", "shards", "write")][0] == _sizes(shard_dir)
    assert totals[("hk", "tokenizer", "write")][0] == _sizes(tok_dir)
    raw = _sizes(hk / "raw")
    assert totals[("hk", "raw-data", "read")][0] == raw
    bins = sum(p.stat().st_size for p in shard_dir.glob("*.bin"))
    assert totals[("hk", "shards", "read")][0] == bins  # the evidence scan maps each once
    verified = audit.verify(admission.audit.path)
    assert verified.ok, verified.problems


def test_training_publishes_a_head_that_covers_the_totals(world):
    hk = world["hk"]
    admission = enforce(load_recipe(private_recipe(world)).recipe, "site-hk", "tiny")
    storage.write_bytes_atomic(str(hk / "runs/tiny/x.bin"), b"x" * 77, purpose="checkpoint")
    tags: dict[str, str] = {}
    tracker = SimpleNamespace(set_tags=tags.update, log_file=lambda path, folder: None)
    session = SimpleNamespace(admission=admission, ctx=SimpleNamespace(is_main=True),
                              tracker=tracker)  # fmt: skip
    publish_audit(session)  # type: ignore[arg-type]
    path = admission.audit.path
    assert _totals(path)[("hk", "checkpoint", "write")] == (77, 1)
    assert _records(path)[-1]["kind"] == "io-totals"
    assert audit.verify(path, expect_head=tags["audit.head"]).ok  # the head covers them


def test_a_replaced_guard_closes_its_totals_first(world):
    first = enforce(load_recipe(private_recipe(world)).recipe, "site-hk", "one")
    storage.write_bytes_atomic(str(world["hk"] / "runs/tiny/x"), b"1234", purpose="artifact")
    guard = admission_mod._INSTALLED
    recipe = load_recipe(private_recipe(world, output_uri=str(world["hk"] / "runs/two"))).recipe
    enforce(recipe, "site-hk", "two")
    assert guard is not None and guard.io.flushed
    assert _totals(first.audit.path)[("hk", "artifact", "write")] == (4, 1)


def test_a_cli_job_appends_its_totals_at_exit(world):
    """`data prepare` / `eval` install the guard and end with the process: atexit flushes."""
    from tests.conftest import run_python

    recipe = private_recipe(world)
    target = world["hk"] / "runs" / "tiny" / "out.bin"
    run_python(
        "import sys\n"
        "from sovtrain import storage\n"
        "from sovtrain.governance.admission import enforce\n"
        "from sovtrain.recipe import load_recipe\n"
        "enforce(load_recipe(sys.argv[1]).recipe, 'site-hk', 'tiny/prepare')\n"
        "storage.write_bytes_atomic(sys.argv[2], b'x' * 321, purpose='shards')\n",
        str(recipe), str(target),
    )  # fmt: skip
    log = world["hk"] / "runs" / "tiny" / "audit.jsonl"
    assert _totals(log)[("hk", "shards", "write")] == (321, 1)
    assert audit.verify(log).ok
