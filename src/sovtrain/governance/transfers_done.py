"""The transfers that actually happened, as the cards report shows them per card.

A card says what *may* cross (its `transfers:`); a reviewer also has to see what *did*: which
prepared shards crossed, when, from which region to which, under which filing, how many
bytes, the manifest digest, and the de-identification evidence (detector version and its
PII counts on the final shards, all zero for a transfer that was allowed). That is in the
transfer record `transfer.json`, written last into the destination by `sovtrain data
transfer`; the site's transfer ledger (`$SOVTRAIN_CACHE/audit/transfers/*.jsonl`, hash
chained) has one `kind: transfer` record per attempt, whose `destination_uri` leads to it.

Reading is separate from rendering so the report stays a pure function of its inputs: the
CLI collects `ExecutedTransfer`s (from the ledger by default, or from `--transfers`) and
passes them in. When a ledger record's destination cannot be read from here (another
region's bucket, a deleted copy), the report shows what the ledger record says and why.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import SovtrainError
from sovtrain.core.paths import cache_root
from sovtrain.governance import audit
from sovtrain.governance.flags import Flag, _date_flag
from sovtrain.governance.policy import Policy
from sovtrain.governance.transfer import RECORD_NAME

_PURPOSE = "shards"  # what a transfer record sits beside (the same purpose `data transfer` uses)


class TransferRecordError(SovtrainError):
    """A transfer record or ledger named on the command line cannot be read."""


@dataclass(frozen=True)
class CardTerms:
    """The card's transfer entry as the record copied it at transfer time."""

    card_id: str
    ref: str
    mechanism: str | None
    filing_reference: str | None
    expires: str | None
    onward_transfer: str | None


@dataclass(frozen=True)
class ExecutedTransfer:
    """One completed transfer; `origin` says where the facts come from."""

    transfer_id: str
    time: str
    from_region: str | None
    to_region: str | None
    source_uri: str | None
    destination_uri: str | None
    purpose: str | None
    bytes: int | None
    files: int | None
    manifest_digest: str | None
    cards: list[CardTerms]
    evidence: dict[str, Any] | None  # the manifest's `deidentification` block
    origin: str
    complete: bool  # False: only a ledger record was readable (no transfer.json)
    audit_hash: str | None = None
    notes: list[str] = field(default_factory=list)

    def terms_for(self, card_id: str) -> CardTerms | None:
        return next((t for t in self.cards if t.card_id == card_id), None)

    @property
    def evidence_detector(self) -> str:
        if not self.evidence:
            return "none recorded"
        return str(self.evidence.get("detector_version") or "unknown detector")

    @property
    def found(self) -> dict[str, int]:
        """PII counts the detector found in the final shards, by type (all listed types)."""
        raw = (self.evidence or {}).get("found") or {}
        return {str(k): int(v) for k, v in sorted(raw.items())}

    @property
    def pii_total(self) -> int:
        return sum(self.found.values())


@dataclass
class Collected:
    """Executed transfers plus what was searched (shown in the report header)."""

    transfers: list[ExecutedTransfer] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # "path: verified, N records", ...


def ledger_dir() -> Path:
    """This site's transfer ledger (`sovtrain data transfer` appends one record per try)."""
    return cache_root() / "audit" / "transfers"


def bucket_endpoints(policy: Policy) -> dict[str, str]:
    """bucket -> S3 endpoint from the residency policy, so a transfer.json in another
    region's bucket is read from that region's object store (as `Site.endpoints` does)."""
    out: dict[str, str] = {}
    for mapping in policy.storage:
        canonical = storage.canonical_uri(mapping.prefix)
        if mapping.endpoint_url and canonical.startswith("s3://"):
            out[canonical[5:].split("/", 1)[0]] = mapping.endpoint_url
    return out


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _card_terms(cards: Any) -> list[CardTerms]:
    out: list[CardTerms] = []
    for item in cards if isinstance(cards, list) else []:
        if isinstance(item, str):  # a bare id or ref (a ledger record may list just these)
            out.append(CardTerms(item.split("@")[0], item, None, None, None, None))
            continue
        if not isinstance(item, dict) or "id" not in item:
            continue
        terms = item.get("transfer") or {}
        out.append(CardTerms(
            card_id=str(item["id"]), ref=str(item.get("ref") or item["id"]),
            mechanism=terms.get("mechanism"), filing_reference=terms.get("filing_reference"),
            expires=None if terms.get("expires") is None else str(terms["expires"]),
            onward_transfer=terms.get("onward_transfer"),
        ))  # fmt: skip
    return out


