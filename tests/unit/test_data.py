"""Synthetic corpus, tokenizer, shards and the resumable rank-sharded sampler."""

from __future__ import annotations

import numpy as np
import pytest

import sovtrain_synth as synth
from sovtrain.core.errors import DataError
from sovtrain.data import shards
from sovtrain.data.loader import PackedDataset, StreamSampler
from sovtrain.data.prepare import prepare
from sovtrain.data.tokenizer import load_hf, train_bpe
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
    # the prepare report accounts for every row read, per source
    assert manifest["source_rows"]["fin"]["rows"] == 1800  # 600 documents x 3 languages
    assert manifest["source_rows"]["fin"]["filtered"] == 0


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


def test_file_sources_jsonl_parquet_text_through_storage(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sovtrain import storage
    from sovtrain.data.sources import as_dataset, read_source
    from sovtrain.recipe.schema import FilesSource

    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [{"body": f"Filing {i}: revenue rose {i}%."} for i in range(3)]
    (raw / "a.jsonl").write_text("\n".join(__import__("json").dumps(r) for r in rows) + "\n")
    pq.write_table(pa.table({"body": ["港元存款", "人民币贷款"]}), raw / "b.parquet")
    (raw / "c.txt").write_text("first block\nstill first\n\nsecond block\n")

    def source(fmt: str, pattern: str, **kw) -> FilesSource:
        return FilesSource(name=fmt, domain="finance", card="c", uri=str(raw / pattern),
                           format=fmt, **kw)  # fmt: skip

    seen = []
    storage.add_guard(lambda access: seen.append((access.purpose, access.lineage)))
    try:
        jsonl = [r.text for r in read_source(source("jsonl", "*.jsonl", text_field="body"), 0)]
        parquet = [
            r.text for r in read_source(source("parquet", "b.parquet", text_field="body"), 0)
        ]
        text = [r.text for r in read_source(source("text", "c.txt"), 0)]
    finally:
        storage.clear_guards()
    assert jsonl == [r["body"] for r in rows]
    assert parquet == ["港元存款", "人民币贷款"]
    assert text == ["first block\nstill first", "second block\n"]
    assert ("raw-data", ("c",)) in seen  # every read went through the storage door
    assert [r.text for r in read_source(source("jsonl", "a.jsonl", text_field="body",
                                               max_documents=2), 0)] == jsonl[:2]  # fmt: skip
    with pytest.raises(DataError, match="no field 'text'"):
        list(read_source(source("jsonl", "a.jsonl"), 0))
    dataset = as_dataset(source("jsonl", "a.jsonl", text_field="body"), 0)
    assert [row["text"] for row in dataset] == jsonl


def test_row_filters_on_jsonl_and_parquet_are_counted(tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sovtrain.data.sources import read_source
    from sovtrain.recipe.schema import FilesSource

    rows = [{"text": f"note {i}", "desk": ["fx", "rates", None][i % 3], "amount": i}
            for i in range(9)]  # fmt: skip
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")

    def texts(fmt: str, filters: list[dict]) -> tuple[list[str], dict[str, int]]:
        source = FilesSource(name="s", domain="finance", card="c", format=fmt,
                             uri=str(tmp_path / f"a.{fmt}"), filters=filters)  # fmt: skip
        counts: dict[str, int] = {}
        return [r.text for r in read_source(source, 0, counts)], counts

    for fmt in ("jsonl", "parquet"):
        got, counts = texts(fmt, [{"field": "desk", "op": "==", "value": "fx"}])
        assert got == ["note 0", "note 3", "note 6"]
        assert counts == {"rows": 9, "filtered": 6}
        got, _ = texts(fmt, [{"field": "desk", "op": "not_in", "value": ["fx"]},
                             {"field": "amount", "op": ">=", "value": 4}])  # fmt: skip
        assert got == ["note 4", "note 7"]  # None desk fails: a missing field never passes
        got, _ = texts(fmt, [{"field": "text", "op": "matches", "value": r"[58]$"}])
        assert got == ["note 5", "note 8"]
    with pytest.raises(ValueError, match="needs a list"):
        FilesSource(name="s", domain="finance", card="c", uri="x",
                    filters=[{"field": "desk", "op": "in", "value": "fx"}])  # fmt: skip
    with pytest.raises(ValueError, match="filters need fields"):
        FilesSource(name="s", domain="finance", card="c", uri="x", format="text",
                    filters=[{"field": "desk", "value": "fx"}])  # fmt: skip


def test_spool_sample_spans_the_whole_corpus(tmp_path):
    from sovtrain.data.clean import Record
    from sovtrain.data.spool import Spool

    spool = Spool(str(tmp_path / "spool.jsonl"), 0.1, ("c",))
    with spool:
        for i in range(2000):
            source = "first" if i < 1000 else "second"
            spool.add(Record(f"d{i}", source, "finance", "x" * 100, "en"))
    records = list(spool.records())
    assert len(records) == 2000 and records[0][1].doc_id == "d0"
    heldout = sum(split == "heldout" for split, _ in records)
    assert 140 < heldout < 260  # ~10% by document id
    # a budget of a quarter of the train text draws from both halves, not just the first
    train_chars = spool.chars["train", "en"]
    sample = list(spool.sample_texts(train_chars // 4))
    assert 0.2 * train_chars <= sum(map(len, sample)) <= 0.26 * train_chars
    ids = [r.doc_id for split, r in records if split == "train"]
    assert len(sample) < len(ids)


def test_spool_sample_groups_match_one_pass_per_group(tmp_path):
    """The fertility report samples every held-out language in one pass; each group must
    get exactly what `sample_texts` would give it alone."""
    from sovtrain.data.clean import Record
    from sovtrain.data.spool import Spool

    spool = Spool(str(tmp_path / "spool.jsonl"), 0.3, ("c",))
    with spool:
        for i in range(900):
            lang = ("en", "zh-Hant", "zh-Hans")[i % 3]
            spool.add(Record(f"d{i}", "s", "finance", f"{lang} text {i} " * (1 + i % 7), lang))
    budgets = {("heldout", "en"): 900, ("heldout", "zh-Hant"): 10**9, ("train", "zh-Hans"): 2000}
    groups = spool.sample_groups(budgets)
    for (split, lang), budget in budgets.items():
        assert groups[split, lang] == list(spool.sample_texts(budget, split=split, lang=lang))
    assert len(groups["heldout", "en"]) < len(groups["heldout", "zh-Hant"])  # budget binds


def _mixture_sampler(rank=0, world=1, position=0):
    from sovtrain.data.loader import MixtureSampler

    buckets = {"finance/en": (0, 500), "finance/zh-Hant": (500, 600), "logistics/en": (600, 2600)}
    weights = {"finance/en": 0.5, "finance/zh-Hant": 0.3, "logistics/en": 0.2}
    return MixtureSampler(buckets, weights, 11, rank, world, 4, position), buckets, weights


def test_mixture_weights_are_honoured_within_2_percent_over_10k_sequences():
    sampler, buckets, weights = _mixture_sampler()
    rows = np.concatenate([sampler.next_indices() for _ in range(2500)])  # 10,000 sequences
    assert len(rows) == 10_000
    for name, (start, end) in buckets.items():
        share = np.mean((rows >= start) & (rows < end))
        assert abs(share - weights[name]) < 0.02, (name, share)
    # the small bucket (100 rows at 30%) cycles through epochs without repeating within one
    small = rows[(rows >= 500) & (rows < 600)]
    assert sorted(small[:100].tolist()) == list(range(500, 600))


def test_mixture_sampler_resume_and_rank_split():
    full, _, _ = _mixture_sampler(rank=1, world=2)
    expected = _stream(full, 40)
    first, _, _ = _mixture_sampler(rank=1, world=2)
    head = _stream(first, 15)
    resumed, _, _ = _mixture_sampler(rank=1, world=2, position=first.position)
    assert head + _stream(resumed, 25) == expected
    # two ranks with micro batch 4 read exactly what one process with micro batch 8 reads
    from sovtrain.data.loader import MixtureSampler

    single, buckets, weights = _mixture_sampler()
    single = MixtureSampler(buckets, weights, 11, 0, 1, 8)
    ranks = [_mixture_sampler(rank=r, world=2)[0] for r in (0, 1)]
    for _ in range(10):
        both = ranks[0].next_indices().tolist() + ranks[1].next_indices().tolist()
        assert both == single.next_indices().tolist()
    with pytest.raises(DataError, match="no rows"):
        from sovtrain.data.loader import MixtureSampler

        MixtureSampler({"finance/en": (0, 5)}, {"finance/xx": 1.0}, 0, 0, 1, 1)


class _Rows:
    """A dataset of 100 rows whose row i holds the value i (only `rows` is read)."""

    def rows(self, indices: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(indices, dtype=np.int64)[:, None], 4, axis=1)


def test_loader_hands_out_the_sampler_order_and_closes_while_its_filler_is_blocked():
    """The filler blocks on a full queue (no polling wake-ups); `close` must still end it."""
    import threading
    import time

    import torch

    from sovtrain.data.loader import BatchLoader

    reference = StreamSampler(100, seed=3, rank=0, world_size=1, micro_batch=2)
    loader = BatchLoader(_Rows(), StreamSampler(100, 3, 0, 1, 2), torch.device("cpu"), prefetch=2)
    for _ in range(5):
        assert loader.next()[:, 0].tolist() == reference.next_indices().tolist()
    assert loader.position == reference.position
    time.sleep(0.2)  # the queue is full again: the filler is blocked in put()
    started = time.monotonic()
    loader.close()
    assert time.monotonic() - started < 1.0
    assert not any(t is loader._thread for t in threading.enumerate())
