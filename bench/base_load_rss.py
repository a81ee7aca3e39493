"""Peak host memory per rank while loading an open-weight base (`model.init_from`).

Builds (or takes `--base`) a ~300M-parameter Qwen2-shaped HF directory with random bf16
weights in several safetensors shards, then, for each mode, starts two ranks (gloo) that
load it and report their peak RSS (VmHWM) before and after the load:

    old          the previous path: recipe model in fp32 + from_pretrained(fp32).state_dict()
    hf           transformers 5 `from_pretrained(dtype=bf16)` alone, for reference
    lean-z2      sovtrain `start_from_base`, ZeRO-2, bf16 (one full copy per rank)
    lean-z2-fp32 the same for an fp32 recipe
    lean-z3      sovtrain `start_from_base`, ZeRO-3, bf16 (partitioned; rank 0 reads)

    .venv/bin/python bench/base_load_rss.py [--base DIR] [--modes old,lean-z2,...] [--ranks 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DS_ACCELERATOR", "cpu")

REPO = Path(__file__).resolve().parents[1]
MODES = ["old", "hf", "lean-z2", "lean-z2-fp32", "lean-z3"]
SHAPE = {  # Qwen2-like; 20 layers is ~292M parameters
    "hidden_size": 1024,
    "intermediate_size": 2816,
    "num_attention_heads": 16,
    "num_key_value_heads": 4,
    "vocab_size": 32000,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": False,
}


def make_base(out: Path, layers: int) -> Path:
    """Random weights saved the way an open-weight base ships: bf16, sharded safetensors."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(num_hidden_layers=layers, **SHAPE)
    model = Qwen2ForCausalLM._from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(out, max_shard_size="100MB")
    return out


