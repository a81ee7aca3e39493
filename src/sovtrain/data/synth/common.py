"""Shared pieces of the synthetic generators: parallel triples and random helpers."""

from __future__ import annotations

import random

# (English, Traditional Chinese (Hong Kong), Simplified Chinese)
Triple = tuple[str, str, str]

MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


def pick(rng: random.Random, table: list[Triple]) -> Triple:
    return table[rng.randrange(len(table))]


def amount(rng: random.Random) -> str:
    return f"{rng.uniform(1, 950):,.1f}"
