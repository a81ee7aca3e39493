"""GPU throughput of the 1B recipe: HF Trainer vs sovtrain, and each speed switch on top.

Every variant trains the same model, from the same seed, on the same rows in the same order,
with the same global batch, AdamW and schedule, for `--warmup` + `--steps` optimizer steps
(only `--steps` are timed), each in a fresh subprocess (Liger patches modules globally, and
peak memory is per process). A variant the hardware cannot run is a "skipped" row with the
`HardwareError` message; an OOM, error or the time budget ends that row only, never the
bench. The loss column is the mean of the last 5 steps, compared with the bf16 reference
row at the same micro batch (the `ref` column names it); fp8 must stay within 1% of it.

    .venv/bin/python bench/gpu_throughput.py --out runs/bench-gpu [--steps 20] [--warmup 3]
        [--global-batch 32] [--budget-s 480] [--with-7b]
    .venv/bin/python bench/gpu_throughput.py --tiny --out runs/bench-gpu-tiny   # CPU dry run
    .venv/bin/python bench/gpu_throughput.py --prepare-only --data .gpu-data/finance-1b
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gpu_variants import (
    GPU_DATA_OVERRIDES,
    LAST_N,
    RECIPE_1B,
    RECIPE_7B,
    RECIPE_TINY,
    REPO,
    Runner,
    common_overrides,
    worker_main,
)

FP8_TOLERANCE = 0.01  # fp8's loss within 1% of the bf16 reference at the same micro batch


@dataclass
class Row:
    """One line of the table: what ran, and what it measured (the worker's result)."""

    name: str
    switches: str
    ref: str | None
    fp8: bool = False
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result.get("status") == "ok"

    @property
    def loss(self) -> float:
        tail = self.result.get("losses", [])[-LAST_N:]
        return sum(tail) / len(tail) if tail else math.nan


def bench(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    """Run the variants in order; later ones build on what earlier ones found (the micro
    batch that fits, whether Liger and compile ran here)."""
    out = Path(args.out).resolve()
    recipe = RECIPE_TINY if args.tiny else RECIPE_1B
    data_over = [] if args.tiny else GPU_DATA_OVERRIDES
    data_uri = str(Path(args.data).resolve()) if args.data else str(out / "data")
    runner = Runner(out, args.budget_s, args.steps, args.warmup)
    total = args.warmup + args.steps

    def overrides(name: str, micro: int, extra: list[str], steps: int = total) -> list[str]:
        run_dir = str(out / "runs" / "".join(c if c.isalnum() else "-" for c in name))
        base = common_overrides(data_uri, run_dir, args.global_batch, steps)
        return [*data_over, *base, f"train.micro_batch={micro}", *extra]

    prep = runner.run("prepare data", "prepare", recipe, overrides("prepare", 4, []))
    if prep.get("status") != "ok":
        raise SystemExit(f"data preparation failed: {prep.get('message')}")
    precision = "fp32" if args.tiny else "bf16"
    rows: list[Row] = []

    def add(
        name: str, kind: str, micro: int, extra: list[str], ref: str | None, fp8: bool = False
    ) -> Row:
        row = Row(name, " ".join(e.split(".", 1)[1] for e in extra) or "-", ref, fp8)
        row.result = runner.run(name, kind, recipe, overrides(name, micro, extra))
        row.result.setdefault("micro_batch", micro)
        rows.append(row)
        return row

    full, chunked = ["train.cross_entropy=full"], ["train.cross_entropy=chunked"]
    add("hf-trainer", "hf-trainer", 4, [], f"sovtrain {precision}")
    reference = f"sovtrain {precision}"
    add(reference, "sovtrain", 4, full, None)
    add("+ chunked loss", "sovtrain", 4, chunked, reference)
    micro, big = 4, None
    for probe in args.probe:  # the first that does not run out of memory becomes the row
        row = Row(f"+ chunked loss, micro {probe}", "cross_entropy=chunked", reference)
        row.result = runner.run(row.name, "sovtrain", recipe, overrides(row.name, probe, chunked))
        if row.result.get("status") == "oom":
            print(f"[bench] micro batch {probe} does not fit: {row.result.get('message')}")
            continue
        row.result.setdefault("micro_batch", probe)
        rows.append(row)
        if row.ok:
            micro, big = probe, row
        break
    big_ref = big.name if big else reference
    stack = chunked
    liger = add(
        f"+ liger (micro {micro})", "sovtrain", micro, [*stack, "model.kernels=liger"], big_ref
    )
    if liger.ok:
        stack = [*stack, "model.kernels=liger"]
    compiled = add(
        f"+ compile (micro {micro})", "sovtrain", micro, [*stack, "train.compile=true"], big_ref
    )
    if compiled.ok:
        stack = [*stack, "train.compile=true"]
    for scaling in ("tensorwise", "rowwise"):
        add(
            f"+ fp8 {scaling} (micro {micro})",
            "sovtrain",
            micro,
            [*stack, "train.precision=fp8", f"train.fp8_recipe={scaling}"],
            big_ref,
            fp8=True,
        )
    if args.with_7b:
        name = "7B ZeRO-3 + act. ckpt (micro 1)"
        extra = ["deepspeed.zero_stage=3", "deepspeed.activation_checkpointing=true"]
        row = Row(name, " ".join(e.split(".", 1)[1] for e in extra), None)
        row.result = runner.run(
            name,
            "sovtrain",
            RECIPE_7B,
            overrides(name, 1, extra, args.steps_7b + 1),
            steps=args.steps_7b,
            warmup=1,
        )
        if row.result.get("status") == "oom":
            row.result = {
                "status": "skipped",
                "message": "does not fit: " + row.result.get("message", ""),
            }
        rows.append(row)
    return rows, {
        "recipe": str(recipe.relative_to(REPO)),
        "precision": precision,
        "global_batch": args.global_batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "micro_batch_max": micro,
    }


def table_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """The derived columns: ratios against the HF row and the sovtrain reference row, loss
    against each row's reference, and fp8's PASS/FAIL."""
    by_name = {row.name: row for row in rows}
    hf = by_name.get("hf-trainer")
    sov = next((r for r in rows if r.name.startswith("sovtrain ")), None)

    def ratio(row: Row, base: Row | None) -> float:
        if not (row.ok and base is not None and base.ok):
            return math.nan
        return row.result["tokens_per_s"] / base.result["tokens_per_s"]

    out = []
    for row in rows:
        ref = by_name.get(row.ref) if row.ref else None
        delta = math.nan
        if row.ok and ref is not None and ref.ok:
            delta = (row.loss - ref.loss) / ref.loss
        verdict = ""
        if row.fp8 and row.ok:
            verdict = "PASS" if abs(delta) <= FP8_TOLERANCE else "FAIL"
        r = row.result
        out.append(
            {
                "variant": row.name,
                "switches": row.switches,
                "status": r.get("status"),
                "message": r.get("message"),
                "micro_batch": r.get("micro_batch"),
                "accumulation": r.get("accumulation"),
                "tokens_per_s": r.get("tokens_per_s"),
                "tflops_per_device": r.get("tflops_per_device"),
                "mfu": r.get("mfu"),
                "mfu_causal": r.get("mfu_causal"),
                "peak_gb": r.get("peak_gb"),
                "loss_last5": row.loss if row.ok else None,
                "ref": row.ref,
                "loss_vs_ref": None if math.isnan(delta) else delta,
                "vs_hf": None if math.isnan(ratio(row, hf)) else ratio(row, hf),
                "vs_sovtrain": None if math.isnan(ratio(row, sov)) else ratio(row, sov),
                "fp8_within_1pct": verdict or None,
                "losses": r.get("losses"),
                "peak_tflops": r.get("peak_tflops"),
                "step_s": r.get("step_s"),
            }
        )
    return out


def render(lines: list[dict[str, Any]], title: str, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    def num(value: Any, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    table = Table(title=title)
    columns = (
        "variant",
        "micro",
        "tokens/s",
        "TFLOPS/dev",
        "mfu",
        "mfu_causal",
        "peak GB",
        "loss (last 5)",
        "ref",
        "loss vs ref",
        "vs HF",
        "vs sovtrain",
        "fp8 <=1%",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("variant", "ref") else "right")
    for x in lines:
        if x["status"] != "ok":
            table.add_row(
                x["variant"],
                num(x["micro_batch"], "d"),
                f"{x['status']}: {x['message']}",
                *[""] * (len(columns) - 3),
            )
            continue
        table.add_row(
            x["variant"],
            f"{x['micro_batch']}x{x['accumulation']}",
            num(x["tokens_per_s"], ",.0f"),
            num(x["tflops_per_device"], ".3g"),
            num(x["mfu"], ".1%"),
            num(x["mfu_causal"], ".1%"),
            num(x["peak_gb"], ".1f"),
            num(x["loss_last5"], ".4f"),
            x["ref"] or "-",
            num(x["loss_vs_ref"], "+.2%"),
            num(x["vs_hf"], ".3f"),
            num(x["vs_sovtrain"], ".3f"),
            x["fp8_within_1pct"] or "",
        )
    console = Console(width=220, record=True)
    console.print(table)
    for x in lines:
        if x["status"] == "ok":
            console.print(f"  {x['variant']}: switches {x['switches']}")
    (out / "gpu_throughput.txt").write_text(console.export_text())


def environment() -> dict[str, Any]:
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    return {
        "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "runs/bench-gpu"))
    parser.add_argument("--data", help="prepared data dir (default: OUT/data; GPU: carried)")
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument("--global-batch", type=int, default=None, help="sequences per step")
    parser.add_argument(
        "--probe",
        type=int,
        nargs="+",
        default=[16, 8],
        help="micro batches to try, descending, for the largest that fits",
    )
    parser.add_argument("--budget-s", type=float, default=None, help="stop starting variants")
    parser.add_argument("--with-7b", action="store_true")
    parser.add_argument("--steps-7b", type=int, default=4)
    parser.add_argument("--tiny", action="store_true", help="CPU dry run on the smoke recipe")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
    args.global_batch = args.global_batch or (16 if args.tiny else 32)
    out = Path(args.out).resolve()
    if args.prepare_only:  # the carried data for the device (`bench/prepare_gpu_data.sh`)
        recipe = RECIPE_TINY if args.tiny else RECIPE_1B
        data = str(Path(args.data or out / "data").resolve())
        over = [*([] if args.tiny else GPU_DATA_OVERRIDES), f"data.prepared_uri={data}"]
        result = Runner(out, None, 0, 0).run("prepare data", "prepare", recipe, over)
        raise SystemExit(0 if result.get("status") == "ok" else result.get("message"))
    started = time.monotonic()
    rows, setup = bench(args)
    lines = table_rows(rows)
    env = environment()
    title = (
        f"{'CPU dry run: ' if args.tiny else ''}{setup['recipe']} on {env['device']}, "
        f"global batch {args.global_batch} seqs, {args.steps} timed steps after "
        f"{args.warmup}"
    )
    render(lines, title, out)
    report = {
        "setup": setup,
        "environment": env,
        "rows": lines,
        "wall_s": time.monotonic() - started,
    }
    (out / "gpu_throughput.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {out / 'gpu_throughput.json'} and gpu_throughput.txt")


if __name__ == "__main__":
    if "--worker" in sys.argv:  # before anything imports deepspeed
        import torch

        if not torch.cuda.is_available():
            os.environ.setdefault("DS_ACCELERATOR", "cpu")
    main()
