"""Energy per token: each rank's GPU board energy counter, summed over the job per window.

Why NVML's total-energy counter and not sampled power: `nvmlDeviceGetTotalEnergyConsumption`
is the board's own integral (millijoules since the driver loaded), so a window's joules are
a difference of two reads, with nothing lost between samples. Reading it is a host call to
the driver, not a device sync: the loop still never waits on the device for it.

Each logging window (`Trainer.report`, after the loss sync) every rank reads its counter;
the window's joules and watts are summed over the ranks in one small all-reduce on the host
(gloo) group, so every figure is the job's. The cumulative total lives in `TrainState`
(`energy_j`, and `energy_site_j`: each window's joules times the PUE of the site it ran at),
so a resume, on other nodes whose counters started elsewhere, continues the run's total.

A figure that is not measured is absent, never zero: on a CPU run, without `nvidia-ml-py`,
or when any rank has no counter, no energy key is logged (one info line says why); an NVML
error or a counter that went backwards (a driver reload) mid-run turns the metrics off from
that window on, on every rank, with one warning.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

import torch

from sovtrain.distributed.collectives import all_reduce_sum

log = logging.getLogger(__name__)

ENERGY_KEYS = ("energy_j", "power_w", "tokens_per_joule", "energy_j_per_token")
J_PER_KWH = 3.6e6


class EnergyReader(Protocol):
    """This rank's device energy counter. Raises (anything) when the read fails."""

    def millijoules(self) -> int:
        """Cumulative board energy in mJ since some fixed origin (the driver's load)."""
        ...


