"""One plan: a recipe's workload on one device type at one site, as numbers.

Compute (`model/flops.py`): C = flops_per_token x tokens; at MFU eta on N devices of peak F,
wall time is C / (N x F x eta) and device-hours N times that. `flops_formula="6p"` uses
6 x params per token instead (the convention of the Llama 2 and Chinchilla papers, which
leave attention out); the default counts every matmul, attention included.

Energy: device-hours x board power (default the datasheet TDP: a fully loaded device is
assumed to draw it throughout) x PUE; CO2 = energy x grid intensity; cost = energy x price.
1 MWh x 1 kg/kWh = 1 t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sovtrain.model.devices import DeviceSpec
from sovtrain.plan.comm import Fabric, comm_report
from sovtrain.plan.memory import Shape, memory_report, model_states_bytes

if TYPE_CHECKING:
    from sovtrain.recipe import Recipe

DEFAULT_GPUS_PER_NODE = 8
DEFAULT_INTERCONNECT_GBPS = 400.0  # one NDR InfiniBand HCA per GPU, the common H100 build


@dataclass(frozen=True)
class Workload:
    """What the planner needs of a recipe."""

    params: int
    flops_per_token: int
    sequences_per_step: int
    zero_stage: int
    precision: str
    checkpointing: bool
    offload_optimizer: bool
    offload_params: bool
    shape: Shape
    default_tokens: int

    @property
    def tokens_per_step(self) -> int:
        return self.sequences_per_step * self.shape.seq_len


@dataclass(frozen=True)
class SiteFacts:
    """The site a plan runs at: power, carbon, price and fabric (None: unknown)."""

    pue: float = 1.0
    grid_kg_per_kwh: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None
    power_w: float | None = None  # per device; None: the device's TDP
    gpus_per_node: int = DEFAULT_GPUS_PER_NODE
    interconnect_gbps: float = DEFAULT_INTERCONNECT_GBPS


def workload(recipe: Recipe, flops_formula: str = "full") -> Workload:
    """The recipe's model, batch, ZeRO stage and precision, as the planner's numbers."""
    from sovtrain.model.build import build_config
    from sovtrain.model.flops import model_cost

    config = build_config(recipe.model, recipe.tokenizer.vocab_size)
    train = recipe.train
    cost = model_cost(config, train.seq_len)
    per_token = 6 * cost.params if flops_formula == "6p" else cost.flops_per_token
    steps_tokens = train.total_steps * train.tokens_per_step
    return Workload(
        params=cost.params,
        flops_per_token=per_token,
        sequences_per_step=train.sequences_per_step,
        zero_stage=recipe.deepspeed.zero_stage,
        precision=train.weights_precision,
        checkpointing=recipe.deepspeed.activation_checkpointing,
        offload_optimizer=recipe.deepspeed.offload.optimizer == "cpu",
        offload_params=recipe.deepspeed.offload.params == "cpu",
        shape=Shape(
            layers=config.num_hidden_layers,
            hidden=config.hidden_size,
            heads=config.num_attention_heads,
            vocab=config.vocab_size,
            seq_len=train.seq_len,
            micro_batch=train.micro_batch,
            eager_attention=recipe.model.attn_implementation == "eager",
        ),
        default_tokens=train.max_tokens or steps_tokens,
    )


def compute(work: Workload, spec: DeviceSpec, gpus: int, tokens: float, mfu: float) -> dict:
    """params, flops_per_token, device_hours, wall_hours."""
    peak = spec.tflops(work.precision) * 1e12
    seconds = work.flops_per_token * tokens / (gpus * peak * mfu)
    return {
        "params": work.params,
        "flops_per_token": work.flops_per_token,
        "device_hours": seconds * gpus / 3600,
        "wall_hours": seconds / 3600,
    }


def energy(device_hours: float, spec: DeviceSpec, site: SiteFacts) -> dict[str, Any]:
    """energy_mwh, co2_t, cost (None where the site does not say)."""
    power = site.power_w or spec.tdp_w
    mwh = device_hours * power * site.pue / 1e6
    return {
        "power_w": power,
        "pue": site.pue,
        "energy_mwh": mwh,
        "grid_kg_per_kwh": site.grid_kg_per_kwh,
        "co2_t": None if site.grid_kg_per_kwh is None else mwh * site.grid_kg_per_kwh,
        "price_per_kwh": site.price_per_kwh,
        "cost": None if site.price_per_kwh is None else mwh * 1000 * site.price_per_kwh,
        "currency": site.currency,
    }


def memory(work: Workload, spec: DeviceSpec, gpus: int) -> dict[str, Any]:
    """The `memory` section: ZeRO model states + activations against the device's memory."""
    states = model_states_bytes(
        work.params,
        work.zero_stage,
        gpus,
        work.precision,
        work.offload_optimizer,
        work.offload_params,
    )
    report: dict[str, Any] = {"zero_stage": work.zero_stage, "precision": work.precision}
    return report | memory_report(states, work.shape, work.checkpointing, spec.memory_gb)


def micro_steps(work: Workload, gpus: int) -> int:
    """Micro steps per optimizer step (gradient accumulation) on `gpus` devices, >= 1."""
    return max(1, work.sequences_per_step // (work.shape.micro_batch * gpus))


def communication(
    work: Workload, spec: DeviceSpec, gpus: int, mfu: float, site: SiteFacts
) -> dict[str, Any]:
    """The `comm` section for one optimizer step of the recipe's global batch."""
    peak = spec.tflops(work.precision) * 1e12
    step_s = work.flops_per_token * work.tokens_per_step / (gpus * peak * mfu)
    fabric = Fabric(spec.link_gb_s / 2, site.interconnect_gbps / 8, site.gpus_per_node)
    comm_bytes = 4 if work.precision == "fp32" else 2
    report: dict[str, Any] = {"micro_steps": micro_steps(work, gpus), "comm_bytes": comm_bytes}
    return report | comm_report(
        work.params,
        work.zero_stage,
        gpus,
        report["micro_steps"],
        step_s,
        comm_bytes,
        fabric,
        mfu,
    )


def plan(
    work: Workload, spec: DeviceSpec, gpus: int, tokens: float, mfu: float, site: SiteFacts
) -> dict[str, Any]:
    """The whole plan as the `--json` object: flat compute and energy keys, nested
    `memory` and `comm` sections."""
    out: dict[str, Any] = {
        "device": spec.key,
        "gpus": gpus,
        "tokens": tokens,
        "mfu": mfu,
        "precision": work.precision,
        "zero_stage": work.zero_stage,
    }
    out |= compute(work, spec, gpus, tokens, mfu)
    out |= energy(out["device_hours"], spec, site)
    out["memory"] = memory(work, spec, gpus)
    out["comm"] = communication(work, spec, gpus, mfu, site)
    return out
