"""`sovtrain train` and `sovtrain flops`: run a recipe, or price it first."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from sovtrain.cli.options import ClusterOpt, RecipeArg, SetOpt, default_cluster, load
from sovtrain.core.errors import SovtrainError


def train(
    recipe: RecipeArg,
    set_: SetOpt = None,
    resume: Annotated[
        str, typer.Option(help="auto: newest verified checkpoint; never; or a checkpoint URI.")
    ] = "auto",
    nproc: Annotated[
        int, typer.Option(help="Start N local data-parallel processes (via torchrun).")
    ] = 1,
    peak_tflops: Annotated[
        float | None, typer.Option(help="Peak TFLOPS per device for MFU (default: table/probe).")
    ] = None,
    stop_after: Annotated[
        int | None,
        typer.Option(help="Checkpoint and exit after N steps of this invocation; rerun continues."),
    ] = None,
    cluster: ClusterOpt = "",
) -> None:
    """Pre-train a model with DeepSpeed. Rerunning the same command continues the run.

    Residency admission runs before anything starts; every storage access is then checked
    and written to the run's audit log.
    """
    loaded = load(recipe, set_)  # validate before spawning anything
    from sovtrain.distributed.launch import in_distributed_launch, relaunch_with_torchrun
    from sovtrain.governance.admission import enforce

    cluster = cluster or default_cluster()
    if nproc > 1 and not in_distributed_launch():
        enforce(loaded.recipe, cluster, loaded.recipe.run.name, install=False)
        relaunch_with_torchrun(nproc)
    from sovtrain.eval.harness_cadence import harness_hooks
    from sovtrain.train.report import print_summary
    from sovtrain.train.requeue import end_stopped_invocation
    from sovtrain.train.session import run_training

    session, summary = run_training(
        loaded, resume=resume, peak_tflops=peak_tflops, stop_after=stop_after, cluster=cluster,
        hook_factories=(harness_hooks,),  # eval.harness, when the recipe has it
    )  # fmt: skip
    if session.ctx.is_main:
        print_summary(session, summary)
    # a signalled stop before the end: leave the requeue marker, or exit 75
    end_stopped_invocation(summary, session.trainer.total_steps, session.ctx.is_main)


def flops(
    recipe: RecipeArg,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    gpus: Annotated[int | None, typer.Option(help="Devices for the wall-time estimate.")] = None,
    device: Annotated[str, typer.Option(help="Device type: h100, h200, h800, h20, ...")] = "h100",
    tokens: Annotated[float | None, typer.Option(help="Training tokens D.")] = None,
    mfu: Annotated[float, typer.Option(help="Assumed model FLOPs utilisation.")] = 0.4,
) -> None:
    """Parameters and training FLOPs per token; with --gpus/--tokens, wall time and GPU-hours.

    The compute part of `sovtrain plan`, kept for scripts that read its keys."""
    from sovtrain.model.build import build_config
    from sovtrain.model.flops import estimate_wall_time, model_cost
    from sovtrain.model.peak import lookup_tflops

    r = load(recipe, set_).recipe
    cost = model_cost(build_config(r.model, r.tokenizer.vocab_size), r.train.seq_len)
    out: dict[str, float | int | str] = {
        "params": cost.params,
        "flops_per_token": cost.flops_per_token,
        "flops_per_token_causal": cost.flops_per_token_causal,
        "seq_len": cost.seq_len,
    }
    if gpus and tokens:
        try:
            peak = lookup_tflops(device, r.train.weights_precision) * 1e12
        except KeyError as err:
            raise SovtrainError(str(err)) from None
        out.update(device=device, gpus=gpus, tokens=tokens, mfu=mfu)
        out.update(estimate_wall_time(cost, tokens, gpus, peak, mfu))
    if as_json:
        typer.echo(json.dumps(out))
        return
    for key, value in out.items():
        text = (
            f"{value:,.4g}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else value
        )
        typer.echo(f"{key:>18}: {text}")