class NvmlReader:
    """`nvmlDeviceGetTotalEnergyConsumption` of one NVML device handle."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        self.nvml, self.handle = nvml, handle

    def millijoules(self) -> int:
        return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))


def nvml_handle(nvml: Any, uuid: str | None, index: int) -> Any:
    """The NVML handle of the CUDA device with `uuid`: NVML numbers every board of the host,
    CUDA only the visible ones (CUDA_VISIBLE_DEVICES, Slurm's GPU binding), so CUDA's index
    names the NVML device only when nothing is hidden."""
    if uuid:
        name = uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
        return nvml.nvmlDeviceGetHandleByUUID(name)
    if os.environ.get("CUDA_VISIBLE_DEVICES"):
        raise RuntimeError("no device UUID from CUDA, and CUDA_VISIBLE_DEVICES renumbers devices")
    return nvml.nvmlDeviceGetHandleByIndex(index)


def _cuda_uuid(device: torch.device) -> tuple[str | None, int]:
    index = device.index if device.index is not None else torch.cuda.current_device()
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    return (str(uuid) if uuid is not None else None), index


def open_reader(device: torch.device) -> tuple[EnergyReader | None, str]:
    """This rank's counter, or (None, why there is none). Never raises: energy is optional."""
    if device.type != "cuda":
        return None, f"the run is on {device.type}, not a CUDA GPU"
    try:
        import pynvml  # nvidia-ml-py; optional: a missing package means no energy metrics
    except ImportError:
        return None, "nvidia-ml-py (module pynvml) is not installed"
    try:
        pynvml.nvmlInit()
        reader = NvmlReader(pynvml, nvml_handle(pynvml, *_cuda_uuid(device)))
        reader.millijoules()  # pre-Volta boards: NotSupported, here rather than mid-run
    except Exception as err:
        return None, f"NVML has no energy counter for {device}: {err}"
    return reader, ""


class EnergyMeter:
    """Windows of job energy between logging steps; the run's total across resumes.

    `start` (once per invocation) and `window`/`sample` are collectives on `group`: every
    rank calls them at the same points (the loop's logging steps and checkpoint saves).
    """

    def __init__(self, reader: EnergyReader | None, why_not: str = "", group: Any = None,
                 pue: float = 1.0, is_main: bool = True,
                 clock: Callable[[], float] = time.perf_counter) -> None:  # fmt: skip
        self.reader, self.why_not, self.group, self.clock = reader, why_not, group, clock
        self.pue, self.is_main = pue, is_main
        self.active = False
        self.total_j: float | None = None  # None: this run never measured any
        self.site_j: float | None = None
        self.invocation_j = 0.0
        self._last_mj = 0
        self._last_time = 0.0
        self._window_j = self._window_watt_s = 0.0
        self._window_start = 0.0
        self._last_tokens = 0

    def start(self, total_j: float | None, site_j: float | None, tokens: int) -> None:
        """Agree that every rank has a counter; read the baselines; continue the totals a
        checkpoint carried (None: it carried none, the count starts at this invocation)."""
        missing = self._read_or_none() is None
        agreed = all_reduce_sum(torch.tensor([float(missing)], dtype=torch.float64), self.group)
        self.active = agreed.item() == 0
        if not self.active:
            self._say_off(missing)
            return
        self.total_j = total_j or 0.0
        self.site_j = site_j if site_j is not None else self.total_j * self.pue
        self._window_start = self._last_time
        self._last_tokens = tokens
        if total_j is None and tokens and self.is_main:
            log.info("energy: the checkpoint carries no energy total (written before energy "
                     "metering); energy_j counts from this resume")  # fmt: skip

    def sample(self) -> None:
        """Add the joules since the last read, summed over ranks, to the totals (a checkpoint
        save calls this so the state it writes is current)."""
        if not self.active:
            return
        before_mj, before_t = self._last_mj, self._last_time
        now_mj = self._read_or_none()
        bad = now_mj is None or now_mj < before_mj  # an error, or a reset counter
        joules = 0.0 if bad or now_mj is None else (now_mj - before_mj) / 1000.0
        watt_s = joules / max(self._last_time - before_t, 1e-9) if not bad else 0.0
        box = torch.tensor([joules, watt_s, float(bad)], dtype=torch.float64)
        joules, watts, bad_ranks = all_reduce_sum(box, self.group).tolist()
        if bad_ranks:
            self.active = False
            if self.is_main:
                log.warning(
                    "energy: the NVML energy counter failed or went backwards on %d rank(s); "
                    "energy metrics are off from here on", int(bad_ranks),
                )  # fmt: skip
            return
        self._add(joules, watts * (self._last_time - before_t))

    def window(self, tokens: int) -> dict[str, float]:
        """The energy metrics of the window since the last call (`ENERGY_KEYS`), or {}."""
        self.sample()
        if not self.active or self.total_j is None:
            return {}
        joules, seconds = self._window_j, self._last_time - self._window_start
        window_tokens = tokens - self._last_tokens
        metrics = {
            "energy_j": self.total_j,
            "power_w": self._window_watt_s / max(seconds, 1e-9),
        }
        if joules > 0 and window_tokens > 0:
            metrics["tokens_per_joule"] = window_tokens / joules
            metrics["energy_j_per_token"] = joules / window_tokens
        self._window_j = self._window_watt_s = 0.0
        self._window_start, self._last_tokens = self._last_time, tokens
        return metrics

    def _add(self, joules: float, watt_seconds: float) -> None:
        assert self.total_j is not None and self.site_j is not None
        self.total_j += joules
        self.site_j += joules * self.pue
        self.invocation_j += joules
        self._window_j += joules
        self._window_watt_s += watt_seconds

    def _read_or_none(self) -> int | None:
        """This rank's counter in mJ (and the time of the read), None if there is none."""
        if self.reader is None:
            return None
        try:
            value = self.reader.millijoules()
        except Exception as err:
            self.why_not = f"reading the NVML energy counter failed: {err}"
            log.debug("energy: %s", self.why_not)
            return None
        self._last_mj, self._last_time = value, self.clock()
        return value

    def _say_off(self, missing_here: bool) -> None:
        if self.is_main:
            why = self.why_not if missing_here else "another rank has no NVML energy counter"
            log.info("energy metrics off (%s): no energy_j/power_w in MLflow", why)


def kwh(joules: float) -> float:
    return joules / J_PER_KWH
