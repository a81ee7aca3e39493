"""Training-thread time per checkpoint with `checkpoint.async` off and on, in one run.

One process, one DeepSpeed engine (a Llama-shaped model, fp32 weights + fp32 Adam state,
ZeRO stage 1, world of 1), so its checkpoint is well over 1 GB. Each mode writes `--saves`
checkpoints with `--steps` optimizer steps between them, calling the writer as
`Trainer.save_checkpoint` does (drain the save in flight, then save); modes alternate by
round so drift in the page cache or clocks hits both alike. Prints, per mode: the median
training-thread seconds per checkpoint (that drain + save) and of it the save call, the
median background seconds (the publish thread: hash, manifest, rename, latest, prune), the
final drain, checkpoint bytes, bytes/s end to end (bytes / (save + background seconds)), the
median step time between checkpoints (async: the publish competes for the same cores), and
the training-thread ratio on/off.

    .venv/bin/python bench/checkpoint_async.py [--saves 3] [--steps 2] [--rounds 1] [--dir D]
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from rich.console import Console
from rich.table import Table

if not torch.cuda.is_available():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")

from sovtrain.distributed.context import init_distributed
from sovtrain.recipe import load_recipe
from sovtrain.train.async_checkpoint import AsyncCheckpointWriter
from sovtrain.train.checkpoint import CheckpointStore
from sovtrain.train.session import build_engine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.conftest import TINY_RECIPE  # noqa: E402

MODEL = {  # ~134M parameters: 12 bytes each in fp32 weights + Adam moments, plus ZeRO's copy
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "num_key_value_heads": 12,
    "intermediate_size": 2048,
    "vocab_size": 32000,
    "max_position_embeddings": 128,
    "tie_word_embeddings": False,
}


def recipe_file(out: Path) -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"].update(name="ckpt-bench", output_uri=str(out / "run"))
    recipe["model"]["config"] = MODEL
    recipe["train"].update(seq_len=32, micro_batch=1, global_batch_sequences=1, max_steps=1000)
    recipe["deepspeed"]["zero_stage"] = 1
    path = out / "bench.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=3, help="checkpoints per mode per round")
    parser.add_argument("--steps", type=int, default=2, help="optimizer steps between saves")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of both")
    parser.add_argument("--dir", default=None, help="where checkpoints go (default: a tmp dir)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="sovtrain-ckpt-bench-", dir=args.dir))
    try:
        run(out, args)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run(out: Path, args: argparse.Namespace) -> None:
    loaded = load_recipe(recipe_file(out))
    ctx = init_distributed()
    engine, _ = build_engine(loaded, ctx, vocab_size=MODEL["vocab_size"])
    params = sum(p.numel() for p in engine.module.parameters())
    ids = torch.randint(0, MODEL["vocab_size"], (1, 32), device=ctx.device)
    step_s: dict[str, list[float]] = {"off": [], "on": []}

    def train_steps(mode: str) -> None:
        for _ in range(args.steps):
            started = time.perf_counter()
            loss = engine(input_ids=ids, labels=ids, use_cache=False).loss
            engine.backward(loss)
            engine.step()
            step_s[mode].append(time.perf_counter() - started)

    train_steps("off")  # Adam state exists from the first step on: the checkpoint's full size
    step_s["off"].clear()
    figures: dict[str, dict[str, list[float]]] = {
        m: {"thread": [], "save": [], "background": [], "drain": [], "bytes": []}
        for m in ("off", "on")
    }
    step = 0
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            root = out / mode / "checkpoints"
            store = CheckpointStore(str(root), 0, 1, keep_last=2)
            writer = AsyncCheckpointWriter(store) if mode == "on" else store
            got = figures[mode]
            for _ in range(args.saves):
                train_steps(mode)
                step += 1
                started = time.perf_counter()
                settled = writer.drain()  # Trainer.save_checkpoint's order
                staging = time.perf_counter()
                saved = writer.save(engine, {"step": step})
                done_at = time.perf_counter()
                got["thread"].append(done_at - started)
                got["save"].append(done_at - staging)
                for done in (settled, saved):
                    if done is not None:
                        got["bytes"].append(done.bytes)
            train_steps(mode)
            started = time.perf_counter()
            last = writer.drain()  # post_train
            got["drain"].append(time.perf_counter() - started)
            if last is not None:
                got["bytes"].append(last.bytes)
            if isinstance(writer, AsyncCheckpointWriter):
                got["background"].extend(writer.background_s)
            assert store.newest_verified() is not None
            shutil.rmtree(root)
    report(figures, step_s, params, engine, ctx.device)


def report(
    figures: dict[str, dict[str, list[float]]], step_s: dict[str, list[float]], params: int,
    engine: object, device: torch.device,
) -> None:  # fmt: skip
    med = statistics.median
    size = med(figures["off"]["bytes"])
    table = Table(
        title=f"checkpoint, {params / 1e6:.0f}M params (fp32 + Adam, ZeRO-1, 1 rank) on "
        f"{device}, {size / 1e9:.2f} GB per checkpoint"
    )
    columns = [
        "checkpoint.async", "n", "train-thread s/ckpt", "of it save()", "background s",
        "final drain s", "GB", "GB/s end to end", "step s", "train-thread vs off",
    ]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "checkpoint.async" else "right")
    base = med(figures["off"]["thread"])
    for mode in ("off", "on"):
        got = figures[mode]
        thread, save = med(got["thread"]), med(got["save"])
        background = med(got["background"]) if got["background"] else 0.0
        gb = med(got["bytes"]) / 1e9
        table.add_row(
            mode, str(len(got["thread"])), f"{thread:.2f}", f"{save:.2f}", f"{background:.2f}",
            f"{med(got['drain']):.2f}", f"{gb:.2f}", f"{gb / (save + background):.2f}",
            f"{med(step_s[mode]):.2f}", f"{thread / base:.2f}x",
        )  # fmt: skip
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