def from_record(record: dict[str, Any], origin: str) -> ExecutedTransfer:
    """An ExecutedTransfer from a `transfer.json` (format 1)."""
    files = record.get("files")
    evidence = record.get("evidence")
    return _executed(
        record, origin, files=len(files) if isinstance(files, list) else None,
        evidence=evidence if isinstance(evidence, dict) else None, complete=True,
        audit_hash=((record.get("audit") or {}).get("source") or {}).get("record_hash"),
    )  # fmt: skip


def from_ledger_record(record: dict[str, Any], origin: str, why: str) -> ExecutedTransfer:
    """What a ledger record alone says, when its transfer.json cannot be read."""
    return _executed(
        record, origin, files=_int(record.get("files")), evidence=None, complete=False,
        audit_hash=record.get("hash"),
        notes=[f"transfer.json not readable ({why}): shown as the ledger records it"],
    )  # fmt: skip


def _executed(record: dict[str, Any], origin: str, **view: Any) -> ExecutedTransfer:
    """The fields a transfer.json and a ledger record spell alike, plus the view's own."""
    return ExecutedTransfer(
        transfer_id=str(record.get("transfer_id") or "unknown"),
        time=str(record.get("time") or "unknown"),
        from_region=record.get("source_region"),
        to_region=record.get("destination_region"),
        source_uri=record.get("source_uri"),
        destination_uri=record.get("destination_uri"),
        purpose=record.get("purpose"),
        bytes=_int(record.get("bytes")),
        manifest_digest=record.get("manifest_digest"),
        cards=_card_terms(record.get("cards")),
        origin=origin,
        **view,
    )


def _record_uri(uri: str) -> str:
    return uri if uri.endswith(".json") else storage.join(uri, RECORD_NAME)


def read_transfer(uri: str) -> dict[str, Any]:
    """The transfer record at `uri` (a transfer.json, or a prepared dir that holds one)."""
    target = _record_uri(uri)
    try:
        record = json.loads(storage.read_text(target, purpose=_PURPOSE))
    except Exception as err:  # any backend's failure (no credentials, no endpoint, ...)
        reason = f"{type(err).__name__}: {err}" if not isinstance(err, SovtrainError) else err
        raise TransferRecordError(f"{target}: cannot read the transfer record: {reason}") from None
    if not isinstance(record, dict) or "transfer_id" not in record:
        raise TransferRecordError(f"{target}: not a transfer record (no transfer_id)")
    return record


def _follow(record: dict[str, Any], origin: str) -> ExecutedTransfer:
    """A ledger record's transfer.json when readable, else the ledger record itself."""
    destination = record.get("destination_uri")
    if not destination:
        return from_ledger_record(record, origin, "the record names no destination_uri")
    try:
        full = read_transfer(str(destination))
    except TransferRecordError as err:
        return from_ledger_record(record, origin, str(err).rsplit(": ", 1)[-1])
    done = from_record(full, f"{_record_uri(str(destination))} (via {origin})")
    if full.get("transfer_id") != record.get("transfer_id"):
        done.notes.append(f"the ledger records transfer {record.get('transfer_id')}, the "
                          f"destination now holds {full.get('transfer_id')}")  # fmt: skip
    elif record.get("manifest_digest") not in (None, full.get("manifest_digest")):
        done.notes.append("the ledger and transfer.json name different manifest digests")
    return done


def ledger_transfers(path: Path) -> tuple[list[ExecutedTransfer], str]:
    """The allowed transfers one hash-chained ledger file records, and its verification."""
    check = audit.verify(path)
    status = (f"{path}: chain verified, {check.records} record(s)" if check.ok
              else f"{path}: CHAIN BROKEN ({'; '.join(check.problems[:3])})")  # fmt: skip
    found: list[ExecutedTransfer] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line) if line.strip() else None
        except ValueError:
            continue  # verify() has reported it
        if not isinstance(record, dict):
            continue
        if record.get("kind") == "transfer" and record.get("result") == "allow":
            found.append(_follow(record, f"{path}:{number}"))
    return found, status


