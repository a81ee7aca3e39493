"""The readable form of a plan: rich tables (the `--json` object holds the same numbers)."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _section(title: str, rows: list[tuple[str, Any, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", pad_edge=False)
    table.add_column("key", style="bold")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key, value, unit in rows:
        table.add_row(key, _num(value), unit)
    return table


def plan_tables(plan: dict[str, Any]) -> list[Table]:
    """Compute + energy, memory and communication, one table each."""
    mem, comm = plan["memory"], plan["comm"]
    money = plan["currency"] or ""
    head = [
        (
            "device",
            f"{plan['gpus']} x {plan['device']}",
            f"{plan['precision']}, ZeRO-{plan['zero_stage']}",
        ),
        ("tokens", plan["tokens"], f"at MFU {plan['mfu']:.0%}"),
        ("params", plan["params"], ""),
        ("flops_per_token", plan["flops_per_token"], "FLOP"),
        ("device_hours", plan["device_hours"], "h"),
        ("wall_hours", plan["wall_hours"], "h"),
        ("power_w", plan["power_w"], f"W per device, PUE {plan['pue']}"),
        ("energy_mwh", plan["energy_mwh"], "MWh"),
        ("co2_t", plan["co2_t"], f"t CO2 at {_num(plan['grid_kg_per_kwh'])} kg/kWh"),
        ("cost", plan["cost"], f"{money} at {_num(plan['price_per_kwh'])}/kWh"),
    ]
    ckpt = "checkpointed" if mem["activation_checkpointing"] else "no checkpointing"
    memory = [
        ("model_states_gb", mem["model_states_gb"], "GB per device"),
        ("activations_gb", mem["activations_gb"], ckpt),
        ("  checkpointed", mem["activations_checkpointed_gb"], "GB"),
        ("  no checkpointing", mem["activations_full_gb"], "GB"),
        (
            "total_gb",
            mem["total_gb"],
            f"of {_num(mem['usable_gb'])} usable ({_num(mem['device_gb'])} GB)",
        ),
        ("fits", mem["fits"], ""),
    ]
    link = f"{comm['link']} {_num(comm['link_gb_s'])} GB/s one way"
    network = [
        (
            "bytes_per_step",
            comm["bytes_per_step"] / 1e9,
            f"GB per device, {comm['micro_steps']} micro steps",
        ),
        ("comm_s", comm["comm_s"], f"s over {link}"),
        ("compute_s", comm["compute_s"], "s per step"),
        ("exposed_s", comm["exposed_s"], "s not hidden by compute"),
        ("mfu_ceiling", comm["mfu_ceiling"], f"predicted MFU at {plan['gpus']} devices"),
    ]
    return [
        _section("compute and energy", head),
        _section("memory per device", memory),
        _section("communication per step", network),
    ]


COMPARE_COLUMNS = [
    ("device", "device"), ("tier", "tier"), ("bf16_tflops", "bf16 TF"), ("fp8_tflops", "fp8 TF"),
    ("memory_gb", "mem GB"), ("tdp_w", "TDP W"), ("interconnect", "link"),
    ("device_hours", "device-h"), ("wall_hours", "wall h"), ("energy_mwh", "MWh"),
    ("fits", "fits"), ("mfu_ceiling", "MFU ceil"), ("devices_for_same_wall", "devs same wall"),
]  # fmt: skip


def compare_table(rows: list[dict[str, Any]], gpus: int) -> Table:
    """One row per chip; the last column: devices to match the first chip's wall time."""
    table = Table(title=f"chips compared at {gpus} devices each (~: approximate datasheet)")
    for _, header in COMPARE_COLUMNS:
        table.add_column(header, justify="left" if header in ("device", "link") else "right")
    for row in rows:
        cells = [_num(row[key], 3) for key, _ in COMPARE_COLUMNS]
        cells[0] += " ~" if row["approximate"] else ""
        table.add_row(*cells)
    return table
