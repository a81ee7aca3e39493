"""The step loop: get batch -> forward -> backward -> step -> hooks.

Everything that is not the loop (metrics, eval and checkpoint cadences, the progress bar)
is a hook called at the step boundary (`hooks.py`, `cadence.py`); the loop itself only asks,
after each step, where it stands (`StepEnd`: the end? a pause? did the ranks agree to stop
on a signal?). Nothing in `train_step` reads a device value back to the host, so on a GPU
the CPU runs ahead and keeps the device queue full; the stop agreement is a one-byte
collective on a host (gloo) group, so it never drains that queue either.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from sovtrain.core.errors import TrainingDiverged
from sovtrain.data.loader import BatchLoader, PackedDataset, fixed_batches, make_sampler
from sovtrain.distributed.collectives import any_rank
from sovtrain.distributed.context import DistContext
from sovtrain.distributed.signals import process_stop_request
from sovtrain.distributed.watchdog import UNWATCHED, Progress
from sovtrain.recipe.load import LoadedRecipe
from sovtrain.tracking import Tracker
from sovtrain.train.cadence import EvalCadence, default_hooks
from sovtrain.train.checkpoint import SavedCheckpoint, step_name
from sovtrain.train.energy import EnergyMeter
from sovtrain.train.hooks import Hook, Hooks, StepEnd
from sovtrain.train.metrics import DeviceAccumulator, ThroughputMeter

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """What a checkpoint must carry besides weights and optimizer state."""

    step: int = 0
    tokens_seen: int = 0
    data_position: int = 0
    recipe_digest: str = ""
    mlflow_run_id: str | None = None
    world_size: int = 1  # the ranks that wrote it: a resume on another count reshards
    # the world size the run started at fixes its held-out set (`train.eval_batches` micro
    # batches per rank of it), so eval_loss measures the same rows after a resize
    eval_world_size: int = 1
    saved_for: str = (
        "interval"  # why the checkpoint was written: interval | final | pause | SIGUSR1 ...
    )
    # GPU board energy of the whole job so far, J (`train/energy.py`), and the same with
    # each window times its site's PUE; None: never measured (CPU runs, checkpoints older
    # than energy metering, which a metered resume then counts from)
    energy_j: float | None = None
    energy_site_j: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RunSummary:
    final_step: int
    tokens_seen: int
    train_loss: float
    eval_loss: float
    tokens_per_s: float
    mfu: float  # full attention; `mfu_causal` counts its causal half (`model/flops.py`)
    last_checkpoint: SavedCheckpoint | None
    losses: list[tuple[int, float]] = field(default_factory=list)
    stopped_by: str | None = None  # the signal that made this invocation checkpoint and stop
    # model.init_from runs: the base's held-out loss at step 0, before any update (NaN on a
    # resumed invocation, or when the run starts from scratch)
    eval_loss_before: float = math.nan
    eval_step: int | None = None  # the step `eval_loss` was measured at
    mfu_causal: float = math.nan
    # GPU board energy, J: the run's total, the same x site PUE, this invocation's share;
    # None when this invocation measured none (CPU, no NVML)
    energy_j: float | None = None
    energy_site_j: float | None = None
    energy_invocation_j: float | None = None


class CheckpointWriter(Protocol):
    """The one call that writes a checkpoint (`CheckpointStore` is the synchronous one,
    `AsyncCheckpointWriter` the one that publishes in the background)."""

    def save(self, engine: Any, state: dict[str, Any]) -> SavedCheckpoint | None:
        """The published checkpoint, or None: staged, published by the time `drain` returns."""
        ...

    def drain(self, agree: bool = True) -> SavedCheckpoint | None:
        """Wait for the save in flight; the checkpoint it published (None if none was)."""
        ...


class Trainer:
    """Owns one DeepSpeed engine and drives it to `train.total_steps`."""

    extra_hooks: Sequence[Hook] = ()  # after the default cadences (e.g. harness evals)
    # progress marks for the stall watchdog (`distributed/watchdog.py`), armed in `run`
    watchdog: Progress = UNWATCHED
    energy: EnergyMeter = EnergyMeter(None, "no energy meter was given")  # no keys logged

    def __init__(
        self,
        loaded: LoadedRecipe,
        ctx: DistContext,
        engine: Any,
        shards_uri: str,
        store: CheckpointWriter,
        state: TrainState,
        meter: ThroughputMeter,
        tracker: Tracker,
        extra_hooks: Sequence[Hook] = (),
        watchdog: Progress = UNWATCHED,
        energy: EnergyMeter | None = None,
    ) -> None:
        self.recipe = loaded.recipe
        self.ctx = ctx
        self.engine = engine
        self.store = store
        self.state = state
        self.meter = meter
        self.tracker = tracker
        self.extra_hooks = tuple(extra_hooks)
        self.watchdog = watchdog
        self.energy = energy if energy is not None else EnergyMeter(None, "no energy meter")
        train = self.recipe.train
        self.accumulation = train.grad_accumulation(ctx.world_size)
        self.total_steps = train.total_steps
        self.heldout = PackedDataset(shards_uri, "heldout")
        dataset = PackedDataset(shards_uri, "train")
        self.channels = dataset.channels
        sampler = make_sampler(
            dataset, self.recipe.data.mixture, self.recipe.run.seed, ctx.rank,
            ctx.world_size, train.micro_batch, position=state.data_position,
        )  # fmt: skip

        self.loader = BatchLoader(dataset, sampler, ctx.device)
        self.accumulator = DeviceAccumulator(ctx.device)
        self.losses: list[tuple[int, float]] = []
        self._rates: list[dict[str, float]] = []
        self._last_saved: SavedCheckpoint | None = None
        self.stop = process_stop_request()
        self.hooks = Hooks()

    # ------------------------------------------------------------------ the loop
    def run(self, stop_after: int | None = None) -> RunSummary:
        """Train to `total_steps`, or for `stop_after` steps of this invocation (then checkpoint
        and return, so a rerun continues: chunked jobs on time-limited partitions)."""
        start_step = self.state.step
        self.meter.reset(self.state.tokens_seen, start_step)
        state = self.state
        self.energy.start(state.energy_j, state.energy_site_j, state.tokens_seen)
        cadences = default_hooks(self.recipe, self.ctx.is_main, start_step, self.total_steps)
        self.hooks = Hooks([*cadences, *self.extra_hooks])
        end: StepEnd | None = None
        self._raised = False  # this invocation's: set when the loop raises
        with self.stop, self.watchdog.armed():  # a rank stuck in here ends the job
            try:
                self.hooks.pre_train(self)
                while self.state.step < self.total_steps:
                    self.train_step()
                    end = self.step_end(start_step, stop_after)
                    self.hooks.post_step(self, end)
                    if end.stops:
                        break
            except BaseException:
                self._raised = True  # the drain in post_train must not wait on peers
                raise
            finally:
                self.hooks.post_train(self)
                self.loader.close()
        return self.summary(start_step, end)

    def train_step(self) -> None:
        """One optimizer step: `accumulation` micro batches, no host sync."""
        step = self.state.step + 1
        for _ in range(self.accumulation):
            self.mark(f"train step {step} (reading a batch)")
            batch = self.loader.next()
            self.mark(f"train step {step} (forward/backward/step)")
            loss = self.forward_loss(batch)
            self.engine.backward(loss)
            self.engine.step()
            self.accumulator.add(loss)
        self.state.step += 1
        self.state.tokens_seen += self.recipe.train.tokens_per_step
        self.state.data_position = self.loader.position

    def forward_loss(self, batch: torch.Tensor) -> torch.Tensor:
        """Causal-LM loss. Chat rows carry [ids, loss mask, position ids]: the loss is on
        assistant tokens only, and restarting position ids keep packed examples apart."""
        if self.channels == 1:
            return self.engine(input_ids=batch, labels=batch, use_cache=False).loss
        rows = batch.view(batch.shape[0], self.channels, -1)
        ids, mask, positions = rows[:, 0], rows[:, 1], rows[:, 2]
        labels = ids.masked_fill(mask == 0, -100)
        # mean over this micro batch's targets; a batch with none gives 0, not 0/0 = NaN
        targets = (labels[:, 1:] != -100).sum().clamp(min=1)
        return self.engine(
            input_ids=ids, labels=labels, position_ids=positions, use_cache=False,
            num_items_in_batch=targets,
        ).loss  # fmt: skip

    def step_end(self, start_step: int, stop_after: int | None) -> StepEnd:
        """Where the step just taken stands. The ranks agree on a signalled stop here, every
        step, on the host group: one rank's SIGUSR1 stops all of them at this boundary,
        whatever `log_interval` is (a rank that stopped alone would hang the others)."""
        step = self.state.step
        self.mark(f"stop agreement after step {step}")
        agreed = any_rank(self.stop.requested, self.ctx.host_group)
        return StepEnd(
            step=step,
            last=step == self.total_steps,
            pause=stop_after is not None and step - start_step >= stop_after,
            signal=(self.stop.signal_name or "signal") if agreed else None,
        )

    def summary(self, start_step: int, end: StepEnd | None) -> RunSummary:
        evals = self.hooks.find(EvalCadence)
        eval_loss = evals.loss if evals else math.nan
        steps_run = self.state.step - start_step
        energy = self.energy
        return RunSummary(
            final_step=self.state.step,
            tokens_seen=self.state.tokens_seen,
            train_loss=self.losses[-1][1] if self.losses else math.nan,
            eval_loss=eval_loss,
            eval_step=evals.step if evals and not math.isnan(eval_loss) else None,
            tokens_per_s=_steady(self._rates, "tokens_per_s") if steps_run else math.nan,
            mfu=_steady(self._rates, "mfu") if steps_run else math.nan,
            mfu_causal=_steady(self._rates, "mfu_causal") if steps_run else math.nan,
            last_checkpoint=self._last_saved,
            losses=self.losses,
            stopped_by=end.signal if end else None,
            eval_loss_before=evals.before if evals else math.nan,
            energy_j=energy.total_j,
            energy_site_j=energy.site_j,
            energy_invocation_j=energy.invocation_j if energy.total_j is not None else None,
        )

    # ------------------------------------------------------------------ called by hooks
    def report(self) -> None:
        """Read the accumulated loss (the one sync), stop on NaN/inf, log everything."""
        self.mark(f"reading the loss at step {self.state.step}")
        loss, nonfinite = self.accumulator.collect()
        step = self.state.step
        if nonfinite:
            raise TrainingDiverged(
                f"loss became NaN/inf in {nonfinite} micro step(s) before step {step}; "
                "stopped without writing a checkpoint (lower train.optimizer.lr, check the "
                "data, or try precision=bf16 instead of fp16)"
            )
        rates = self.meter.measure(self.state.tokens_seen, step)
        self._rates.append(rates)
        metrics = {
            "loss": loss,
            "lr": self.engine.get_lr()[0],
            "grad_norm": _as_float(self.engine.get_global_grad_norm()),
            **rates,
            **self.energy.window(self.state.tokens_seen),  # absent when not measured
        }
        self._keep_energy()
        self.losses.append((step, loss))
        self.tracker.log_metrics(metrics, step)
        if self.ctx.is_main:
            log.info(
                "step %d/%d loss %.4f lr %.2e | %.0f tok/s | %.3g TFLOPS/dev | MFU %.1f%%",
                step,
                self.total_steps,
                loss,
                metrics["lr"],
                rates["tokens_per_s"],
                rates["tflops_per_device"],
                100 * rates["mfu"],
            )
            if "power_w" in metrics:
                log.info("step %d energy %.4g kWh | %.0f W | %.3g J/token", step,
                         metrics["energy_j"] / 3.6e6, metrics["power_w"],
                         metrics.get("energy_j_per_token", math.nan))  # fmt: skip

    def evaluate(self, note: str = "") -> float:
        """Mean loss on the same held-out rows every time (comparable across steps and world
        sizes); `note` says on the console what this eval stands for (e.g. the base, step 0)."""
        with self.aside(f"eval at step {self.state.step}"):
            acc = DeviceAccumulator(self.ctx.device)
            batches = fixed_batches(
                self.heldout,
                self.ctx.rank,
                self.ctx.world_size,
                self.recipe.train.micro_batch,
                self.recipe.train.eval_batches * self.state.eval_world_size,
            )
            for rows, counted in batches:
                batch = torch.from_numpy(rows).to(self.ctx.device, non_blocking=True)
                batch_loss = self.forward_loss(batch)  # padding rounds run, uncounted
                if counted:
                    acc.add(batch_loss)
            loss, _ = acc.collect()
        self.tracker.log_metrics({"eval_loss": loss}, self.state.step)
        if self.ctx.is_main:
            suffix = f" ({note})" if note else ""
            log.info("step %d eval_loss %.4f%s", self.state.step, loss, suffix)
        return loss

    @contextlib.contextmanager
    def aside(self, operation: str) -> Iterator[None]:
        """Work between two steps that is not training (eval, harness tasks): marked for the
        watchdog, the engine in eval mode without autograd, and its time kept out of the next
        throughput window, so tokens/s and MFU measure training alone."""
        started = time.perf_counter()
        self.mark(operation)
        self.engine.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.engine.train()
            self.meter.exclude(time.perf_counter() - started)

    def save_checkpoint(self, reason: str = "interval") -> SavedCheckpoint | None:
        """Write a checkpoint marked `saved_for=reason`; the hooks hear of each checkpoint
        once it is published: now (synchronous writer), or at the next save or the drain."""
        started = time.perf_counter()
        self.mark(f"checkpoint save {step_name(self.state.step)}")
        self.refuse_if_diverged()
        self._published(self.store.drain())  # the one in flight first: at most one
        self.state.saved_for = reason  # a signalled checkpoint is marked as such
        self.energy.sample()  # the state written carries the energy up to this save
        self._keep_energy()
        saved = self.store.save(self.engine, self.state.to_dict())
        self._published(saved)
        self.meter.exclude(time.perf_counter() - started)
        return saved

    def drain_checkpoint(self) -> None:
        """Wait for the checkpoint in flight (`post_train`). After a raise rank 0 only
        finishes publishing, agreeing on nothing, and a failed publish is logged, not
        raised over the error that stopped the loop."""
        self.mark(f"checkpoint drain after step {self.state.step}")
        if not self._raised:
            self._published(self.store.drain())
            return
        try:
            self._published(self.store.drain(agree=False))
        except Exception as err:
            log.error("the checkpoint in flight was not published: %s", err)

    def _keep_energy(self) -> None:
        """The meter's totals into the state a checkpoint carries (a meter that measured
        nothing leaves what the state carried: a GPU run resumed on CPUs keeps its total)."""
        if self.energy.total_j is not None:
            self.state.energy_j = self.energy.total_j
            self.state.energy_site_j = self.energy.site_j

    def mark(self, operation: str) -> None:
        """Tell the watchdog this rank progressed: it now does `operation`."""
        self.watchdog.mark(operation, self.state.step)

    def _published(self, saved: SavedCheckpoint | None) -> None:
        if saved is not None:
            self._last_saved = saved
            self.hooks.post_checkpoint_saved(self, saved)

    def refuse_if_diverged(self) -> None:
        """Never checkpoint weights that already saw a NaN: check the flag first."""
        if self.accumulator.nonfinite_count():
            raise TrainingDiverged(
                f"loss became NaN/inf before step {self.state.step}; checkpoint not written"
            )


def _as_float(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value.item() if isinstance(value, torch.Tensor) else value)


def _steady(rates: list[dict[str, float]], key: str) -> float:
    """Mean over logging windows, skipping the first (compilation, allocator warm-up)."""
    window = rates[1:] or rates
    return sum(r[key] for r in window) / len(window) if window else math.nan
