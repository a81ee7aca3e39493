"""May these prepared shards cross to that region? The rules of `sovtrain data transfer`.

A governed transfer moves *prepared* shards (never raw sources) from the region they were
prepared in to another, under the transfer entry every input card files for that
destination (mechanism, filing reference, purposes, expiry), and only with evidence that
what crosses is de-identified: the PII detector's counts over the final shards, recorded at
preparation (`data/deid.py`), zero for every PII type the card declares.

Pure functions of (cards, manifest, regions, today), like `residency.py`, so the command,
its tests and a reviewer reading the audit log reach the same verdict. Rules, as named in
refusals and the audit log:

    prepared-only          the source is not a prepared directory (no shard manifest)
    transfer-cards         --card does not name exactly the shards' input cards
    card-review            an input card is unapproved, expired or changed since approval
    transfer-destination   the card files no transfer to the destination's region
    transfer-expired       the card's transfer to that region has expired
    transfer-filing        the transfer names no filing reference (its mechanism needs one)
    transfer-purpose       the transfer does not cover the purpose, or storing derived data
                           (shards) at the destination (`derived-storage`)
    onward-transfer        the source is itself a transferred copy whose transfer prohibits
                           onward transfer
    deid-evidence          the shards carry no de-identification evidence, an outdated one,
                           or detectable PII of the card's types
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.governance.card_schema import Transfer
from sovtrain.governance.cards import DataCard, LoadedCard
from sovtrain.governance.residency import Decision

# mechanisms that need no filing with a regulator: the others must name theirs
_NO_FILING = frozenset({"consent", "not-personal-data"})
RECORD_NAME = "transfer.json"


@dataclass(frozen=True)
class TransferRequest:
    """One requested transfer, with the facts every rule reads."""

    source_uri: str
    source_region: str | None
    dest_uri: str
    dest_region: str | None
    card_ids: tuple[str, ...]  # --card, as the operator asserts them
    purpose: str  # what the destination does with the shards: processing | storage
    manifest: dict[str, Any] | None  # the shard manifest; None: not a prepared directory
    onward_of: dict[str, Any] | None  # the source's own transfer record, if it crossed before
    detector_version: str
    compute_region: str


def read_record(prepared_uri: str) -> dict[str, Any] | None:
    """The transfer record of a prepared directory that crossed (`transfer.json`), if any."""
    uri = storage.join(prepared_uri, RECORD_NAME)
    if not storage.exists(uri, purpose="shards"):
        return None
    try:
        record: dict[str, Any] = json.loads(storage.read_text(uri, purpose="shards"))
    except ValueError as err:
        raise DataError(f"{uri}: not a readable transfer record ({err})") from None
    return record


def manifest_sha256(prepared_uri: str) -> str | None:
    """sha256 of the prepared directory's shard manifest (what a transfer record names)."""
    uri = storage.join(prepared_uri, "shards", "manifest.json")
    if not storage.exists(uri, purpose="shards"):
        return None
    return hashlib.sha256(storage.read_bytes(uri, purpose="shards")).hexdigest()


