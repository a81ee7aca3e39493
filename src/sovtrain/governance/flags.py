"""Date flags of the compliance reports: what a reviewer must act on, and how soon.

Kept apart from `report.py` so the parts of the report built elsewhere (the executed
transfers, `transfers_done.py`) flag dates by exactly the same rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

WARN_DAYS = 90  # expiries and deletion dates this close are flagged for the reviewer


@dataclass(frozen=True)
class Flag:
    """Something with a date the reviewer must act on; `error` is already past due."""

    level: Literal["warn", "error"]
    text: str


def _expiry_flag(expires: dt.date, today: dt.date, what: str) -> Flag | None:
    """`error` once the expiry day has passed, `warn` within WARN_DAYS of it, else nothing."""
    return _date_flag(
        expires, today, f"{what} expired on {expires.isoformat()}",
        f"{what} expires on {expires.isoformat()}",
    )  # fmt: skip


def _date_flag(due: dt.date, today: dt.date, past: str, soon: str) -> Flag | None:
    days = (due - today).days
    if days < 0:
        return Flag("error", f"{past} ({-days} days ago)")
    if days <= WARN_DAYS:
        return Flag("warn", f"{soon} (in {days} days)")
    return None
