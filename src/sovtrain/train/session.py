"""Wire one training run together: data, model, engine, resume, tracking; then run the loop.

Order matters and is deliberate:
  1. distributed init (so rank 0 can prepare data while the others wait at a barrier),
  2. model (built, or the base loaded), its converters (LoRA ...), the DeepSpeed engine,
  3. resume (the sampler position and the MLflow run id come from the checkpoint),
  4. tracker (continues the resumed MLflow run: one logical run, one curve),
  5. the loop.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sovtrain import storage
from sovtrain.data.prepare import prepare
from sovtrain.data.shards import manifest_digest, read_manifest
from sovtrain.distributed.collectives import barrier, broadcast_object, set_timeout
from sovtrain.distributed.context import DistContext, init_distributed
from sovtrain.distributed.signals import process_stop_request
from sovtrain.distributed.watchdog import Watchdog, backstop_for
from sovtrain.governance.admission import Admission, check, finish_job, install_guard
from sovtrain.governance.lineage import compliance_tags, dataset_inputs
from sovtrain.model.build import build_config, build_model
from sovtrain.model.converters import convert_model
from sovtrain.model.flops import model_cost
from sovtrain.model.hardware import Accelerator, require_accelerator
from sovtrain.model.peak import device_key, peak_flops
from sovtrain.recipe.load import LoadedRecipe
from sovtrain.tracking import (
    FanOutTracker,
    MlflowTracker,
    NullTracker,
    SystemMetricsTracker,
    Tracker,
    default_tracking_uri,
    flatten,
    node_id,
)
from sovtrain.train.async_checkpoint import AsyncCheckpointWriter
from sovtrain.train.checkpoint import CheckpointStore, checkpoints_root
from sovtrain.train.ds_config import deepspeed_config
from sovtrain.train.energy import EnergyMeter, open_reader
from sovtrain.train.hooks import HookContext, HookFactory
from sovtrain.train.lease import RunBusy, RunLease, hold, release_held
from sovtrain.train.loop import RunSummary, Trainer
from sovtrain.train.metrics import ThroughputMeter
from sovtrain.train.optim import build_optimizer, warmup_cosine
from sovtrain.train.requeue import stopped_early
from sovtrain.train.resume import (
    plan_resume,
    report_world_size_change,
    resolve_base_weights,
    resume_state,
)

log = logging.getLogger(__name__)


@dataclass
class Session:
    """Everything a run needs, built once; `bench/` reuses it to time the same step."""

    loaded: LoadedRecipe
    ctx: DistContext
    trainer: Trainer
    tracker: Tracker
    ds_config: dict[str, Any]
    peak: float
    params: int
    flops_per_token: int
    resumed_from: str | None
    admission: Admission


def prepare_on_rank0(loaded: LoadedRecipe, ctx: DistContext) -> None:
    """Rank 0 builds (or reuses) the data; everyone else waits, then reads the manifest."""
    if ctx.is_main:
        prepare(loaded.recipe, show_progress=True)
    barrier()


def job_name(loaded: LoadedRecipe) -> str:
    """The audit log's job id: run name, plus the Slurm job when there is one."""
    slurm = os.environ.get("SLURM_JOB_ID")
    return f"{loaded.recipe.run.name}/slurm-{slurm}" if slurm else loaded.recipe.run.name


def build_engine(
    loaded: LoadedRecipe, ctx: DistContext, vocab_size: int, load_universal: bool = False
):
    """transformers model -> converters -> AdamW + schedule -> deepspeed.initialize.

    The converters (`model.converters`: Liger kernels, float8 linears, the chunked loss,
    LoRA) run in this one place, after the weights are in and before the optimizer sees the
    parameters; `train.compile` compiles the engine's module once DeepSpeed has wrapped it.
    `load_universal`: the checkpoint to resume was written at another world size.
    """
    import deepspeed
    from torch.optim.lr_scheduler import LambdaLR

    recipe = loaded.recipe
    config = deepspeed_config(recipe, ctx.world_size, load_universal)
    model: Any  # a transformers (or, converted, peft) model: their methods, not nn.Module's
    if recipe.model.init_from:
        model = start_from_base(loaded, ctx, vocab_size, config)
    else:  # fp32, seeded; DeepSpeed casts the params (masters come from the cast copies)
        model = build_model(recipe.model, vocab_size, recipe.run.seed)
    model = convert_model(model, recipe)
    if recipe.deepspeed.activation_checkpointing:
        model.activation_checkpointing_enable({"use_reentrant": False})
    optimizer = build_optimizer(model, recipe.train.optimizer, ctx.device)
    schedule = LambdaLR(optimizer, warmup_cosine(recipe.train.optimizer, recipe.train.total_steps))
    engine, _, _, _ = deepspeed.initialize(
        model=model, optimizer=optimizer, lr_scheduler=schedule, config=config
    )
    if recipe.train.compile:  # compiles the module in place: the state dict keeps its keys
        engine.compile()
    return engine, config


