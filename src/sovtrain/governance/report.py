"""A review-ready compliance report of every data card, in Markdown and standalone HTML.

A reviewer signs off on what the cards *mean*, not on YAML: where each dataset may be stored
and processed, which transfers it relies on and when they lapse, when it must be deleted, and
whether the approval on file still covers the bytes in the repository. The report puts those
facts side by side, keeps cards that fail validation in view (with their problems) instead of
dropping them, and takes `today` as a parameter so the same inputs always give the same report.

The decision logic (`region_permissions`, `approval_of`, `policy_problems`) is kept in small
pure functions so the CLI and future enforcement code reuse exactly what the report shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined

from sovtrain.governance.cards import (
    Card,
    CardCheck,
    DataCard,
    LoadedCard,
    card_files,
    check_cards,
    content_digest,
)
from sovtrain.governance.flags import WARN_DAYS, Flag, _date_flag, _expiry_flag
from sovtrain.governance.policy import Policy, load_policy
from sovtrain.governance.residency import permissions
from sovtrain.governance.transfers_done import (
    Collected,
    ExecutedRow,
    ExecutedTransfer,
    executed_rows,
)

PERMISSIONS: tuple[str, ...] = ("store", "process", "derived")

ApprovalState = Literal[
    "approved", "pending", "rejected", "not-reviewed", "changed", "expired", "invalid"
]
_STATE_LABELS: dict[str, str] = {
    "approved": "approved",
    "pending": "pending",
    "rejected": "rejected",
    "not-reviewed": "not reviewed",
    "changed": "changed since approval",
    "expired": "approval expired",
    "invalid": "invalid card",
}


@dataclass(frozen=True)
class Approval:
    state: ApprovalState
    detail: str
    flag: Flag | None = None

    @property
    def label(self) -> str:
        return _STATE_LABELS[self.state]


@dataclass(frozen=True)
class TransferRow:
    destination: str
    destination_name: str
    mechanism: str
    filing_reference: str | None
    deidentification_required: bool
    onward_transfer: str
    purposes: list[str]
    expires: dt.date
    flag: Flag | None


@dataclass(frozen=True)
class CardEntry:
    """One card file as the report shows it; `card` is None when the file fails validation."""

    anchor: str
    path: Path
    ref: str
    card: DataCard | None
    digest: str | None
    problems: list[str]
    approval: Approval
    transfers: list[TransferRow]
    retention_flag: Flag | None
    matrix: dict[str, dict[str, bool]]  # region -> permission -> allowed
    executed: list[ExecutedRow] = field(default_factory=list)

    @property
    def flags(self) -> list[Flag]:
        found = [self.approval.flag, self.retention_flag, *(t.flag for t in self.transfers)]
        found += [x.flag for x in self.executed]
        return [f for f in found if f is not None]

    def allowed_in(self, region: str) -> list[str]:
        """The permissions granted in `region`, in PERMISSIONS order (empty: nothing)."""
        granted = self.matrix.get(region, {})
        return [perm for perm in PERMISSIONS if granted.get(perm)]

    @property
    def usable(self) -> bool:
        return not self.problems and self.approval.state == "approved"


@dataclass(frozen=True)
class Report:
    today: dt.date
    cards_dir: str
    policy_path: str
    policy_digest: str
    regions: dict[str, str]  # id -> display name, in policy order
    cards: list[CardEntry] = field(default_factory=list)
    transfer_sources: list[str] = field(default_factory=list)  # where executed ones were read
    unmatched: list[ExecutedTransfer] = field(default_factory=list)  # no card here names them

    @property
    def state_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.cards:
            counts[entry.approval.label] = counts.get(entry.approval.label, 0) + 1
        return counts

    @property
    def usable_count(self) -> int:
        return sum(entry.usable for entry in self.cards)


def region_permissions(card: Card, region: str, today: dt.date) -> dict[str, bool]:
    """What `card` allows in `region` today (store / process / derived): the same rules the
    admission check and the storage guard apply (`sovtrain.governance.residency`)."""
    return permissions(card, region, today)


def approval_of(loaded: LoadedCard, today: dt.date) -> Approval:
    """Classify the review state; the detail is `review_problem`'s own explanation."""
    problem = loaded.review_problem(today)
    review = loaded.card.review
    if problem is None:
        assert review is not None  # review_problem is None only for a current approval
        detail = f"approved by {review.reviewer} on {review.decided.isoformat()}"
        flag = None
        if review.expires is not None:
            detail += f", valid until {review.expires.isoformat()}"
            flag = _expiry_flag(review.expires, today, "approval")
        return Approval("approved", detail, flag)
    if review is None:
        state: ApprovalState = "not-reviewed"
    elif review.status != "approved":
        state = review.status
    elif review.approved_digest != loaded.digest:
        state = "changed"
    else:
        state = "expired"
    return Approval(state, problem)


def _retention_flag(card: DataCard, today: dt.date) -> Flag | None:
    delete_by = card.retention.delete_by
    if delete_by is None:
        return None
    return _date_flag(
        delete_by, today, f"deletion overdue since {delete_by.isoformat()}",
        f"deletion due by {delete_by.isoformat()}",
    )  # fmt: skip


def policy_problems(card: Card, policy: Policy) -> list[str]:
    """Regions a card (data or model) names that the policy does not define (a typo would
    grant nothing)."""
    residency = card.residency
    named: list[tuple[str, list[str]]] = [
        ("residency.home_region", [residency.home_region]),
        ("residency.storage_regions", residency.storage_regions),
        ("residency.processing_regions", residency.processing_regions),
        ("residency.derived_storage_regions", residency.derived_storage_regions or []),
    ]
    named += [(f"transfers.{i}.destination", [t.destination]) for i, t in enumerate(card.transfers)]
    return [
        f"{where}: region {region!r} is not in the residency policy "
        f"(known: {', '.join(policy.regions)})"
        for where, regions in named
        for region in regions
        if region not in policy.regions
    ]