def input_cards(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The cards the shards were prepared from (the manifest's sources)."""
    return tuple(sorted({source["card"] for source in manifest.get("sources", [])}))


def decide_transfer(
    request: TransferRequest, cards: dict[str, LoadedCard], today: dt.date
) -> tuple[list[Decision], dict[str, Transfer]]:
    """Every decision, and the transfer entry each card crosses under (allowed ones only)."""
    at = _decision(request)
    if request.manifest is None:
        return [at("-", "", "prepared-only", False,
                   "not a prepared directory (no shards/manifest.json): only prepared, "
                   "de-identified shards may cross, never raw sources")], {}  # fmt: skip
    wanted = input_cards(request.manifest)
    if tuple(sorted(request.card_ids)) != wanted:
        return [at(",".join(request.card_ids) or "-", "", "transfer-cards", False,
                   f"the shards were prepared from {', '.join(wanted)}; --card must name "
                   "exactly those")], {}  # fmt: skip
    decisions: list[Decision] = []
    entries: dict[str, Transfer] = {}
    for card_id in wanted:
        loaded = cards.get(card_id)
        if loaded is None:
            decisions.append(at(card_id, "", "card-review", False, "card not found"))
            continue
        card_decisions, entry = _card_decisions(request, loaded, today, at)
        decisions += card_decisions
        if entry is not None and all(d.allowed for d in card_decisions):
            entries[card_id] = entry
    return decisions, entries


def _decision(request: TransferRequest) -> Any:
    def at(dataset: str, digest: str, rule: str, allowed: bool, reason: str) -> Decision:
        return Decision(
            dataset=dataset, digest=digest, uri=request.dest_uri,
            storage_region=request.dest_region, compute_region=request.compute_region,
            action="transfer", purpose=request.purpose, rule=rule, allowed=allowed,
            reason=reason,
        )  # fmt: skip

    return at


def _card_decisions(
    request: TransferRequest, loaded: LoadedCard, today: dt.date, at: Any
) -> tuple[list[Decision], Transfer | None]:
    card, ref, digest = loaded.card, loaded.card.ref, loaded.digest
    problem = loaded.review_problem(today)
    if problem is not None:
        return [at(ref, digest, "card-review", False, problem)], None
    region = request.dest_region or "unmapped"
    to_region = [t for t in card.transfers if t.destination == region]
    if not to_region:
        filed = ", ".join(sorted({t.destination for t in card.transfers})) or "none"
        return [at(ref, digest, "transfer-destination", False,
                   f"the card files no transfer to {region} (its transfers go to: "
                   f"{filed})")], None  # fmt: skip
    live = [t for t in to_region if t.expires >= today]
    if not live:
        latest = max(t.expires for t in to_region)
        return [at(ref, digest, "transfer-expired", False,
                   f"the transfer to {region} expired on {latest}")], None  # fmt: skip
    entry = max(live, key=lambda t: t.expires)
    out = [at(ref, digest, "transfer-destination", True,
              f"transfer to {region} under {entry.mechanism} until {entry.expires}")]  # fmt: skip
    out.append(_filing(entry, ref, digest, at))
    out.append(_purpose(entry, request.purpose, ref, digest, at))
    out.append(_onward(request, ref, digest, at))
    if entry.deidentification_required:
        out.append(_evidence(request, card, ref, digest, at))
    return out, entry


def _filing(entry: Transfer, ref: str, digest: str, at: Any) -> Decision:
    if entry.filing_reference or entry.mechanism in _NO_FILING:
        filing = entry.filing_reference or "none needed"
        return at(ref, digest, "transfer-filing", True, f"{entry.mechanism}, filing {filing}")
    reason = f"{entry.mechanism} needs a filing reference; the card's transfer names none"
    return at(ref, digest, "transfer-filing", False, reason)


def _purpose(entry: Transfer, purpose: str, ref: str, digest: str, at: Any) -> Decision:
    needed = {purpose, "derived-storage"}  # shards are derived data, stored at the destination
    missing = sorted(needed - set(entry.purposes))
    if missing:
        return at(ref, digest, "transfer-purpose", False,
                  f"the transfer covers {', '.join(entry.purposes)}, not "
                  f"{', '.join(missing)}")  # fmt: skip
    return at(ref, digest, "transfer-purpose", True, f"covers {', '.join(sorted(needed))}")


def _onward(request: TransferRequest, ref: str, digest: str, at: Any) -> Decision:
    earlier = request.onward_of
    if earlier is None:
        return at(ref, digest, "onward-transfer", True, "the source was prepared here")
    rules = {c["id"]: c["transfer"].get("onward_transfer") for c in earlier.get("cards", [])}
    if "prohibited" in rules.values():
        return at(ref, digest, "onward-transfer", False,
                  f"the source crossed under transfer {earlier.get('transfer_id')}, which "
                  "prohibits onward transfer")  # fmt: skip
    return at(ref, digest, "onward-transfer", True, "onward transfer allowed by the card")


def _evidence(request: TransferRequest, card: Any, ref: str, digest: str, at: Any) -> Decision:
    """Zero detectable PII of the card's types in the final shards, by the current detector."""
    evidence = (request.manifest or {}).get("deidentification")
    if not evidence:
        return at(ref, digest, "deid-evidence", False,
                  "the shards carry no de-identification evidence (prepared before it was "
                  "recorded): prepare them again")  # fmt: skip
    if evidence.get("detector_version") != request.detector_version:
        return at(ref, digest, "deid-evidence", False,
                  f"evidence by detector {evidence.get('detector_version')}, not the current "
                  f"{request.detector_version}: prepare the shards again")  # fmt: skip
    types = list(card.pii.types) if isinstance(card, DataCard) else []
    unscanned = [t for t in types if t not in evidence.get("types", [])]
    if unscanned:
        return at(ref, digest, "deid-evidence", False,
                  f"the evidence does not cover PII type(s) {', '.join(unscanned)}")  # fmt: skip
    found = {t: int(evidence.get("found", {}).get(t, 0)) for t in types}
    hits = {t: n for t, n in found.items() if n}
    if hits:
        counts = ", ".join(f"{t} {n}" for t, n in sorted(hits.items()))
        return at(ref, digest, "deid-evidence", False,
                  f"the final shards still contain detectable PII ({counts}; prepared with "
                  f"pii.action {evidence.get('pii_action', '?')})")  # fmt: skip
    scanned = ", ".join(types) or "none declared"
    return at(ref, digest, "deid-evidence", True,
              f"0 detectable PII ({scanned}) in {evidence.get('shards', '?')} shards by "
              f"{evidence.get('detector_version')}")  # fmt: skip


def transfer_summary(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A transfer record as a model card (or report) shows it: which, when, from where to
    where, under which mechanism and filing until when, the evidence, the audit hashes."""
    if record is None:
        return None
    audit = record.get("audit", {})
    keys = ("mechanism", "filing_reference", "expires", "onward_transfer")
    cards = [{"ref": c["ref"], **{k: c["transfer"].get(k) for k in keys}}
             for c in record.get("cards", [])]  # fmt: skip
    return {
        "id": record.get("transfer_id"),
        "time": record.get("time"),
        "from_region": record.get("source_region"),
        "to_region": record.get("destination_region"),
        "manifest_digest": record.get("manifest_digest"),
        "bytes": int(record.get("bytes", 0)),
        "cards": cards,
        "evidence": evidence_text(record.get("evidence")),
        "audit_hash": audit.get("source", {}).get("record_hash"),
        "source_head": audit.get("source", {}).get("head"),
        "destination_head": audit.get("destination", {}).get("head"),
    }


def evidence_text(evidence: dict[str, Any] | None) -> str:
    """`0 detectable PII (card 0, email 0, ...) in 12 shards by sovtrain-pii-2`."""
    if not evidence:
        return "none recorded"
    found = evidence.get("found", {})
    counts = ", ".join(f"{name} {n}" for name, n in sorted(found.items())) or "none"
    return (f"{sum(found.values())} detectable PII ({counts}) in {evidence.get('shards', '?')} "
            f"shards by {evidence.get('detector_version')}")  # fmt: skip
