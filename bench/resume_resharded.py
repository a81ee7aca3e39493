"""What a resume on another world size costs, against one on the same world size, in one run.

One process, a Llama-shaped model of ~134M parameters (fp32 weights + Adam state, ZeRO-1:
its optimizer state is partitioned, so a resume on another number of ranks goes through the
universal copy), checkpoint ~2 GB. After one optimizer step it saves a checkpoint, then
times, `--repeats` times each (medians): verifying it (`newest_verified`, what every resume
pays), loading it natively (same world size), converting it to the universal layout
(`ensure_universal`, paid once per checkpoint: DeepSpeed's `ds_to_universal` in a
subprocess, hashed and published), finding the cached copy again (verify, no conversion),
and loading the universal copy into an engine built with `checkpoint.load_universal`.
Ratios are against the native load.

    .venv/bin/python bench/resume_resharded.py [--repeats 2] [--dir D]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from sovtrain.distributed.context import init_distributed
from sovtrain.recipe import load_recipe
from sovtrain.train.checkpoint import CheckpointStore, universal_name
from sovtrain.train.resume import ensure_universal
from sovtrain.train.session import build_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkpoint_async import MODEL, recipe_file  # the same ~2 GB model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each phase")
    parser.add_argument("--dir", default=None, help="where checkpoints go (default: a tmp dir)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="sovtrain-reshard-bench-", dir=args.dir))
    try:
        run(out, args.repeats)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def timed(
    repeats: int, action: Callable[[], object], before: Callable[[], object] = lambda: None
) -> float:
    """Median seconds of `action` over `repeats` runs, `before` (untimed) ahead of each."""
    seconds = []
    for _ in range(repeats):
        before()
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def run(out: Path, repeats: int) -> None:
    loaded = load_recipe(recipe_file(out))
    ctx = init_distributed()
    engine, _ = build_engine(loaded, ctx, vocab_size=MODEL["vocab_size"])
    ids = torch.randint(0, MODEL["vocab_size"], (1, 32))
    engine.backward(engine(input_ids=ids, labels=ids, use_cache=False).loss)
    engine.step()  # Adam moments exist: the checkpoint has its full size
    root = out / "run" / "checkpoints"
    store = CheckpointStore(str(root), 0, 1)
    saved = store.save(engine, {"step": 1, "world_size": 1})
    name = Path(saved.uri).name
    copy = root / universal_name(name)
    figures = {"verify the checkpoint (every resume)": timed(repeats, store.newest_verified)}
    figures["native load (same world size)"] = timed(repeats, lambda: store.load(engine, name))
    figures["convert to universal (once)"] = timed(
        repeats, lambda: ensure_universal(store, name), lambda: shutil.rmtree(copy, True)
    )
    figures["find the cached copy (verify)"] = timed(repeats, lambda: ensure_universal(store, name))
    universal, _ = build_engine(loaded, ctx, MODEL["vocab_size"], load_universal=True)
    figures["universal load (other world size)"] = timed(
        repeats, lambda: store.load(universal, name, deepspeed_tag=copy.name)
    )
    copy_bytes = sum(p.stat().st_size for p in copy.rglob("*") if p.is_file())
    report(figures, saved.bytes, copy_bytes, repeats)


def report(figures: dict[str, float], checkpoint: int, copy: int, repeats: int) -> None:
    table = Table(
        title=f"resume, ~134M params (fp32 + Adam, ZeRO-1, 1 rank), checkpoint "
        f"{checkpoint / 1e9:.2f} GB, universal copy {copy / 1e9:.2f} GB, median of {repeats}"
    )
    for column in ("phase", "s", "GB/s", "vs native load"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    base = figures["native load (same world size)"]
    for phase, seconds in figures.items():
        size = copy if "universal" in phase or "copy" in phase else checkpoint
        table.add_row(
            phase, f"{seconds:.2f}", f"{size / 1e9 / seconds:.2f}", f"{seconds / base:.2f}x"
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