def collect(paths: list[str] | None = None) -> Collected:
    """Explicit transfer records (`--transfers`: a transfer.json, a prepared dir holding one,
    or a transfer ledger / audit log `.jsonl`), else this site's ledger. Errors on an
    explicit path that cannot be read; the default ledger may be absent (nothing executed)."""
    out = Collected()
    by_id: dict[str, ExecutedTransfer] = {}

    def add(transfer: ExecutedTransfer) -> None:
        """One entry per transfer id (both sides' ledgers name it); a full record wins."""
        key = transfer.transfer_id
        if key == "unknown":
            key = f"unknown-{len(by_id)}"
        known = by_id.get(key)
        if known is None or (transfer.complete and not known.complete):
            by_id[key] = transfer

    if paths:
        for uri in paths:
            if uri.endswith(".jsonl"):
                if not Path(uri).is_file():
                    raise TransferRecordError(f"{uri}: no such transfer ledger")
                found, status = ledger_transfers(Path(uri))
                out.sources.append(status)
                for transfer in found:
                    add(transfer)
                continue
            add(from_record(read_transfer(uri), _record_uri(uri)))
            out.sources.append(f"{_record_uri(uri)}: transfer record")
    else:
        root = ledger_dir()
        files = sorted(root.glob("*.jsonl")) if root.is_dir() else []
        if not files:
            out.sources.append(f"{root}: no transfer ledger on this machine")
        for path in files:
            found, status = ledger_transfers(path)
            out.sources.append(status)
            for transfer in found:
                add(transfer)
    out.transfers = sorted(by_id.values(), key=lambda t: (t.time, t.transfer_id))
    return out


def evidence_problems(transfer: ExecutedTransfer, pii_types: list[str]) -> list[str]:
    """What a reviewer must not sign past: evidence missing, not covering one of the
    card's PII types, or not zero. (An allowed transfer never has these; a hand-edited or
    foreign record might.)"""
    if not transfer.complete:
        return []  # the ledger has no evidence block: said in the row's notes
    if not transfer.evidence:
        return ["no de-identification evidence in the transfer record"]
    scanned = set((transfer.evidence or {}).get("types") or transfer.found)
    problems = [f"evidence does not cover PII type {t}" for t in pii_types if t not in scanned]
    hits = {t: n for t, n in transfer.found.items() if n}
    if hits:
        counts = ", ".join(f"{t} {n}" for t, n in hits.items())
        problems.append(f"detectable PII in the transferred shards: {counts}")
    return problems


@dataclass(frozen=True)
class ExecutedRow:
    """A transfer that carried this card's data: the record, the card's terms in it, what
    the reviewer must look at (evidence problems), and whether the copy outlives its terms."""

    transfer: ExecutedTransfer
    terms: CardTerms
    problems: list[str]
    flag: Flag | None


def executed_rows(
    card_id: str, pii_types: list[str], transfers: list[ExecutedTransfer], today: dt.date
) -> list[ExecutedRow]:
    """The transfers that carried card `card_id`, each flagged when its copy at the
    destination nears or passes the transfer's expiry, or when its evidence is not clean."""
    rows = []
    for done in transfers:
        terms = done.terms_for(card_id)
        if terms is None:
            continue
        expires = _date_or_none(terms.expires)
        flag = None
        if expires is not None:
            flag = _date_flag(
                expires, today,
                f"copy in {done.to_region} held past its transfer's expiry {expires.isoformat()}",
                f"copy in {done.to_region} must be deleted by {expires.isoformat()}",
            )  # fmt: skip
        problems = evidence_problems(done, pii_types)
        if problems:
            flag = Flag("error", f"transfer {done.transfer_id}: {problems[0]}")
        rows.append(ExecutedRow(done, terms, problems, flag))
    return rows


def _date_or_none(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None
