"""Step time of sovtrain's loop vs a bare PyTorch loop, and the cost of MLflow tracking.

Every loop trains the same model (the smoke recipe's), on the same batch shape, with the
same AdamW + schedule + clipping, in one process; the sovtrain loop also once with the bare
loop's own loss (`train.cross_entropy full`: the loop and the DeepSpeed engine alone). They
are measured in interleaved rounds so drift in clocks or background load hits every variant
alike. Prints a table of median step times and ratios against the baseline measured in this
same run.

    .venv/bin/python bench/step_time.py [--recipe R] [--steps 12] [--rounds 4] [--set k=v ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

import torch
from rich.console import Console
from rich.table import Table
from torch.optim.lr_scheduler import LambdaLR

if not torch.cuda.is_available():
    os.environ.setdefault("DS_ACCELERATOR", "cpu")

from sovtrain.data.loader import PackedDataset, StreamSampler
from sovtrain.model.build import build_model
from sovtrain.recipe import LoadedRecipe, load_recipe
from sovtrain.train.optim import build_optimizer, warmup_cosine
from sovtrain.train.session import Session, open_session

REPO = Path(__file__).resolve().parents[1]
TRACKED = "sovtrain loop + MLflow, logging every step"
SAME_LOSS = "sovtrain loop, train.cross_entropy full"


def sovtrain_step(session: Session, log_every: int) -> Callable[[], None]:
    """One iteration of the real loop body: train_step, and report at the logging interval."""
    trainer = session.trainer

    def step() -> None:
        trainer.train_step()
        if trainer.state.step % log_every == 0:
            trainer.report()

    return step


def bare_step(
    loaded: LoadedRecipe, shards_uri: str, vocab: int, device: torch.device
) -> Callable[[], None]:
    """The same work written as the shortest plain-PyTorch loop we would accept.

    On GPU with bf16 recipes it uses autocast over fp32 weights (the plain-PyTorch way to
    train in bf16); DeepSpeed instead keeps bf16 weights plus an fp32 master copy.
    """
    recipe = loaded.recipe
    model = build_model(recipe.model, vocab, recipe.run.seed).to(device)
    opt = build_optimizer(model, recipe.train.optimizer, device)
    use_bf16 = recipe.train.precision == "bf16" and device.type == "cuda"
    sched = LambdaLR(opt, warmup_cosine(recipe.train.optimizer, recipe.train.total_steps))
    data = PackedDataset(shards_uri, "train")
    sampler = StreamSampler(len(data), recipe.run.seed, 0, 1, recipe.train.micro_batch)
    accumulation = recipe.train.grad_accumulation(1)

    def step() -> None:
        for _ in range(accumulation):
            ids = torch.from_numpy(data.rows(sampler.next_indices())).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                loss = model(input_ids=ids, labels=ids, use_cache=False).loss
            (loss / accumulation).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.train.grad_clip)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        loss.item()  # the bare loop also reads its loss once per step

    return step


def enqueue_cost(session: Session, calls: int = 2000) -> float:
    """Seconds per `log_metrics` call as the loop pays it (the send happens off-thread)."""
    metrics = {f"m{i}": float(i) for i in range(9)}
    start = time.perf_counter()
    for i in range(calls):
        session.tracker.log_metrics(metrics, i)
    return (time.perf_counter() - start) / calls


def measure(variants: dict[str, Callable[[], None]], steps: int, rounds: int) -> dict:
    for fn in variants.values():  # warm-up: allocator, thread pools, first-step setup
        for _ in range(2):
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    per_round = max(1, steps // rounds)
    for _ in range(rounds):
        for name, fn in variants.items():
            for _ in range(per_round):
                start = time.perf_counter()
                fn()
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default=str(REPO / "recipes/pretrain/finance-smoke.yaml"))
    parser.add_argument("--steps", type=int, default=12, help="measured steps per variant")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument(
        "--skip-tracking", action="store_true", help="omit the MLflow variant (no mlflow here)"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sovtrain-bench-"))
    common = [*args.overrides, f"data.prepared_uri={workdir}/data", "train.max_steps=100000"]

    def session(name: str, tracking: bool, *extra: str) -> Session:
        loaded = load_recipe(
            args.recipe,
            [*common, f"run.output_uri={workdir}/{name}", f"tracking.enabled={tracking}", *extra],
        )
        return open_session(loaded, resume="never")

    quiet = session("untracked", tracking=False)
    # the bare loop's own loss (transformers' on full logits): the loop and engine alone
    same_loss = session("full-loss", False, "train.cross_entropy=full")
    tracked = None if args.skip_tracking else session("tracked", tracking=True)
    recipe = quiet.loaded.recipe
    shards_uri = f"{workdir}/data/shards"
    vocab = quiet.trainer.engine.module.config.vocab_size
    variants = {
        "bare PyTorch loop": bare_step(quiet.loaded, shards_uri, vocab, quiet.ctx.device),
        "sovtrain loop, tracking off": sovtrain_step(quiet, recipe.train.log_interval),
        SAME_LOSS: sovtrain_step(same_loss, recipe.train.log_interval),
    }
    if tracked is not None:
        variants[TRACKED] = sovtrain_step(tracked, 1)
    medians = measure(variants, args.steps, args.rounds)

    base = medians["bare PyTorch loop"]
    untracked = medians["sovtrain loop, tracking off"]
    tokens = recipe.train.tokens_per_step
    table = Table(title=f"step time, {recipe.run.name} on {quiet.ctx.device} "
                  f"(ZeRO-{recipe.deepspeed.zero_stage}, {recipe.train.precision}, "
                  f"{tokens} tokens/step, {torch.get_num_threads()} threads)")  # fmt: skip
    for column in ("variant", "median step (ms)", "ratio", "vs", "target", "tokens/s", "MFU"):
        table.add_column(column, justify="left" if column in ("variant", "vs") else "right")
    rows = [
        ("bare PyTorch loop", base, 1.0, "-", "-"),
        ("sovtrain loop, tracking off", untracked, untracked / base, "bare", "<= 1.03"),
        (SAME_LOSS, medians[SAME_LOSS], medians[SAME_LOSS] / base, "bare", "-"),
    ]
    if tracked is not None:
        rows.append((TRACKED, medians[TRACKED], medians[TRACKED] / untracked,
                     "tracking off", "<= 1.01"))  # fmt: skip
    for name, seconds, ratio, versus, target in rows:
        rate = tokens / seconds
        mfu = rate * quiet.flops_per_token / quiet.peak
        table.add_row(
            name, f"{1000 * seconds:.1f}", f"{ratio:.3f}", versus, target,
            f"{rate:,.0f}", f"{100 * mfu:.1f}%",
        )  # fmt: skip
    Console(width=150).print(table)
    if tracked is not None:
        enqueue = enqueue_cost(tracked)
        tracked.tracker.finish()
        tracked.trainer.loader.close()
        print(f"MLflow log_metrics call on the training thread: {1e6 * enqueue:.1f} us "
              f"= {100 * enqueue / untracked:.4f}% of a step")  # fmt: skip
    print(f"peak used for MFU: {quiet.peak / 1e12:.4g} TFLOPS/device "
          f"({'matmul probe' if quiet.ctx.device.type == 'cpu' else 'datasheet'}); "
          f"flops/token {quiet.flops_per_token:,}")  # fmt: skip
    quiet.trainer.loader.close()
    sys.stdout.flush()
    os._exit(0)  # skip slow interpreter teardown of DeepSpeed/gloo state


if __name__ == "__main__":
    main()
