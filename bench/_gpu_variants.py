"""The worker half of `gpu_throughput.py`: one variant, timed, in this (fresh) process.

Why a separate process per variant: Liger patches transformers' modules globally, compile
and fp8 swap modules, and `torch.cuda.max_memory_allocated` is per process; a variant run
after another would inherit all three. The parent writes a `Spec` as JSON, starts
`gpu_throughput.py --worker SPEC`, and reads back the result JSON this module writes.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RECIPE_1B = REPO / "recipes/pretrain/finance-1b.yaml"
RECIPE_7B = REPO / "recipes/pretrain/finance-7b.yaml"
RECIPE_TINY = REPO / "recipes/pretrain/finance-smoke.yaml"
# The 1B (and 7B: same tokenizer and data sections) recipe's data, small enough to carry to
# the device (the full corpus is 2M documents and a 2e9-character tokenizer sample). The
# prepared data's key digests these values: the bench and `prepare_gpu_data.sh` must use
# the same ones, so both read them from here.
GPU_DATA_OVERRIDES = [
    "data.sources.0.documents=20000",
    "tokenizer.train_chars=20000000",
    "data.shard_sequences=512",
]
LAST_N = 5  # the loss column: mean over the last 5 measured steps


@dataclass
class Spec:
    """One variant's run, as the parent tells the worker (JSON on disk)."""

    name: str
    kind: str  # "sovtrain", "hf-trainer" or "prepare"
    recipe: str
    overrides: list[str]
    steps: int
    warmup: int
    result: str  # where the worker writes its result JSON
    env: dict[str, str] = field(default_factory=dict)


def common_overrides(data_uri: str, run_dir: str, global_batch: int, steps: int) -> list[str]:
    """What every variant shares: the data, the global batch, a schedule whose horizon is the
    run itself (warmup 5, then cosine over the measured steps, as the HF row uses too) and
    nothing that writes or syncs outside the step (tracking off, no checkpoint, no eval)."""
    return [
        f"data.prepared_uri={data_uri}",
        f"run.output_uri={run_dir}",
        f"train.global_batch_sequences={global_batch}",
        f"train.max_steps={steps}",
        "train.optimizer.warmup_steps=5",
        "tracking.enabled=false",
        "checkpoint.interval_steps=100000000",
        "train.eval_interval=100000000",
    ]


def is_oom(err: BaseException) -> bool:
    import torch

    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def peak_gb() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None


def rates(
    tokens_per_step: int, seconds: float, steps: int, flops: int, causal: int, peak: float
) -> dict[str, float]:
    """Tokens/s and MFU over the measured steps (world size 1: per device = total)."""
    rate = steps * tokens_per_step / seconds if seconds > 0 else math.nan
    return {
        "tokens_per_s": rate,
        "tflops_per_device": rate * flops / 1e12,
        "mfu": rate * flops / peak,
        "mfu_causal": rate * causal / peak,
        "step_s": seconds / steps if steps else math.nan,
    }


def measured_seconds(stamps: list[float], warmup: int) -> float:
    """`stamps[0]` is before step 1, `stamps[i]` after step i (synced): steps after warmup."""
    return stamps[-1] - stamps[warmup]


def run_prepare(spec: Spec) -> dict[str, Any]:
    from sovtrain.data.prepare import prepare
    from sovtrain.recipe import load_recipe

    started = time.perf_counter()
    prepare(load_recipe(spec.recipe, spec.overrides).recipe, show_progress=False)
    return {"status": "ok", "seconds": time.perf_counter() - started}


