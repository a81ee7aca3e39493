"""Peak memory and step time of a large-vocabulary step with `train.cross_entropy` full and
chunked, in one run.

A Llama-shaped model with a large vocabulary and a small trunk (so the LM head and the loss
dominate, as they do for the memory of a 1B model at 64k vocab), one forward + backward of
`micro_batch x seq_len` tokens, no optimizer. Each mode runs in a fresh subprocess, so its
peak is its own: on CUDA `torch.cuda.max_memory_allocated`, on the CPU the process's RSS
high-water mark (VmHWM) above its RSS just before the first step (model and batch built).
Step time: the median of `--steps` steps after one warm-up step. The modes alternate by
round (`--rounds`) so drift hits both alike. Prints the full fp32 logits' size for scale.

    .venv/bin/python bench/cross_entropy.py [--vocab 65536] [--seq 2048] [--micro-batch 4]
        [--hidden 256] [--layers 2] [--steps 3] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table
from transformers import LlamaConfig, LlamaForCausalLM

from sovtrain.model.chunked_head import use_chunked_loss

MODES = ("full", "chunked")
GB = 1e9


def _status_kb(field: str) -> int:
    """A `/proc/self/status` field (VmRSS, VmHWM) in kB: the RSS now and its high water."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build, run warm-up + `steps` forward/backward steps in this process, measure."""
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32  # CPU bf16 matmuls are emulated
    config = LlamaConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=2 * args.hidden,
        num_hidden_layers=args.layers, num_attention_heads=max(1, args.hidden // 64),
        max_position_embeddings=args.seq, tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(device, dtype)
    if mode == "chunked":
        model = use_chunked_loss(model)
    ids = torch.randint(0, args.vocab, (args.micro_batch, args.seq), device=device)
    base = torch.cuda.memory_allocated() if cuda else _status_kb("VmRSS") * 1024
    times, loss = [], 0.0
    for _ in range(args.steps + 1):
        started = time.perf_counter()
        out = model(input_ids=ids, labels=ids, use_cache=False)
        out.loss.backward()
        loss = out.loss.item()  # a sync: the step's time is all of it
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
        del out
        model.zero_grad(set_to_none=False)  # grads kept, as between optimizer steps
    peak = torch.cuda.max_memory_allocated() if cuda else _status_kb("VmHWM") * 1024
    return {"mode": mode, "peak_gb": (peak - base) / GB, "step_s": times[1:], "loss": loss,
            "device": "cuda" if cuda else "cpu", "dtype": str(dtype).split(".")[-1]}  # fmt: skip


def run_child(mode: str, argv: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, *argv],
                         capture_output=True, text=True, check=False)  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    first = results["full"][0]
    logits_gb = args.micro_batch * args.seq * args.vocab * 4 / GB
    table = Table(
        title=(
            f"vocab {args.vocab}, seq {args.seq}, micro batch {args.micro_batch}, hidden "
            f"{args.hidden}, {args.layers} layers, {first['device']} {first['dtype']}; "
            f"full fp32 logits {logits_gb:.2f} GB"
        )
    )
    for col in ("cross_entropy", "n", "peak GB", "step s (median)", "loss", "peak vs full",
                "step vs full"):  # fmt: skip
        table.add_column(col, justify="left" if col == "cross_entropy" else "right")
    peak = {m: max(r["peak_gb"] for r in results[m]) for m in MODES}
    step = {m: statistics.median([t for r in results[m] for t in r["step_s"]]) for m in MODES}
    for mode in MODES:
        n = sum(len(r["step_s"]) for r in results[mode])
        table.add_row(mode, str(n), f"{peak[mode]:.2f}", f"{step[mode]:.3f}",
                      f"{results[mode][-1]['loss']:.5f}", f"{peak[mode] / peak['full']:.2f}x",
                      f"{step[mode] / step['full']:.3f}x")  # fmt: skip
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", type=int, default=65536)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode per round")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of both")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return
    argv = [a for a in sys.argv[1:] if a not in ("--child",)]
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            results[mode].append(run_child(mode, argv))
    report(results, args)


if __name__ == "__main__":
    main()