def _anchor(path: Path) -> str:
    return "card-" + re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem)


def _raw_digest(path: Path) -> str | None:
    """Content digest of a file that failed validation, so the reviewer can still pin it."""
    try:
        return content_digest(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _invalid_entry(check: CardCheck, problems: list[str]) -> CardEntry:
    return CardEntry(
        anchor=_anchor(check.path),
        path=check.path,
        ref=check.path.name,
        card=None,
        digest=_raw_digest(check.path),
        problems=problems,
        approval=Approval("invalid", "the card fails validation; fix it, then approve it"),
        transfers=[],
        retention_flag=None,
        matrix={},
    )


def _entry(
    check: CardCheck, policy: Policy, today: dt.date, executed: list[ExecutedTransfer]
) -> CardEntry:
    loaded = check.loaded
    if loaded is None:
        return _invalid_entry(check, list(check.problems))
    card = loaded.card
    if not isinstance(card, DataCard):  # listed as a data card, then edited into a model card
        return _invalid_entry(
            check, [f"{check.path}: is a model card (kind: model), not a data card"]
        )
    transfers = [
        TransferRow(
            destination=t.destination,
            destination_name=policy.regions[t.destination].name
            if t.destination in policy.regions
            else "not in policy",
            mechanism=t.mechanism,
            filing_reference=t.filing_reference,
            deidentification_required=t.deidentification_required,
            onward_transfer=t.onward_transfer,
            purposes=list(t.purposes),
            expires=t.expires,
            flag=_expiry_flag(t.expires, today, f"transfer to {t.destination}"),
        )
        for t in card.transfers
    ]
    return CardEntry(
        anchor=_anchor(check.path),
        path=check.path,
        ref=card.ref,
        card=card,
        digest=loaded.digest,
        problems=[*check.problems, *policy_problems(card, policy)],
        approval=approval_of(loaded, today),
        transfers=transfers,
        retention_flag=_retention_flag(card, today),
        matrix={r: region_permissions(card, r, today) for r in policy.regions},
        executed=executed_rows(card.id, list(card.pii.types), executed, today),
    )


def build_report(
    checks: list[CardCheck],
    policy: Policy,
    today: dt.date | None = None,
    *,
    cards_dir: str = "",
    policy_path: str = "",
    policy_digest: str = "",
    transfers: Collected | None = None,
) -> Report:
    """Assemble the report from already-checked cards and the executed transfers already
    read (pure: no file reads but raw digests)."""
    day = today or dt.date.today()
    done = transfers.transfers if transfers else []
    entries = [_entry(check, policy, day, done) for check in checks]
    ids = {e.card.id for e in entries if e.card is not None}
    return Report(
        today=day,
        cards_dir=cards_dir,
        policy_path=policy_path,
        policy_digest=policy_digest,
        regions={rid: region.name for rid, region in policy.regions.items()},
        cards=entries,
        transfer_sources=list(transfers.sources) if transfers else [],
        unmatched=[t for t in done if not any(c.card_id in ids for c in t.cards)],
    )


def report_for_dir(
    root: Path, today: dt.date | None = None, transfers: Collected | None = None
) -> Report:
    """Report on every card under `root` against `root/residency.yaml` (PolicyError if
    absent), with the executed `transfers` (`transfers_done.collect`) under their cards."""
    policy_file = root / "residency.yaml"
    policy = load_policy(policy_file)
    return build_report(
        check_cards(card_files(root)),
        policy,
        today,
        cards_dir=str(root),
        policy_path=str(policy_file),
        policy_digest=hashlib.sha256(policy_file.read_bytes()).hexdigest(),
        transfers=transfers,
    )


def _md_escape(value: object) -> str:
    """Free text inside Markdown (and its table cells): no accidental markup, one line."""
    text = " ".join(str(value).split())
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def _md_code(value: object) -> str:
    """An identifier as a code span; backticks inside get a longer fence."""
    text = " ".join(str(value).split())
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def report_environment(autoescape: bool) -> Environment:
    """The governance reports' conventions (cards report, audit report): templates in
    `governance/templates`, a missing value is an error, Markdown-escaping filters."""
    env = Environment(
        loader=PackageLoader("sovtrain.governance", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_escape
    env.filters["code"] = _md_code
    return env


def render_page(env: Callable[[bool], Environment], stem: str, report: object,
                fmt: Literal["md", "html"]) -> str:  # fmt: skip
    """`<stem>.md.j2` as Markdown, or `<stem>.html.j2` as standalone HTML (inline CSS, no
    scripts or external resources, everything escaped)."""
    html = fmt == "html"
    return env(html).get_template(f"{stem}.{'html' if html else 'md'}.j2").render(r=report)


def _environment(autoescape: bool) -> Environment:
    env = report_environment(autoescape)
    env.globals["PERMISSIONS"] = PERMISSIONS
    env.globals["WARN_DAYS"] = WARN_DAYS
    return env


def render_markdown(report: Report) -> str:
    return render_page(_environment, "report", report, "md")


def render_html(report: Report) -> str:
    return render_page(_environment, "report", report, "html")


def render(report: Report, fmt: Literal["md", "html"]) -> str:
    return render_page(_environment, "report", report, fmt)