def start_from_base(
    loaded: LoadedRecipe, ctx: DistContext, vocab_size: int, ds_config: dict[str, Any]
) -> Any:
    """The `model.init_from` weights, loaded lean (one copy per rank in the training
    precision; partitioned as read under ZeRO-3) with a clear error on mismatch. A run's
    checkpoint is picked once, on rank 0. (LoRA and other converters come after, in
    `build_engine`.)"""
    from sovtrain.model.load import load_base

    recipe = loaded.recipe
    init_from = recipe.model.init_from or ""
    base = resolve_base_weights(init_from, rank=ctx.rank, world_size=ctx.world_size)
    zero3 = recipe.deepspeed.zero_stage == 3
    return load_base(
        base,
        build_config(recipe.model, vocab_size),
        precision=recipe.train.weights_precision,
        attn=recipe.model.attn_implementation,
        where=init_from,
        exact=recipe.train.weights_precision
        == "fp32",  # a bf16 fine-tune rounds the masters anyway
        rank=ctx.rank,
        ds_config=ds_config if zero3 else None,
    )


def claim_run(loaded: LoadedRecipe, ctx: DistContext, cluster: str) -> Admission:
    """Admission, then the run directory's lease (rank 0; every rank learns the verdict),
    then the audit log and guard: a refused or second writer leaves no record in the run."""
    recipe, job = loaded.recipe, job_name(loaded)
    admission = check(recipe, cluster, job)
    if recipe.model.init_from:  # the base's config with the recipe's overrides: a shape
        build_config(recipe.model)  # change is refused here, before anything is written
    busy: str | None = None
    if ctx.is_main:
        lease = RunLease(recipe.run.output_uri, recipe.run.name)
        try:
            lease.acquire()
            hold(lease)
        except RunBusy as err:
            busy = str(err)
    busy = broadcast_object(busy, src=0)
    if busy is not None:
        raise RunBusy(busy)
    return install_guard(admission, recipe, job, ctx.rank)


def git_sha() -> str:
    env = os.environ.get("SOVTRAIN_GIT_SHA")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def make_tracker(loaded: LoadedRecipe, ctx: DistContext, run_id: str | None) -> Tracker:
    """Rank 0's MLflow run (a `NullTracker` elsewhere), plus MLflow's system metrics on the
    first rank of each host in a GPU run."""
    return with_system_metrics(mlflow_tracker(loaded, ctx, run_id), loaded, ctx)


def with_system_metrics(tracker: Tracker, loaded: LoadedRecipe, ctx: DistContext) -> Tracker:
    """GPU runs only (a CPU run's tests must not depend on a sampling thread): every rank
    learns rank 0's run, the first local rank of each host samples its host. An embedded
    store (a sqlite file in the run directory) has one writer host: rank 0's only."""
    tracking = loaded.recipe.tracking
    if ctx.device.type != "cuda" or not tracking.enabled:
        return tracker
    run_id, uri = broadcast_object((tracker.run_id, getattr(tracker, "tracking_uri", None)))
    if ctx.local_rank != 0 or run_id is None or uri is None:
        return tracker
    if tracking.uri is None and not ctx.is_main:
        return tracker
    system = SystemMetricsTracker.start(uri, run_id, node_id())
    return tracker if system is None else FanOutTracker([tracker, system])


