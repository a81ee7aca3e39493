"""`sovtrain plan`: compute, energy, memory fit and communication of a recipe, on paper.

Thin: options are read and checked here, the profile's site facts and scheduler facts (GPU
type, GPUs per node) are joined into the planner's `SiteFacts`, and `sovtrain.plan` does the
arithmetic.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sovtrain.cli.options import RecipeArg, SetOpt, load
from sovtrain.core.errors import SovtrainError

if TYPE_CHECKING:
    from sovtrain.model.devices import DeviceSpec
    from sovtrain.plan.estimate import SiteFacts

Num = float | None


def _check(name: str, value: Num, low: float, high: float, low_open: bool = False) -> None:
    """One line naming the option when a number is not finite or out of its range."""
    if value is None:
        return
    bad_low = value <= low if low_open else value < low
    if not math.isfinite(value) or bad_low or value > high:
        side = "(" if low_open else "["
        raise SovtrainError(f"--{name} {value}: must be a finite number in {side}{low}, {high}]")


def _device(name: str, where: str = "--device") -> DeviceSpec:
    from sovtrain.model.devices import lookup_device

    try:
        return lookup_device(name)
    except KeyError as err:
        raise SovtrainError(f"{where}: {err.args[0]}") from None


def _site(cluster: str | None, overrides: dict[str, Any]) -> tuple[SiteFacts, str | None]:
    """Site facts from the profile (if any) under the command-line overrides; the profile's
    GPU type."""
    from sovtrain.plan.estimate import SiteFacts

    facts: dict[str, Any] = {}
    gpu_type = None
    if cluster:
        from sovtrain.slurm.profile import load_cluster

        profile = load_cluster(cluster)
        gpu_type = profile.gpu_type
        facts = {
            "pue": profile.pue,
            "grid_kg_per_kwh": profile.grid_kg_co2_per_kwh,
            "price_per_kwh": profile.price_per_kwh,
            "currency": profile.currency,
            "power_w": profile.gpu_power_w,
            "gpus_per_node": profile.gpus_per_node or None,
            "interconnect_gbps": profile.interconnect_gbps,
        }
    facts |= {k: v for k, v in overrides.items() if v is not None}
    return SiteFacts(**{k: v for k, v in facts.items() if v is not None}), gpu_type


def plan_command(
    recipe: RecipeArg,
    set_: SetOpt = None,
    device: Annotated[
        str | None,
        typer.Option(
            help="Device: h100, h200, h800, h20, a100, l40s, ascend-910b "
            "(default: the profile's gpu_type, else h100)."
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Cluster profile (slurm/clusters/NAME.yaml or a path): its GPU type, "
            "GPUs per node, PUE, grid intensity, price and interconnect."
        ),
    ] = None,
    gpus: Annotated[
        int | None, typer.Option(help="Devices N (default: one node of the profile, else 8).")
    ] = None,
    tokens: Annotated[
        float | None,
        typer.Option(
            help="Training tokens (default: the recipe's max_tokens or max_steps x batch)."
        ),
    ] = None,
    mfu: Annotated[float, typer.Option(help="Assumed model FLOPs utilisation, in (0, 1].")] = 0.4,
    power_w: Annotated[
        Num,
        typer.Option(help="Watts per device (default: the profile's gpu_power_w, else the TDP)."),
    ] = None,
    pue: Annotated[Num, typer.Option(help="Site PUE, 1-3 (default: profile's, else 1.0).")] = None,
    grid_kg_per_kwh: Annotated[
        Num, typer.Option(help="Grid intensity, kg CO2 per kWh (default: the profile's).")
    ] = None,
    price_per_kwh: Annotated[
        Num, typer.Option(help="Electricity price per kWh, in --currency (default: the profile's).")
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="3-letter currency code of --price-per-kwh.")
    ] = None,
    interconnect_gbps: Annotated[
        Num, typer.Option(help="Inter-node Gbit/s per GPU, one way (default: profile's, else 400).")
    ] = None,
    gpus_per_node: Annotated[
        int | None,
        typer.Option(help="Devices sharing the intra-node link (default: profile's, else 8)."),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(help="Comma-separated devices, one row each: h100,h800,h20,l40s,ascend-910b."),
    ] = None,
    flops_formula: Annotated[
        str, typer.Option(help="full: every matmul incl. attention; 6p: 6 x params per token.")
    ] = "full",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object: flat compute/energy keys, memory.* and comm.* nested (README).",
        ),
    ] = False,
) -> None:
    """Plan a run before submitting it: params, FLOPs, device- and wall-hours, MWh, tCO2,
    cost, memory per device (ZeRO model states + activations: does it fit?) and
    communication per step (the predicted MFU ceiling at N devices)."""
    from sovtrain.plan.compare import compare as compare_rows
    from sovtrain.plan.estimate import plan, workload

    _check("mfu", mfu, 0.0, 1.0, low_open=True)
    _check("tokens", tokens, 0.0, 1e18, low_open=True)
    _check("power-w", power_w, 0.0, 5000.0, low_open=True)
    _check("pue", pue, 1.0, 3.0)
    _check("grid-kg-per-kwh", grid_kg_per_kwh, 0.0, 2.0)
    _check("price-per-kwh", price_per_kwh, 0.0, 100.0)
    _check("interconnect-gbps", interconnect_gbps, 0.0, 1e4, low_open=True)
    for name, count in (("gpus", gpus), ("gpus-per-node", gpus_per_node)):
        if count is not None and not 1 <= count <= 1_000_000:
            raise SovtrainError(f"--{name} {count}: must be between 1 and 1000000")
    if currency is not None and not (
        len(currency) == 3 and currency.isalpha() and currency.isupper()
    ):
        raise SovtrainError(f"--currency {currency!r}: a 3-letter ISO 4217 code such as HKD")
    if flops_formula not in ("full", "6p"):
        raise SovtrainError(f"--flops-formula {flops_formula!r}: full or 6p")
    overrides = {
        "pue": pue, "grid_kg_per_kwh": grid_kg_per_kwh, "price_per_kwh": price_per_kwh,
        "currency": currency, "power_w": power_w, "gpus_per_node": gpus_per_node,
        "interconnect_gbps": interconnect_gbps,
    }  # fmt: skip
    site, gpu_type = _site(cluster, overrides)
    if device is None and cluster and gpu_type is None:
        raise SovtrainError(f"--cluster {cluster}: the profile has no gpu_type; give --device")
    if device is None and gpu_type is not None:
        spec = _device(gpu_type, f"--cluster {cluster}: gpu_type")
    else:
        spec = _device(device or "h100")
    work = workload(load(recipe, set_).recipe, flops_formula)
    n = gpus or site.gpus_per_node
    out = plan(work, spec, n, tokens or work.default_tokens, mfu, site)
    if compare:
        specs = [_device(name, "--compare") for name in compare.split(",") if name.strip()]
        if not specs:
            raise SovtrainError("--compare: give at least one device, e.g. h100,h800")
        out["compare"] = compare_rows(work, specs, n, out["tokens"], mfu, site)
    _print(out, as_json)


def _print(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(out))
        return
    from rich.console import Console

    from sovtrain.plan.report import compare_table, plan_tables

    stdout = Console(soft_wrap=False)
    if not stdout.is_terminal:
        stdout.width = 160  # piped: wide enough for the comparison's 13 columns
    for table in plan_tables(out):
        stdout.print(table)
    if "compare" in out:
        stdout.print(compare_table(out["compare"], out["gpus"]))
