"""Residency rules: may this dataset be stored / processed / have derivatives in this region?

Pure functions of (card, region, today), so the admission check, the storage guard and the
compliance report all give the same answer. A card's own regions decide first; a transfer
entry (destination region, mechanism, expiry, purposes) can extend them; nothing else can.

Rules, as named in refusals and the audit log:
    card-known               the lineage names a card that has no file
    card-review              the card is unapproved, expired or changed since approval
    processing-region        compute happens in a region the card does not allow
    storage-region           raw data is read from / written to a disallowed region
    derived-storage-region   a derived artifact (shards, checkpoints, models) would be stored
                             in a region the card's derived_storage_regions (or a live
                             derived-storage transfer) do not allow
    transfer-deidentified    raw data read by a job whose compute region may process the card
                             only under a transfer that requires de-identification
    mapped-location          the storage location is in no region (default deny)

A model card (a base model) has the same residency and transfers fields and goes through the
same functions: its storage_regions govern where the base's files are, its
derived_storage_regions where models fine-tuned from it may be stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sovtrain.governance.card_schema import Transfer
from sovtrain.governance.cards import Card

# The input itself, not something made from it: raw data, and a base's own weights files.
RAW_PURPOSES = frozenset({"raw-data", "base-weights"})


@dataclass(frozen=True)
class Decision:
    """One allow/deny with everything an auditor needs to check it."""

    dataset: str  # card ref id@version, or "-" when no dataset is involved
    digest: str  # card content digest ("" when none)
    uri: str
    storage_region: str | None
    compute_region: str
    action: str  # read | write | delete | list | process
    purpose: str
    rule: str
    allowed: bool
    reason: str

    def as_record(self) -> dict[str, object]:
        record = asdict(self)
        record["result"] = "allow" if record.pop("allowed") else "deny"
        return record

    def refusal(self) -> str:
        where = f"compute region {self.compute_region}"
        if self.action not in ("use", "process"):  # a storage decision: name both regions
            where = f"storage region {self.storage_region or 'unmapped'}, {where}"
        return (
            f"residency: {self.action} of {self.uri} refused for dataset {self.dataset} "
            f"by rule {self.rule}: {self.reason} ({where})"
        )


def live_transfer(card: Card, region: str, purpose: str, today: dt.date) -> Transfer | None:
    """A non-expired transfer entry that lets `purpose` ("storage"/"processing") happen in
    `region`."""
    for transfer in card.transfers:
        live = transfer.expires >= today
        if transfer.destination == region and purpose in transfer.purposes and live:
            return transfer
    return None


def may_process(card: Card, region: str, today: dt.date) -> tuple[bool, str]:
    if region in card.residency.processing_regions:
        return True, f"{region} is in processing_regions"
    transfer = live_transfer(card, region, "processing", today)
    if transfer is not None:
        return True, f"transfer to {region} under {transfer.mechanism} until {transfer.expires}"
    return False, (
        f"may be processed only in {_regions(card.residency.processing_regions)}"
        + _expired_note(card, region, "processing", today)
    )


def may_store(card: Card, region: str, derived: bool, today: dt.date) -> tuple[bool, str]:
    """Raw data: storage_regions or a live `storage` transfer. Derived artifacts (shards,
    checkpoints, models): derived_regions or a live `derived-storage` transfer; a transfer
    of the data alone (`storage`) covers the data, not what is made from it."""
    allowed = card.residency.derived_regions if derived else card.residency.storage_regions
    what = "derived artifacts" if derived else "data"
    if region in allowed:
        return True, f"{region} allowed for {what}"
    purpose = "derived-storage" if derived else "storage"
    transfer = live_transfer(card, region, purpose, today)
    if transfer is not None:
        return True, f"transfer to {region} under {transfer.mechanism} until {transfer.expires}"
    return False, (
        f"{what} may be stored only in {_regions(allowed)}"
        + _expired_note(card, region, purpose, today)
    )


def deidentified_only(card: Card, region: str, today: dt.date) -> Transfer | None:
    """The transfer that alone lets `region` process this card's data, when it requires
    de-identification: there, only shards that crossed under it (`sovtrain data transfer`,
    with zero detectable PII) may be read, never the raw data."""
    if region in card.residency.processing_regions:
        return None
    transfer = live_transfer(card, region, "processing", today)
    return transfer if transfer is not None and transfer.deidentification_required else None


def permissions(card: Card, region: str, today: dt.date) -> dict[str, bool]:
    """The dataset x region matrix cell: store / process / derived."""
    return {
        "store": may_store(card, region, False, today)[0],
        "process": may_process(card, region, today)[0],
        "derived": may_store(card, region, True, today)[0],
    }


def output_regions(cards: list[Card], regions: list[str], today: dt.date) -> list[str]:
    """Where an artifact derived from all `cards` may be stored: the strictest intersection."""
    return [r for r in regions if all(may_store(c, r, True, today)[0] for c in cards)]


def storage_rule(purpose: str) -> tuple[str, bool]:
    """(rule name, derived?) for a storage purpose: raw data vs anything derived from it."""
    derived = purpose not in RAW_PURPOSES
    return ("derived-storage-region" if derived else "storage-region"), derived


def _regions(regions: list[str]) -> str:
    return "[" + ", ".join(regions) + "]"


def _expired_note(card: Card, region: str, purpose: str, today: dt.date) -> str:
    expired = [
        t
        for t in card.transfers
        if t.destination == region and purpose in t.purposes and t.expires < today
    ]
    return f"; transfer to {region} expired on {expired[0].expires}" if expired else ""