def run_sovtrain(spec: Spec) -> dict[str, Any]:
    """The real loop body, as `bench/step_time.py` drives it: `train_step`, then the loss
    (the one sync per step; the HF row reads its loss every step too)."""
    from sovtrain import storage
    from sovtrain.core.errors import HardwareError
    from sovtrain.data.shards import read_manifest
    from sovtrain.model.build import build_config
    from sovtrain.model.flops import model_cost
    from sovtrain.recipe import load_recipe
    from sovtrain.train.session import open_session

    loaded = load_recipe(spec.recipe, spec.overrides)
    recipe = loaded.recipe
    try:
        session = open_session(loaded, resume="never")
    except HardwareError as err:
        return {"status": "skipped", "message": str(err)}
    trainer = session.trainer
    vocab = read_manifest(storage.join(recipe.data.prepared_uri, "shards"))["vocab_size"]
    cost = model_cost(build_config(recipe.model, vocab), recipe.train.seq_len)
    stamps, losses = [time.perf_counter()], []
    for _ in range(spec.warmup + spec.steps):
        trainer.train_step()
        loss, bad = trainer.accumulator.collect()
        losses.append(loss if not bad else math.nan)
        stamps.append(time.perf_counter())
    seconds = measured_seconds(stamps, spec.warmup)
    trainer.loader.close()
    return {
        "status": "ok",
        "micro_batch": recipe.train.micro_batch,
        "accumulation": trainer.accumulation,
        "losses": losses,
        "peak_gb": peak_gb(),
        "peak_tflops": session.peak / 1e12,
        **rates(
            recipe.train.tokens_per_step,
            seconds,
            spec.steps,
            session.flops_per_token,
            cost.flops_per_token_causal,
            session.peak,
        ),
    }


def run_hf_trainer(spec: Spec) -> dict[str, Any]:
    """transformers `Trainer` with the same DeepSpeed config, model, rows in the same order,
    AdamW hyperparameters and LR schedule: what a user would run instead of sovtrain."""
    import torch
    from torch.optim.lr_scheduler import LambdaLR
    from transformers import Trainer, TrainerCallback, TrainingArguments, default_data_collator

    from sovtrain import storage
    from sovtrain.data.loader import PackedDataset, StreamSampler
    from sovtrain.data.shards import read_manifest
    from sovtrain.model.build import build_config, build_model
    from sovtrain.model.flops import model_cost
    from sovtrain.model.peak import peak_flops
    from sovtrain.recipe import load_recipe
    from sovtrain.train.ds_config import deepspeed_config
    from sovtrain.train.optim import warmup_cosine

    recipe = load_recipe(spec.recipe, spec.overrides).recipe
    train, opt = recipe.train, recipe.train.optimizer
    shards_uri = storage.join(recipe.data.prepared_uri, "shards")
    vocab = read_manifest(shards_uri)["vocab_size"]
    cuda = torch.cuda.is_available()
    data = PackedDataset(shards_uri, "train")
    total = spec.warmup + spec.steps
    # sovtrain's stream at world size 1 is one permutation walk whatever the micro batch:
    # the same rows, in the same order, as every sovtrain row reads
    order = StreamSampler(len(data), recipe.run.seed, 0, 1, total * train.sequences_per_step)
    rows = torch.from_numpy(data.rows(order.next_indices()))

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(rows)

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            return {"input_ids": rows[i], "labels": rows[i]}

    stamps: list[float] = []
    losses: list[float] = []

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            stamps.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            stamps.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    class SameSchedule(Trainer):
        """sovtrain's warmup + cosine (HF's starts its warmup at lr 0, one step behind)."""

        def create_scheduler(self, num_training_steps: int, optimizer=None):
            self.lr_scheduler = LambdaLR(
                optimizer or self.optimizer, warmup_cosine(opt, train.total_steps)
            )
            return self.lr_scheduler

    args = TrainingArguments(
        output_dir=str(Path(spec.result).parent / f"hf-{spec.name}"),
        max_steps=total,
        per_device_train_batch_size=train.micro_batch,
        gradient_accumulation_steps=train.grad_accumulation(1),
        learning_rate=opt.lr,
        weight_decay=opt.weight_decay,
        adam_beta1=opt.betas[0],
        adam_beta2=opt.betas[1],
        adam_epsilon=opt.eps,
        max_grad_norm=train.grad_clip,
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        bf16=train.precision == "bf16",
        deepspeed=deepspeed_config(recipe, world_size=1),
        train_sampling_strategy="sequential",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=recipe.run.seed,
        dataloader_num_workers=0,
        use_cpu=not cuda,
    )
    model = build_model(recipe.model, vocab, recipe.run.seed, attn="sdpa")
    trainer = SameSchedule(
        model=model, args=args, train_dataset=Rows(), data_collator=default_data_collator
    )
    trainer.add_callback(Clock())
    trainer.train()
    cost = model_cost(build_config(recipe.model, vocab), train.seq_len)
    device = torch.device("cuda", 0) if cuda else torch.device("cpu")
    peak = peak_flops(device, train.weights_precision)
    seconds = measured_seconds(stamps, spec.warmup)
    return {
        "status": "ok",
        "micro_batch": train.micro_batch,
        "accumulation": train.grad_accumulation(1),
        "losses": losses,
        "peak_gb": peak_gb(),
        "peak_tflops": peak / 1e12,
        **rates(
            train.tokens_per_step,
            seconds,
            spec.steps,
            cost.flops_per_token,
            cost.flops_per_token_causal,
            peak,
        ),
    }


