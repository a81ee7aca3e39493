"""Data-parallel communication per step on paper, and the MFU it leaves at N devices.

Volume (ZeRO paper, section 7): with ring collectives each device sends (N-1)/N of a
tensor's size per reduce-scatter or all-gather, so an all-reduce of the gradients is 2P
elements (stages 0-2) and stage 3 adds the parameter all-gather of the backward pass, 3P.
Which of it repeats per micro step (gradient accumulation) depends on the stage, as DeepSpeed
runs it:

    stage 0/1: all-reduce 2P once per step, at the accumulation boundary, in the last
               micro step's backward;
    stage 2:   reduce-scatter P every micro step (in its backward) + all-gather P of the
               updated parameters after the optimizer step (nothing left to hide it behind);
    stage 3:   all-gather P forward + P backward + reduce-scatter P, every micro step,
               prefetched behind both passes.

With one micro step per step these are the paper's 2P / 2P / 3P. Elements travel in the
communication precision: 2 bytes for bf16/fp16 training, 4 for fp32.

Bandwidth: one way (half the vendor's bidirectional NVLink/PCIe/HCCS figure) while all N
devices share a node; beyond one node a ring is as fast as its slowest hop, the site's
inter-node bandwidth per GPU (`interconnect_gbps` / 8, GB/s).

Overlap (the stated assumption): a collective issued during a pass can hide behind that pass's
compute. The backward pass is 2/3 of a step's FLOPs (4 of 6 per weight), so stages 0-2 hide
behind 2/3 of a micro step; stage 3 prefetches behind all of it. What cannot hide is exposed:

    exposed = sum over collectives of max(0, t_comm - hideable_compute)
    mfu_ceiling(N) = mfu * t_compute / (t_compute + exposed)

Left out, on purpose: latency and the log(N) terms of tree algorithms, stragglers and jitter,
topology (rails, oversubscribed spines, NVSwitch SHARP), tensor/pipeline/context parallelism,
the kernel efficiency that MFU itself stands for, and contention between the collectives and
the compute for memory bandwidth and SMs.
"""

from __future__ import annotations

from dataclasses import dataclass

BACKWARD_SHARE = 2.0 / 3.0


@dataclass(frozen=True)
class Collective:
    """One kind of collective in a step: P-multiples sent, how often, what hides it."""

    elements_per_param: float
    per_micro_step: bool
    hideable_share: float  # of one micro step's compute


def collectives(stage: int) -> list[Collective]:
    """The module docstring's table."""
    if stage <= 1:
        return [Collective(2.0, False, BACKWARD_SHARE)]
    if stage == 2:
        return [Collective(1.0, True, BACKWARD_SHARE), Collective(1.0, False, 0.0)]
    return [Collective(3.0, True, 1.0)]


@dataclass(frozen=True)
class Fabric:
    """The links a step's collectives cross."""

    intra_gb_s: float  # one way, device to device inside a node
    inter_gb_s: float  # one way, per GPU, between nodes
    gpus_per_node: int

    def bandwidth(self, devices: int) -> tuple[float, str]:
        """GB/s a ring over `devices` moves data at, and which link limits it."""
        if devices <= self.gpus_per_node:
            return self.intra_gb_s, "intra-node"
        return min(self.intra_gb_s, self.inter_gb_s), "inter-node"


def comm_report(
    params: int,
    stage: int,
    devices: int,
    micro_steps: int,
    step_compute_s: float,
    comm_bytes: int,
    fabric: Fabric,
    mfu: float,
) -> dict[str, float | str]:
    """The `comm` section of a plan for one optimizer step on `devices` devices."""
    ring = (devices - 1) / devices if devices > 1 else 0.0
    gb_s, link = fabric.bandwidth(devices)
    micro_s = step_compute_s / micro_steps
    sent = comm_s = exposed = 0.0
    for c in collectives(stage):
        times = micro_steps if c.per_micro_step else 1
        each = c.elements_per_param * params * comm_bytes * ring
        each_s = each / (gb_s * 1e9)
        sent += times * each
        comm_s += times * each_s
        exposed += times * max(0.0, each_s - c.hideable_share * micro_s)
    return {
        "bytes_per_step": sent,
        "link": link,
        "link_gb_s": gb_s,
        "comm_s": comm_s,
        "compute_s": step_compute_s,
        "exposed_s": exposed,
        "mfu_ceiling": mfu * step_compute_s / (step_compute_s + exposed),
    }
