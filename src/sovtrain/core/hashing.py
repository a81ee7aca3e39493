"""Content digests: how manifests, lineage and recipes pin exactly which bytes were used."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path, block: int = 1 << 22) -> str:
    """sha256 of a local file, read in blocks (checkpoint files can be tens of GB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()
