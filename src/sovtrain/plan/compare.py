"""`--compare`: the same workload on several chips, one row each.

The first chip sets the wall time; `devices_for_same_wall` is how many of each other chip
finish in that time at the same MFU, ceil(N x device_hours / device_hours_first): the
"space-efficiency penalty" of a slower chip in racks, power and floor space. It keeps MFU
fixed as N grows (no scaling loss); `mfu_ceiling` shows what the communication model
predicts at N for each chip.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from sovtrain.model.devices import DeviceSpec
from sovtrain.plan.estimate import SiteFacts, Workload, communication, compute, energy, memory


def compare_row(
    work: Workload, spec: DeviceSpec, gpus: int, tokens: float, mfu: float, site: SiteFacts
) -> dict[str, Any]:
    """One chip: datasheet facts, then its hours, energy, fit and MFU ceiling at N."""
    hours = compute(work, spec, gpus, tokens, mfu)
    # a site's power override is for its own chip; other chips draw their TDP
    row_site = dataclasses.replace(site, power_w=None)
    return {
        "device": spec.key,
        "tier": spec.tier,
        "bf16_tflops": spec.bf16_tflops,
        "fp8_tflops": spec.fp8_tflops,
        "memory_gb": spec.memory_gb,
        "tdp_w": spec.tdp_w,
        "interconnect": spec.interconnect,
        "approximate": spec.approximate,
        "device_hours": hours["device_hours"],
        "wall_hours": hours["wall_hours"],
        "energy_mwh": energy(hours["device_hours"], spec, row_site)["energy_mwh"],
        "fits": memory(work, spec, gpus)["fits"],
        "mfu_ceiling": communication(work, spec, gpus, mfu, row_site)["mfu_ceiling"],
    }


def compare(
    work: Workload,
    specs: list[DeviceSpec],
    gpus: int,
    tokens: float,
    mfu: float,
    site: SiteFacts,
) -> list[dict[str, Any]]:
    """Rows for `specs`, in order; the first is the reference for the same wall time."""
    rows = [compare_row(work, spec, gpus, tokens, mfu, site) for spec in specs]
    first = rows[0]["device_hours"]
    for row in rows:
        # round() first: 1.0000000002 x N is N devices, not N + 1
        row["devices_for_same_wall"] = math.ceil(round(gpus * row["device_hours"] / first, 6))
    return rows