def status_gb(field: str) -> float:
    """A /proc/self/status memory line (kB) in GB: VmHWM is the peak RSS so far."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1e6
    raise KeyError(field)


def recipe_for(base: Path, workdir: Path, zero_stage: int, precision: str):
    """A pre-training recipe that starts from `base` (the bench loads it, never trains)."""
    import yaml

    from sovtrain.recipe import load_recipe

    config = json.loads((base / "config.json").read_text())
    keys = [*SHAPE, "num_hidden_layers"]
    recipe = {
        "run": {"name": "rss", "seed": 0, "output_uri": str(workdir / "run")},
        "model": {"arch": "qwen2", "config": {k: config[k] for k in keys}, "init_from": str(base)},
        "data": {"sources": [{"name": "fin", "kind": "synthetic", "documents": 10}]},
        "train": {
            "seq_len": 64,
            "micro_batch": 1,
            "global_batch_sequences": 8,  # divisible by 1, 2, 4 or 8 ranks
            "max_steps": 1,
            "precision": precision,
        },
        "deepspeed": {"zero_stage": zero_stage},
        "tracking": {"enabled": False},
    }
    rank = os.environ.get("RANK", "0")  # one file per rank: ranks write it at the same time
    path = workdir / f"rss-z{zero_stage}-{precision}-rank{rank}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return load_recipe(path)


def loader(mode: str, base: Path, workdir: Path) -> Callable[[], Any]:
    """What a rank does in `mode`, set up (process group, recipe) outside the measurement."""
    import torch

    if mode == "hf":
        from transformers import AutoModelForCausalLM

        return lambda: AutoModelForCausalLM.from_pretrained(base, dtype=torch.bfloat16)
    from sovtrain.distributed.context import init_distributed
    from sovtrain.train.ds_config import deepspeed_config
    from sovtrain.train.session import start_from_base

    ctx = init_distributed()
    stage = 3 if mode == "lean-z3" else 2
    precision = "fp32" if mode in ("old", "lean-z2-fp32") else "bf16"
    loaded = recipe_for(base, workdir, stage, precision)
    vocab = SHAPE["vocab_size"]
    if mode == "old":
        return lambda: old_path(loaded, base, vocab)
    config = deepspeed_config(loaded.recipe, ctx.world_size)
    return lambda: start_from_base(loaded, ctx, vocab, config)


def old_path(loaded, base: Path, vocab: int) -> Any:
    """The loading sovtrain did before the lean loader, line for line."""
    from transformers import AutoModelForCausalLM

    from sovtrain.model.build import build_model

    model = build_model(loaded.recipe.model, vocab, loaded.recipe.run.seed)
    state = AutoModelForCausalLM.from_pretrained(str(base)).state_dict()
    own = model.state_dict()
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    return model


def touch(model: Any) -> None:
    """Read one element per 4 KiB page of every parameter: safetensors hands out tensors
    backed by the file's mapping, which only count (and cost) once read, as DeepSpeed will."""
    for param in model.parameters():
        flat = param.data.reshape(-1)
        if flat.numel():
            flat[:: max(4096 // flat.element_size(), 1)].float().sum()


def worker(mode: str, base: Path, workdir: Path) -> None:
    load = loader(mode, base, workdir)
    before = status_gb("VmHWM")
    start = time.perf_counter()
    model = load()
    seconds = time.perf_counter() - start
    touch(model)
    report = {"rank": int(os.environ["RANK"]), "before": before, "peak": status_gb("VmHWM"),
              "rss": status_gb("VmRSS"), "seconds": seconds}  # fmt: skip
    print("RSS " + json.dumps(report), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_mode(mode: str, base: Path, workdir: Path, world: int = 2) -> list[dict]:
    """`world` ranks as torchrun would start them (RANK/WORLD_SIZE/MASTER_*), one mode."""
    port = str(free_port())
    procs = []
    for rank in range(world):
        launch = {"RANK": rank, "WORLD_SIZE": world, "LOCAL_RANK": rank,
                  "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}  # fmt: skip
        env = {**os.environ, **{k: str(v) for k, v in launch.items()}}
        cmd = [sys.executable, __file__, "--worker", mode, "--base", str(base),
               "--workdir", str(workdir)]  # fmt: skip
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise SystemExit(f"{mode}: a rank exited {proc.returncode}")
        reports += [json.loads(x[4:]) for x in out.splitlines() if x.startswith("RSS ")]
    return sorted(reports, key=lambda r: r["rank"])


def weights_gb(base: Path) -> float:
    return sum(f.stat().st_size for f in base.glob("*.safetensors")) / 1e9


def table(rows: list[tuple[str, list[dict]]], disk: float, world: int) -> None:
    """What the load added to each rank's RSS: at its peak (VmHWM) and once done."""
    from rich.console import Console
    from rich.table import Table

    title = f"host RSS per rank, {world} ranks, loading the base ({disk:.2f} GB bf16 on disk), GB"
    out = Table(title=title)
    ranks = [f"r{n}" for n in range(world)]
    columns = [f"{r} {what}" for what in ("+peak", "+after") for r in ranks]
    for column in ["mode", "weights", *columns, "+peak / weights", "load s"]:
        out.add_column(column, justify="left" if column == "mode" else "right")
    for mode, reports in rows:
        picked = reports
        added = [f"{r['peak'] - r['before']:.2f}" for r in picked]
        after = [f"{r['rss'] - r['before']:.2f}" for r in picked]
        ratio = max(r["peak"] - r["before"] for r in reports) / disk
        seconds = max(r["seconds"] for r in reports)
        out.add_row(mode, f"{disk:.2f}", *added, *after, f"{ratio:.2f}x", f"{seconds:.1f}")
    Console(width=140).print(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--layers", type=int, default=20)
    parser.add_argument("--ranks", type=int, default=2, help="ranks per mode (default 2)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.base, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="sovtrain-rss-") as tmp:
        base = args.base or make_base(Path(tmp) / "base", args.layers)
        modes = args.modes.split(",")
        rows = [(mode, run_mode(mode, base, Path(tmp), args.ranks)) for mode in modes]
        table(rows, weights_gb(base), args.ranks)


if __name__ == "__main__":
    main()