def worker_main(spec_path: str) -> None:
    """Run one spec; always write a result (ok, skipped, oom or error) and exit quickly."""
    spec = Spec(**json.loads(Path(spec_path).read_text()))
    runner = {"sovtrain": run_sovtrain, "hf-trainer": run_hf_trainer, "prepare": run_prepare}
    try:
        result = runner[spec.kind](spec)
    except Exception as err:
        traceback.print_exc()
        status = "oom" if is_oom(err) else "error"
        result = {
            "status": status,
            "message": f"{type(err).__name__}: {err}"[:400],
            "peak_gb": peak_gb(),
        }
    Path(spec.result).write_text(json.dumps({"spec": asdict(spec), **result}, indent=1))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip slow interpreter teardown of DeepSpeed / process-group state


class Runner:
    """Starts each variant's subprocess under what is left of the time budget."""

    def __init__(self, out: Path, budget_s: float | None, steps: int, warmup: int) -> None:
        self.out, self.steps, self.warmup = out, steps, warmup
        self.deadline = time.monotonic() + budget_s if budget_s else math.inf
        (out / "logs").mkdir(parents=True, exist_ok=True)
        self.durations: list[float] = []

    def run(
        self,
        name: str,
        kind: str,
        recipe: Path,
        overrides: list[str],
        steps: int | None = None,
        warmup: int | None = None,
    ) -> dict[str, Any]:
        left = self.deadline - time.monotonic()
        typical = max(self.durations, default=0.0)
        if left < max(30.0, 0.5 * typical):
            return {"status": "skipped", "message": f"time budget ({left:.0f} s left)"}
        slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
        result = self.out / "logs" / f"{slug}.json"
        result.unlink(missing_ok=True)
        spec = Spec(
            name,
            kind,
            str(recipe),
            overrides,
            steps or self.steps,
            self.warmup if warmup is None else warmup,
            str(result),
        )
        spec_path = self.out / "logs" / f"{slug}.spec.json"
        spec_path.write_text(json.dumps(asdict(spec), indent=1))
        started = time.monotonic()
        env = {**os.environ, **worker_env(kind)}
        script = Path(__file__).with_name("gpu_throughput.py")
        cmd = [sys.executable, str(script), "--worker", str(spec_path)]
        print(f"[bench] {name}: running ({left:.0f} s of budget left)", flush=True)
        with open(self.out / "logs" / f"{slug}.log", "w") as log:
            try:
                code = subprocess.run(
                    cmd,
                    env=env,
                    cwd=REPO,  # recipes name data_cards/ relative to the repo root
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=None if math.isinf(left) else left,
                ).returncode
            except subprocess.TimeoutExpired:
                return {"status": "skipped", "message": "time budget (killed mid-run)"}
        self.durations.append(time.monotonic() - started)
        if not result.exists():
            return {
                "status": "error",
                "message": f"worker exited {code} with no result (see logs/{slug}.log)",
            }
        data = json.loads(result.read_text())
        print(f"[bench] {name}: {data['status']} in {self.durations[-1]:.0f} s", flush=True)
        return data


def worker_env(kind: str) -> dict[str, str]:
    """The HF Trainer (accelerate + DeepSpeed) wants a one-rank torch.distributed world in
    its environment; sovtrain's `init_distributed` sets its own."""
    env = {"MLFLOW_LOGGING_LEVEL": "WARNING", "TOKENIZERS_PARALLELISM": "false"}
    if kind == "hf-trainer":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK="0",
            WORLD_SIZE="1",
            LOCAL_RANK="0",
            LOCAL_WORLD_SIZE="1",
        )
    return env