def mlflow_tracker(loaded: LoadedRecipe, ctx: DistContext, run_id: str | None) -> Tracker:
    recipe = loaded.recipe
    if not ctx.is_main or not recipe.tracking.enabled:
        return NullTracker()
    local_out = storage.local_path(recipe.run.output_uri)
    uri, artifacts, pinned_store = recipe.tracking.uri, None, None
    from sovtrain.tracking import spool_dir

    # pinned: the backlog, file snapshots and the embedded store land where the guard
    # approved, even if the run directory is swapped for a link later (the descriptors live
    # as long as the process)
    if uri is None:  # embedded store: keep its artifacts inside the run directory too
        uri = default_tracking_uri(recipe.run.output_uri, local_out)
        if local_out is not None:
            run_dir = storage.pin_dir(str(local_out), purpose="tracking")
            artifacts = f"{run_dir.canonical}/mlartifacts"
            pinned_store = (run_dir.canonical, run_dir.path)
    spool = storage.pin_dir(str(spool_dir(recipe.run.output_uri)), purpose="tracking")
    return MlflowTracker(
        uri,
        recipe.tracking.experiment,
        recipe.run.name,
        run_id=run_id,
        artifact_location=artifacts,
        queue_size=recipe.tracking.queue_size,
        spool=spool.path,  # outage backlog: <run dir>/tracking/
        pinned_store=pinned_store,
    )


def energy_meter(ctx: DistContext, admission: Admission) -> EnergyMeter:
    """This rank's GPU energy counter (none on a CPU or without NVML: no energy metrics),
    with the PUE of the site the admission placed the run on."""
    reader, why_not = open_reader(ctx.device)
    pue = admission.site.cluster.pue
    return EnergyMeter(reader, why_not, ctx.host_group, pue=pue, is_main=ctx.is_main)


def log_run_metadata(session: Session) -> None:
    """Params, tags and artifacts that make a run reproducible and findable."""
    loaded, ctx, tracker = session.loaded, session.ctx, session.tracker
    params = flatten(loaded.resolved_dict())
    params.update(
        world_size=str(ctx.world_size),
        grad_accumulation=str(session.trainer.accumulation),
        model_params=str(session.params),
        flops_per_token=str(session.flops_per_token),
        peak_flops_per_device=f"{session.peak:.4g}",
    )
    tracker.log_params(params)
    tracker.set_tags(
        {
            "git_sha": git_sha(),
            "world_size": str(ctx.world_size),
            "device": device_key(ctx.device),
            "launcher": ctx.launcher,
            "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""),
            "recipe_digest": loaded.digest,
            "output_uri": loaded.recipe.run.output_uri,
            "resumed_from": session.resumed_from or "",
            "site_pue": f"{session.admission.site.cluster.pue:g}",
        }
    )
    tracker.set_tags(compliance_tags(session.admission))
    shards_uri = storage.join(loaded.recipe.data.prepared_uri, "shards")
    datasets: list[Mapping[str, Any]] = list(
        dataset_inputs(session.admission, shards_uri, manifest_digest(shards_uri))
    )
    tracker.log_datasets(datasets)
    tracker.log_text(loaded.resolved_yaml(), "recipe.resolved.yaml")
    tracker.log_dict(session.ds_config, "deepspeed_config.json")
    if ctx.is_main:
        storage.write_text_atomic(
            storage.join(loaded.recipe.run.output_uri, "recipe.resolved.yaml"),
            loaded.resolved_yaml(),
            purpose="artifact",
        )


