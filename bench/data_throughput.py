"""Data pipeline throughput: tokenization vs a plain `datasets.map`, loader vs GPU appetite.

1. Tokenize + pack the same cleaned documents two ways and compare tokens/s:
   sovtrain (Rust `encode_batch` in batches, packed into shard files) vs the baseline most
   teams start with (`datasets.Dataset.map(tokenizer, batched=True)` into Arrow, no packing).
2. Read packed 4096-token rows with the training loader (memory-mapped shards, rank-sharded
   stream, prefetch thread) at the 1B recipe's micro batch and compare with what one GPU
   consumes when training the 1B recipe (tokens/s per device, `--gpu-tokens-per-s`, default:
   48,834, measured on one H100 with recipes/pretrain/finance-1b.yaml, ZeRO-2, bf16).

    .venv/bin/python bench/data_throughput.py [--documents 20000] [--gpu-tokens-per-s N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

import torch
from rich.console import Console
from rich.table import Table

from sovtrain.data import shards
from sovtrain.data.clean import Record
from sovtrain.data.loader import BatchLoader, PackedDataset, make_sampler
from sovtrain.data.prepare import prepare
from sovtrain.data.sources import read_source
from sovtrain.data.tokenizer import load_hf
from sovtrain.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]
H100_1B_TOKENS_PER_S = 48_834.0


def sovtrain_tokenize(bpe, docs: list[Record], out: Path, seq_len: int, eos: int) -> int:
    writer = shards.ShardWriter(str(out), "train", "all/all", seq_len, shards.token_dtype(65535),
                                4096)  # fmt: skip
    tokens = 0
    for start in range(0, len(docs), 512):
        batch = docs[start : start + 512]
        for doc, enc in zip(batch, bpe.encode_batch([d.text for d in batch]), strict=True):
            writer.add([*enc.ids, eos], doc.source, doc.lang)
            tokens += len(enc.ids) + 1
    writer.close()
    return tokens


def datasets_map_tokenize(tokenizer_dir: str, docs: list[Record]) -> int:
    from datasets import Dataset, disable_progress_bars
    from transformers import AutoTokenizer

    disable_progress_bars()
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    dataset = Dataset.from_dict({"text": [d.text for d in docs]})
    mapped = dataset.map(lambda b: tok(b["text"]), batched=True, remove_columns=["text"])
    return sum(len(ids) for ids in mapped["input_ids"])


def timed(fn, *args) -> tuple[float, int]:
    start = time.perf_counter()
    tokens = fn(*args)
    return time.perf_counter() - start, tokens


def loader_rate(shards_uri: str, micro_batch: int, seconds: float) -> float:
    dataset = PackedDataset(shards_uri, "train")
    sampler = make_sampler(dataset, None, 0, 0, 1, micro_batch)
    loader = BatchLoader(dataset, sampler, torch.device("cpu"))
    loader.next()  # warm-up: first maps, thread start
    tokens, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        tokens += loader.next().numel()
    loader.close()
    return tokens / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default=str(REPO / "recipes/pretrain/finance-smoke.yaml"))
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--gpu-tokens-per-s", type=float, default=H100_1B_TOKENS_PER_S)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sovtrain-databench-"))

    overrides = [f"run.output_uri={work}/run", f"data.sources.0.documents={args.documents}"]
    loaded = load_recipe(args.recipe, overrides)
    prepared = prepare(loaded.recipe, show_progress=False)
    source = loaded.recipe.data.sources[0]
    docs = list(read_source(source, loaded.recipe.run.seed))
    bpe = load_hf(prepared.tokenizer_uri).backend_tokenizer
    eos = prepared.manifest["eos_id"]

    ours_s, ours_tokens = timed(sovtrain_tokenize, bpe, docs, work / "ours", 256, eos)
    base_s, base_tokens = timed(datasets_map_tokenize, prepared.tokenizer_uri, docs)

    long_overrides = [
        f"run.output_uri={work}/long",
        "train.seq_len=4096",
        "model.config.max_position_embeddings=4096",
        f"data.sources.0.documents={args.documents}",
    ]
    long_rows = load_recipe(args.recipe, long_overrides)
    long_prepared = prepare(long_rows.recipe, show_progress=False)
    one_b = load_recipe(REPO / "recipes/pretrain/finance-1b.yaml").recipe
    rate = loader_rate(long_prepared.shards_uri, one_b.train.micro_batch, args.seconds)

    table = Table(title=f"data throughput on {os.cpu_count()} cores ({len(docs):,} documents)")
    for column in ("measurement", "tokens/s", "ratio", "vs", "target"):
        table.add_column(column, justify="left" if column in ("measurement", "vs") else "right")
    table.add_row("datasets.map + tokenizer (baseline)", f"{base_tokens / base_s:,.0f}", "1.00",
                  "-", "-")  # fmt: skip
    table.add_row("sovtrain tokenize + pack into shards", f"{ours_tokens / ours_s:,.0f}",
                  f"{(ours_tokens / ours_s) / (base_tokens / base_s):.2f}", "datasets.map",
                  "-")  # fmt: skip
    table.add_row("1B training consumption per GPU (H100)", f"{args.gpu_tokens_per_s:,.0f}",
                  "1.00", "-", "-")  # fmt: skip
    table.add_row(f"loader, 1 process, micro batch {one_b.train.micro_batch} x 4096",
                  f"{rate:,.0f}", f"{rate / args.gpu_tokens_per_s:.1f}", "1B consumption",
                  "> 20")  # fmt: skip
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
