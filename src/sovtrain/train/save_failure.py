"""Why a checkpoint write failed, in one line a user can act on.

A full disk shows up as many different messages (the OS's, torch's zip writer's, the C++
stream's); whichever rank saw it, the run says where, how much is free and about how much
the checkpoint needs, and that `latest` still names the previous checkpoint.
"""

from __future__ import annotations

from typing import Any

from sovtrain.core.errors import CheckpointError

_OUT_OF_SPACE = ("No space left", "inline_container", "basic_ios", "file write failed")


def write_failure(name: str, where: str, message: str, free: int, needed: int) -> CheckpointError:
    """One line for a failed checkpoint write: where, why, and how much space it needs."""
    first = message.strip().splitlines()[0] if message.strip() else "write failed"
    kept = "staging removed, latest still names the previous checkpoint"
    if any(marker in message for marker in _OUT_OF_SPACE) or free < needed:
        return CheckpointError(
            f"checkpoint {name}: no space left in {where} ({free / 1e6:.1f} MB free, "
            f"needs about {needed / 1e6:.1f} MB); {kept}. Free space or move run.output_uri."
        )
    return CheckpointError(f"checkpoint {name}: could not write {where}: {first}; {kept}")


def estimated_bytes(engine: Any) -> int:
    """About what a first checkpoint takes: the weights plus fp32 Adam moments and master
    copy (12 bytes per parameter), when no earlier checkpoint says better."""
    return sum(p.numel() * (p.element_size() + 12) for p in engine.module.parameters())
