"""De-identification evidence: the detector over the final shards, decoded, in the manifest."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from sovtrain.data import deid, shards
from sovtrain.data.clean import pii
from sovtrain.data.prepare import prepare
from sovtrain.data.tokenizer import load_hf, train_bpe
from sovtrain.recipe import load_recipe
from tests.conftest import TINY_RECIPE, write_recipe

# valid identifiers (check digits hold), one per detector type the corpus may not cover
PII_TEXT = (
    "Customer A123456(3) asked us to call 9123 4567 or write to chan.tai.man@example.com; "
    "card 4111 1111 1111 1111 was blocked."
)


def _bank_recipe(tmp_path: Path, action: str) -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    recipe["data"]["prepared_uri"] = str(tmp_path / f"prepared-{action}")
    recipe["data"]["sources"] = [{
        "name": "bank", "kind": "synthetic", "domain": "finance", "corpus": "hk-bank-comms",
        "card": "synthetic-finance-bilingual", "documents": 150,
    }]  # fmt: skip
    recipe["data"]["cleaning"] = {"pii": {"action": action}, "dedup_exact": False,
                                  "near_dup": {"enabled": False}}  # fmt: skip
    return write_recipe(tmp_path / f"bank-{action}.yaml", recipe)


def _independent_count(prepared) -> dict[str, int]:
    """The detector over each bucket's shard files read straight off disk and decoded as
    one text per bucket: what the evidence must equal."""
    manifest = prepared.manifest
    fast = load_hf(prepared.tokenizer_uri)
    streams: dict[tuple[str, str], list[int]] = {}
    for shard in sorted(manifest["shards"], key=lambda s: s["name"]):
        raw = Path(prepared.shards_uri, shard["name"]).read_bytes()
        ids = np.frombuffer(raw, dtype=np.dtype(manifest["dtype"])).tolist()
        streams.setdefault((shard["split"], shard["bucket"]), []).extend(ids)
    found = dict.fromkeys(deid.TYPES, 0)
    for ids in streams.values():
        text = fast.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        for name, n in pii.find_and_mask(text, deid.TYPES, mask=False).found.items():
            found[name] += n
    return found


@pytest.fixture(scope="module")
def masked_and_kept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deid")
    return {
        action: prepare(load_recipe(_bank_recipe(tmp, action)).recipe, show_progress=False)
        for action in ("mask", "keep")
    }


def test_masked_preparation_finds_nothing(masked_and_kept):
    evidence = masked_and_kept["mask"].manifest["deidentification"]
    assert evidence["detector"] == "sovtrain.data.clean.pii"
    assert evidence["detector_version"] == pii.DETECTOR_VERSION
    assert evidence["scanned"] == "final shards (decoded)"
    assert evidence["types"] == sorted(pii.DETECTORS)
    assert evidence["found"] == dict.fromkeys(sorted(pii.DETECTORS), 0)
    assert evidence["pii_action"] == "mask"
    manifest = masked_and_kept["mask"].manifest
    assert evidence["shards"] == len(manifest["shards"])
    assert evidence["tokens"] == sum(s["sequences"] for s in manifest["shards"]) * 64
    # the cleaner did find PII: the zeros are the masking's doing, not an empty corpus
    assert sum(manifest["cleaning_report"]["pii_found"].values()) > 0


def test_kept_pii_is_counted_as_the_detector_finds_it(masked_and_kept):
    prepared = masked_and_kept["keep"]
    evidence = prepared.manifest["deidentification"]
    assert evidence["pii_action"] == "keep"
    assert evidence["found"] == _independent_count(prepared)
    cleaned = prepared.manifest["cleaning_report"]["pii_found"]
    for name in ("hkid", "phone", "email", "card"):
        assert evidence["found"][name] > 0, name
        # at most what the cleaner saw in the cleaned text (the tail < one row is dropped)
        assert evidence["found"][name] <= cleaned[name], name
    assert sum(evidence["found"].values()) >= 0.9 * sum(cleaned.values())


def test_evidence_is_covered_by_the_manifest_digest(masked_and_kept):
    prepared = masked_and_kept["mask"]
    text = Path(prepared.shards_uri, shards.MANIFEST).read_bytes()
    assert hashlib.sha256(text).hexdigest() == prepared.manifest_digest
    assert json.loads(text)["deidentification"] == prepared.manifest["deidentification"]


def _one_bucket(tmp_path: Path, bpe, text: str, seq_len: int, rows_per_shard: int) -> dict:
    """Shards of one bucket holding `text` (EOS-terminated), cut every `seq_len` tokens."""
    eos = bpe.token_to_id("<|endoftext|>")
    ids = [*bpe.encode(text).ids, eos]
    writer = shards.ShardWriter(str(tmp_path), "train", "finance/en", seq_len,
                                np.dtype("<u2"), rows_per_shard)  # fmt: skip
    writer.add(ids, "s", "en")
    writer.add([eos] * seq_len, "s", "en")  # flushes the text's last row
    return {"seq_len": seq_len, "dtype": "<u2", "eos_id": eos, "shards": writer.close()}


@pytest.mark.parametrize("rows_per_shard", [1, 64])  # split by a file, or by a row
def test_pii_split_by_a_row_or_shard_boundary_is_found(tmp_path, rows_per_shard):
    bpe = train_bpe([PII_TEXT * 3, "filler text 12345"] * 20, 300, ["<|endoftext|>"])
    manifest = _one_bucket(tmp_path, bpe, PII_TEXT, 8, rows_per_shard)
    assert (len(manifest["shards"]) == 1) == (rows_per_shard == 64)
    evidence = deid.scan_shards(str(tmp_path), manifest, bpe, "keep", show_progress=False)
    expected = pii.find_and_mask(PII_TEXT, deid.TYPES, mask=False).found
    assert expected == {"hkid": 1, "phone": 1, "email": 1, "card": 1}
    assert {k: v for k, v in evidence["found"].items() if v} == expected
    # the rows really do cut through identifiers: scanned row by row, some are missed
    per_row = dict.fromkeys(deid.TYPES, 0)
    for shard in manifest["shards"]:
        rows = shards.shard_rows(str(tmp_path), shard, 8, np.dtype("<u2"))
        for row in rows:
            found = pii.find_and_mask(bpe.decode(row.tolist(), skip_special_tokens=False),
                                      deid.TYPES, mask=False).found  # fmt: skip
            for name, n in found.items():
                per_row[name] += n
    assert sum(per_row.values()) < sum(expected.values())


def test_chat_rows_decode_channel_zero_without_padding(tmp_path):
    bpe = train_bpe([PII_TEXT * 3] * 20, 300, ["<|endoftext|>", "<|pad|>"])
    pad = bpe.token_to_id("<|pad|>")
    ids = bpe.encode(PII_TEXT).ids
    seq_len = len(ids) + 5
    row = np.zeros((3, seq_len), dtype=np.int64)
    row[0] = ids + [pad] * 5
    row[1, : len(ids)] = 1
    row[2] = list(range(len(ids))) + list(range(5))
    writer = shards.ShardWriter(str(tmp_path), "train", "finance/en", seq_len * 3,
                                np.dtype("<u2"), 4)  # fmt: skip
    for _ in range(2):
        writer.add_row(row, "s", "en", 1, len(ids))
    manifest = {"seq_len": seq_len, "channels": 3, "dtype": "<u2", "pad_id": pad,
                "shards": writer.close()}  # fmt: skip
    evidence = deid.scan_shards(str(tmp_path), manifest, bpe, "keep", show_progress=False)
    assert evidence["tokens"] == 2 * len(ids)
    assert evidence["found"]["email"] == 2 and evidence["found"]["hkid"] == 2


def test_chat_preparation_records_evidence_over_channel_zero(foreign_base, tmp_path):
    """SFT: chat examples are not cleaned, so PII in them shows in the evidence, each
    example counted once (padding skipped, every row decoded)."""
    from tests.unit.test_base_tokenizer import _jsonl, _recipe

    chat = [{"role": "user", "content": f"Please update my details: {PII_TEXT}"},
            {"role": "assistant", "content": "Done."}]  # fmt: skip
    rows = [{"id": f"ex{i}", "messages": chat} for i in range(40)]
    source = {"kind": "chat-files", "name": "chats", "domain": "finance",
              "card": "synthetic-finance-bilingual",
              "uri": str(_jsonl(tmp_path / "chats.jsonl", rows))}  # fmt: skip
    recipe = _recipe(tmp_path, foreign_base, [source], finetune={"packing": False},
                     train={"seq_len": 256})  # fmt: skip
    prepared = prepare(recipe, show_progress=False)
    assert prepared.manifest["truncated_examples"] == 0  # so every row ends in padding
    evidence = prepared.manifest["deidentification"]
    examples = sum(s["sequences"] for s in prepared.manifest["shards"])  # one per row
    assert examples == 40
    for name in ("hkid", "phone", "email", "card"):
        assert evidence["found"][name] == examples, name
    assert 0 < evidence["tokens"] < examples * 256  # padding is not scanned
    assert evidence["shards"] == len(prepared.manifest["shards"])