def open_session(
    loaded: LoadedRecipe,
    resume: str = "auto",
    peak_tflops: float | None = None,
    cluster: str = "local",
    hook_factories: Sequence[HookFactory] = (),
) -> Session:
    recipe = loaded.recipe
    ctx = init_distributed(recipe.train.setup_timeout_s)  # the loop's bound comes later
    require_accelerator(recipe, Accelerator.of(ctx.device))  # fp8, liger: before any write
    admission = claim_run(loaded, ctx, cluster)  # before any byte moves
    prepare_on_rank0(loaded, ctx)
    shards_uri = storage.join(recipe.data.prepared_uri, "shards")
    vocab_size = read_manifest(shards_uri)["vocab_size"]
    store = CheckpointStore(
        checkpoints_root(recipe.run.output_uri),
        ctx.rank,
        ctx.world_size,
        recipe.checkpoint.keep_last,
    )
    plan = plan_resume(store, resume)  # before the engine: a resharded load configures it
    engine, config = build_engine(loaded, ctx, vocab_size, plan.universal)
    state, resumed_from = resume_state(plan, engine, loaded.digest, recipe.run.seed)
    # a checkpoint's run id wins; else the run `sovtrain slurm submit` created for this job
    run_id = state.mlflow_run_id or os.environ.get("SOVTRAIN_MLFLOW_RUN_ID") or None
    tracker = make_tracker(loaded, ctx, run_id)
    report_world_size_change(plan, recipe.train, state.step, tracker)
    state.mlflow_run_id = tracker.run_id if ctx.is_main else state.mlflow_run_id
    cost = model_cost(build_config(recipe.model, vocab_size), recipe.train.seq_len)
    peak = peak_flops(ctx.device, recipe.train.weights_precision, peak_tflops)  # fp8: bf16's
    meter = ThroughputMeter(cost.flops_per_token, peak, ctx.world_size, cost.flops_per_token_causal)
    writer = AsyncCheckpointWriter(store) if recipe.checkpoint.async_save else store
    watchdog = Watchdog.for_world(recipe.train.collective_timeout_s, ctx.rank, ctx.world_size)
    energy = energy_meter(ctx, admission)
    built = HookContext(loaded, ctx, engine.module, admission.lineage)
    trainer = Trainer(
        loaded, ctx, engine, shards_uri, writer, state, meter, tracker, watchdog=watchdog,
        energy=energy, extra_hooks=[hook for make in hook_factories for hook in make(built)],
    )  # fmt: skip
    session = Session(
        loaded, ctx, trainer, tracker, config, peak, cost.params, cost.flops_per_token,
        resumed_from, admission,
    )  # fmt: skip
    log_run_metadata(session)
    return session


def run_training(
    loaded: LoadedRecipe,
    resume: str = "auto",
    peak_tflops: float | None = None,
    stop_after: int | None = None,
    cluster: str = "local",
    hook_factories: Sequence[HookFactory] = (),
) -> tuple[Session, RunSummary]:
    """Train `loaded` to its end (or `stop_after` steps); `hook_factories` add cadences from
    packages above this one (the CLI passes the harness eval's), built once the engine is."""
    with process_stop_request():  # from here on USR1/SIGTERM mean "checkpoint and stop"
        try:
            return _train(loaded, resume, peak_tflops, stop_after, cluster, hook_factories)
        finally:
            release_held()


def _train(
    loaded: LoadedRecipe,
    resume: str,
    peak_tflops: float | None,
    stop_after: int | None,
    cluster: str,
    hook_factories: Sequence[HookFactory],
) -> tuple[Session, RunSummary]:
    session = open_session(loaded, resume, peak_tflops, cluster, hook_factories)
    # set-up is done: from here a collective waits the loop's bound (the watchdog's, plus
    # a margin so that its line naming the stalled rank comes first), not set-up's hours
    set_timeout(backstop_for(loaded.recipe.train.collective_timeout_s), session.ctx.host_group)
    status = "FAILED"
    try:
        summary = session.trainer.run(stop_after=stop_after)
        # a signalled stop before the end leaves the run open: the requeued job continues it
        status = "KILLED" if stopped_early(summary, session.trainer.total_steps) else "FINISHED"
        return session, summary
    finally:
        try:
            release_held()  # its last records belong in the audit head published next
            publish_audit(session)
        finally:
            session.tracker.finish(status)  # bounded wait; never raises


def publish_audit(session: Session) -> None:
    """The audit log as a run artifact, and its head as a tag (detects a truncated log).

    The job's io-totals records go in first (every rank's log), so the head covers them."""
    finish_job(session.admission)
    audit = session.admission.audit
    if audit is None or not session.ctx.is_main:
        return
    try:  # queued, snapshotted now: the head tag and the file agree
        session.tracker.set_tags({"audit.head": audit.head})
        session.tracker.log_file(audit.path, "audit")
    except Exception as err:  # publishing is best effort; it must not mask the run's outcome
        log.warning("could not publish the audit log %s to MLflow: %s", audit.path, err)
