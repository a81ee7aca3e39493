"""The page a reviewer signs, per run: `sovtrain audit report RUN...`.

A chain of runs (prepare in one region, transfer, train in another, export) leaves its
evidence in several places: each run's hash-chained audit logs, the MLflow head tag that
pins their length, the transfer record and both sides' transfer logs, the checkpoints and
exported model cards. A reviewer should not have to open each of them; this module gathers
them (`audit_gather.py` does the reading) into plain data classes, and renders one page.

The report never fails on what a run lacks: a missing log, an untracked run or a run
without a transfer shows "none" / "not recorded". What does not verify is shown as FAILED
(`Report.failed`), and the CLI decides the exit code (`--strict`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from jinja2 import Environment

from sovtrain.governance.report import render_page, report_environment

ChainState = Literal["verified", "FAILED", "missing"]
HeadState = Literal["match", "mismatch", "not-tracked", "unreachable", "no-tag", "n/a"]


@dataclass(frozen=True)
class ChainCheck:
    """One hash-chained audit log: its own verification and its comparison with the head
    published elsewhere (the MLflow `audit.head` tag, or the head transfer.json recorded)."""

    label: str  # what the log is: "training (rank 0)", "export", "transfer source", ...
    location: str
    state: ChainState
    records: int = 0
    denied: int = 0
    head: str = ""
    problems: tuple[str, ...] = ()
    expected_head: str | None = None
    head_source: str = ""  # where expected_head comes from
    head_state: HeadState = "n/a"
    head_detail: str = ""

    @property
    def ok(self) -> bool:
        """A missing log is reported, not failed; a broken chain or head mismatch fails."""
        return self.state != "FAILED" and self.head_state != "mismatch"


@dataclass(frozen=True)
class IoRow:
    """Bytes that passed the storage door for one (region, purpose, action), summed over
    the run's jobs (each job writes its own io-totals records when it ends)."""

    region: str
    purpose: str
    action: str
    bytes: int
    calls: int


@dataclass(frozen=True)
class Refusal:
    """A deny record, with the log it is in, so the reviewer can find it again."""

    log: str
    seq: int | None
    time: str
    job: str
    action: str
    purpose: str
    uri: str
    dataset: str
    storage_region: str
    compute_region: str
    rule: str
    reason: str


@dataclass(frozen=True)
class CardUse:
    """An input card as admitted (ref and digest in the audit log) and as on file now."""

    card_id: str
    kind: Literal["data", "model"]
    admitted_ref: str | None
    admitted_digest: str | None
    current_ref: str | None
    current_digest: str | None

    @property
    def state(self) -> str:
        if self.current_digest is None:
            return "card not found"
        if self.admitted_digest is None:
            return "not in the audit log"
        return "unchanged" if self.admitted_digest == self.current_digest else "changed since"


@dataclass(frozen=True)
class BaseModel:
    """model.init_from: its model card and the reviewed weights' digest."""

    uri: str
    card_ref: str | None
    card_digest: str | None
    weights_digest: str | None
    files: int
    admission: str  # what the audit log says about the weights check


@dataclass(frozen=True)
class Transfer:
    """A completed transfer (transfer.json at the run's prepared data) and its two logs."""

    location: str
    record: dict[str, Any]
    chains: tuple[ChainCheck, ...]
    findings: tuple[str, ...]  # what checked out: each side's record, the manifest digest
    problems: tuple[str, ...] = ()  # what did not: the report shows them as FAILED

    @property
    def evidence(self) -> dict[str, Any]:
        value = self.record.get("evidence")
        return value if isinstance(value, dict) else {}

    @property
    def cards(self) -> list[dict[str, Any]]:
        value = self.record.get("cards")
        return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []

    def get(self, key: str) -> str:
        value = self.record.get(key)
        return "not recorded" if value in (None, "") else str(value)


@dataclass(frozen=True)
class TransferEvent:
    """One `kind: transfer` record in a prepared directory's transfer log."""

    log: str
    time: str
    transfer_id: str
    result: str
    rule: str
    destination_uri: str
    bytes: int | None


@dataclass(frozen=True)
class Checkpoint:
    name: str
    bytes: int | None  # from its manifest; None: no manifest (not a checkpoint)
    latest: bool


@dataclass(frozen=True)
class Export:
    uri: str
    region: str
    found: bool
    weights_storage_regions: tuple[str, ...] | None
    step: int | None


@dataclass(frozen=True)
class Tracking:
    state: Literal["tracked", "not tracked", "unreachable", "no run id"]
    run_id: str | None
    uri: str | None
    detail: str = ""


@dataclass(frozen=True)
class RunReport:
    """Everything the page shows for one run directory."""

    uri: str
    name: str
    jobs: tuple[str, ...]
    compute_regions: tuple[str, ...]
    prepared_uri: str
    tracking: Tracking
    chains: tuple[ChainCheck, ...]
    io: tuple[IoRow, ...]
    io_missing: tuple[str, ...]  # logs with no io-totals records
    refusals: tuple[Refusal, ...]
    decisions: int
    cards: tuple[CardUse, ...]
    base: BaseModel | None
    deidentification: dict[str, Any] | None  # the run's own shard manifest's evidence
    transfer: Transfer | None
    transfer_events: tuple[TransferEvent, ...]
    checkpoints: tuple[Checkpoint, ...]
    checkpoint_regions: tuple[str, ...]
    exports: tuple[Export, ...]

    @property
    def all_chains(self) -> list[ChainCheck]:
        return [*self.chains, *(self.transfer.chains if self.transfer else ())]

    @property
    def failures(self) -> list[str]:
        """One line per thing that does not verify: a chain, a head, a transfer check."""
        out = [f"{c.label}: {c.state if c.state == 'FAILED' else 'head mismatch'} ({c.location})"
               for c in self.all_chains if not c.ok]  # fmt: skip
        if self.transfer is not None:
            out += [f"transfer: {p}" for p in self.transfer.problems]
        return out

    @property
    def anchor(self) -> str:
        return "run-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.name)

    def io_total(self, action: str) -> int:
        return sum(row.bytes for row in self.io if row.action == action)


@dataclass(frozen=True)
class Report:
    generated: dt.datetime
    runs: list[RunReport] = field(default_factory=list)

    @property
    def failed(self) -> list[tuple[RunReport, str]]:
        return [(run, failure) for run in self.runs for failure in run.failures]

    @property
    def refusal_count(self) -> int:
        return sum(len(run.refusals) for run in self.runs)


def human_bytes(value: int | None) -> str:
    """1,234,567 B (1.2 MB): exact for the auditor, readable for everyone else."""
    if value is None:
        return "not recorded"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value:,} B ({value / size:.1f} {unit})"
    return f"{value:,} B"


def _environment(autoescape: bool) -> Environment:
    env = report_environment(autoescape)
    env.filters["bytes"] = human_bytes
    return env


def render_markdown(report: Report) -> str:
    return render_page(_environment, "audit_report", report, "md")


def render_html(report: Report) -> str:
    return render_page(_environment, "audit_report", report, "html")


def render(report: Report, fmt: Literal["md", "html"]) -> str:
    return render_page(_environment, "audit_report", report, fmt)
