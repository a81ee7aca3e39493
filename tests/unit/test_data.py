"""Synthetic corpus, tokenizer, shards and the resumable rank-sharded sampler."""

from __future__ import annotations

import numpy as np
import pytest

from sovtrain.data import shards, synth
from sovtrain.data.loader import PackedDataset, StreamSampler
from sovtrain.data.prepare import prepare
from sovtrain.data.tokenizer import load_hf, train_bpe
from sovtrain.errors import DataError
from sovtrain.recipe import load_recipe


def test_generator_is_deterministic_and_parallel():
    a = list(synth.generate("finance", 3, 20))
    b = list(synth.generate("finance", 3, 20))
    assert a == b
    assert a != list(synth.generate("finance", 4, 20))
    assert {d.lang for d in a} == {"en", "zh-Hant", "zh-Hans"}
    assert all(d.text.startswith(synth.SYNTHETIC_MARKER) for d in a)
    first = [d for d in a if d.doc_id == a[0].doc_id]
    assert len(first) == 3  # one document, three parallel renderings
    logistics = list(synth.generate("logistics", 3, 5))
    assert all(d.domain == "logistics" for d in logistics)


ROUND_TRIP = [
    "The Hang Seng Index rose 1.25% to 19,873 points.",
    "恒生指數上升1.25%，收報19,873點。滙豐、銀行、證券",
    "恒生指数上升1.25%，收报19,873点。汇丰、银行、证券",
    "Emoji 📈💹🚢 and symbols ©®™ — “quotes” …",
    "Mixed 混合 text: HKD 3.2億 港元, 人民币 ¥, tab\tand\nnewline  double  spaces",
    "",
]


@pytest.fixture(scope="module")
def bpe():
    texts = [d.text for d in synth.generate("finance", 1, 300)]
    return train_bpe(texts, 600, ["<|endoftext|>", "<|pad|>"])


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_tokenizer_round_trips_exactly(bpe, text):
    assert bpe.decode(bpe.encode(text).ids) == text


def test_prepare_writes_loadable_tokenizer_and_verified_shards(tiny_recipe):
    recipe = load_recipe(tiny_recipe).recipe
    prepared = prepare(recipe, show_progress=False)
    assert not prepared.reused
    tok = load_hf(prepared.tokenizer_uri)  # transformers.AutoTokenizer from a local dir
    for text in ROUND_TRIP:
        assert tok.decode(tok.encode(text)) == text
    manifest = prepared.manifest
    assert manifest["dtype"] == "<u2"
    shards.verify_shards(prepared.shards_uri, manifest)
    train = PackedDataset(prepared.shards_uri, "train")
    assert len(train) == shards.summarize(manifest["shards"], "train") > 0
    row = train.rows(np.array([0]))[0]
    assert row.shape == (recipe.train.seq_len,) and row.max() < manifest["vocab_size"]
    # incremental: same inputs -> nothing rebuilt
    assert prepare(recipe, show_progress=False).reused


def test_corrupted_shard_is_detected_and_named(tiny_recipe):
    recipe = load_recipe(tiny_recipe).recipe
    prepared = prepare(recipe, show_progress=False)
    victim = prepared.manifest["shards"][0]["name"]
    path = tiny_recipe.parent / "run" / "data" / "shards" / victim
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=victim):
        shards.verify_shards(prepared.shards_uri, prepared.manifest)
    assert not prepare(recipe, show_progress=False).reused  # rebuilt, not trusted


def _stream(sampler: StreamSampler, steps: int) -> list[list[int]]:
    return [sampler.next_indices().tolist() for _ in range(steps)]


def test_sampler_resume_equals_uninterrupted():
    full = StreamSampler(num_rows=37, seed=5, rank=1, world_size=2, micro_batch=3)
    expected = _stream(full, 20)  # crosses several epoch boundaries
    first = StreamSampler(num_rows=37, seed=5, rank=1, world_size=2, micro_batch=3)
    head = _stream(first, 7)
    resumed = StreamSampler(37, 5, 1, 2, 3, position=first.position)
    assert head + _stream(resumed, 13) == expected


def test_ranks_read_disjoint_rows_within_an_epoch():
    samplers = [StreamSampler(40, 9, rank, 4, 2) for rank in range(4)]
    seen = [i for _ in range(5) for s in samplers for i in s.next_indices().tolist()]
    assert sorted(seen) == list(range(40))
