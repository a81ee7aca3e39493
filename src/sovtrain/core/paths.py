"""This machine's local cache, shared by shards, tokenizers and base-weight digests."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """This machine's local cache (SOVTRAIN_CACHE, default ~/.cache/sovtrain)."""
    return Path(os.environ.get("SOVTRAIN_CACHE", Path.home() / ".cache" / "sovtrain"))
