"""`sovtrain data transfer`: a governed copy of prepared shards from one region to another.

The order is what makes it safe:
  1. decide (`governance/transfer.py`) and the destination's write rule (derived data may be
     stored there), before a byte is read; a refusal is audited in the site's refusals log,
     exits 3 and copies nothing;
  2. copy every file of the prepared directory (`tokenizer/`, then `shards/`, the manifest
     last) through the storage door, each read back and checked against its sha256;
  3. append the transfer record to the hash-chained audit logs of both sides
     (`transfers.audit.jsonl` in the source and the destination directory);
  4. write `transfer.json` at the destination, last: its presence means the copy is whole,
     verified and on both records. Training there reads it for lineage.
A failure after step 2 began removes what was copied: the destination never holds a
partial transfer that looks complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from sovtrain import storage
from sovtrain.core.errors import DataError, PolicyRefused, SovtrainError
from sovtrain.data.clean.pii import DETECTOR_VERSION
from sovtrain.data.shards import MANIFEST
from sovtrain.governance.admission import decide, refusals_log
from sovtrain.governance.audit import AuditLog, principal
from sovtrain.governance.cards import CardError, LoadedCard, load_card
from sovtrain.governance.policy import cards_dir
from sovtrain.governance.residency import Decision
from sovtrain.governance.sites import Site, load_site
from sovtrain.governance.transfer import (
    RECORD_NAME,
    TransferRequest,
    decide_transfer,
    input_cards,
    read_record,
)

log = logging.getLogger(__name__)
_PURPOSE = "shards"
AUDIT_NAME = "transfers.audit.jsonl"


@dataclass(frozen=True)
class TransferResult:
    record: dict[str, Any]
    record_uri: str


def transfer_prepared(source: str, dest: str, card_ids: tuple[str, ...], purpose: str,
                      cluster: str, show_progress: bool = True) -> TransferResult:  # fmt: skip
    """Copy the prepared directory `source` to `dest` under its cards' transfer entries."""
    site = load_site(cluster)
    storage.set_endpoints(site.endpoints())
    src, dst = storage.canonical_uri(source), storage.canonical_uri(dest)
    today = dt.date.today()
    manifest = _manifest(src)
    cards = _cards(input_cards(manifest) if manifest else card_ids)
    request = TransferRequest(
        source_uri=src, source_region=site.storage_region(src), dest_uri=dst,
        dest_region=site.storage_region(dst), card_ids=tuple(card_ids), purpose=purpose,
        manifest=manifest, onward_of=read_record(src), detector_version=DETECTOR_VERSION,
        compute_region=site.compute_region,
    )  # fmt: skip
    decisions, entries = decide_transfer(request, cards, today)
    lineage = tuple(sorted(entries))
    if decisions and all(d.allowed for d in decisions):  # the destination's own rules
        decisions += decide(site, cards, src, "read", _PURPOSE, lineage, today)
        decisions += decide(site, cards, dst, "write", _PURPOSE, lineage, today)
    refused = [d for d in decisions if not d.allowed]
    if refused:
        _audit_refusal(decisions, request)
        raise PolicyRefused("\n".join(f"data transfer: {d.refusal()}" for d in refused))
    assert manifest is not None  # decide_transfer refuses without one
    _require_empty(dst)
    files = _plan(src, manifest)
    try:
        copied = _copy(src, dst, files, lineage, show_progress)
        record = _record(request, cards, entries, manifest, copied)
        record["audit"] = _audit_both(site, request, decisions, record, lineage)
        uri = storage.join(dst, RECORD_NAME)
        text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False)
        storage.write_text_atomic(uri, text, purpose=_PURPOSE, lineage=lineage)
    except BaseException:
        _remove_partial(dst, files)
        raise
    log.info("transferred %s -> %s (%d files, %d bytes) under %s", src, dst, len(copied),
             record["bytes"], ", ".join(f"{e.mechanism} {e.filing_reference or ''}".strip()
                                        for e in entries.values()))  # fmt: skip
    return TransferResult(record, uri)


def _manifest(src: str) -> dict[str, Any] | None:
    uri = storage.join(src, "shards", MANIFEST)
    if not storage.exists(uri, purpose=_PURPOSE):
        return None
    try:
        manifest: dict[str, Any] = json.loads(storage.read_text(uri, purpose=_PURPOSE))
    except ValueError as err:
        raise DataError(f"{uri}: not a readable shard manifest ({err})") from None
    return manifest


def _cards(card_ids: tuple[str, ...]) -> dict[str, LoadedCard]:
    cards = {}
    for card_id in card_ids:
        try:
            cards[card_id] = load_card(cards_dir() / f"{card_id}.yaml")
        except CardError:
            continue  # decide_transfer names the missing card (rule card-review)
    return cards


def _audit_refusal(decisions: list[Decision], request: TransferRequest) -> None:
    """Into the site's refusals log, and the summary into its transfer ledger: a refused
    transfer writes nothing in either directory."""
    rule = next(d.rule for d in decisions if not d.allowed)
    _append_local(refusals_log(), [d.as_record() for d in decisions])
    _append_local(ledger_path(request.source_region), [_summary(request, "deny", rule)])


def ledger_path(region: str | None) -> Path:
    """This site's transfer ledger for transfers out of `region`: one summary record per
    transfer, allowed or refused (what `cards report` lists)."""
    from sovtrain.core.paths import cache_root

    return cache_root() / "audit" / "transfers" / f"{region or 'unmapped'}.jsonl"


def _append_local(path: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    audit = AuditLog(path, job="data-transfer")
    try:
        last: dict[str, Any] = {}
        for record in records:
            last = audit.append(record)
        return {"head": audit.head, "hash": last.get("hash", "")}
    finally:
        audit.close()


def _summary(request: TransferRequest, result: str, rule: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "transfer", "result": result, "rule": rule, "source_uri": request.source_uri,
            "destination_uri": request.dest_uri, "source_region": request.source_region,
            "destination_region": request.dest_region, "cards": list(request.card_ids),
            **extra}  # fmt: skip


def _require_empty(dst: str) -> None:
    if storage.exists(dst, purpose=_PURPOSE) and storage.listdir(dst, purpose=_PURPOSE):
        raise SovtrainError(f"data transfer: {dst} is not empty: transfer into a new directory")


def _plan(src: str, manifest: dict[str, Any]) -> list[str]:
    """Every file to copy, relative to the prepared directory: the tokenizer, the shards in
    the manifest's order, the manifest last (what makes the shards a prepared set)."""
    names = storage.listdir(storage.join(src, "tokenizer"), purpose=_PURPOSE)
    tokenizer = sorted(f"tokenizer/{name}" for name in names)
    shards = [f"shards/{shard['name']}" for shard in manifest["shards"]]
    return [*tokenizer, *shards, f"shards/{MANIFEST}"]


def _copy(src: str, dst: str, files: list[str], lineage: tuple[str, ...],
          show_progress: bool) -> list[dict[str, Any]]:  # fmt: skip
    """Copy and verify each file (read back, sha256 compared); the manifest's own sha256
    of every shard is checked too, so a shard changed since preparation never crosses."""
    expected = _shard_digests(src)
    copied = []
    with Progress(TextColumn("transferring"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), disable=not show_progress) as progress:  # fmt: skip
        task = progress.add_task("files", total=len(files))
        for rel in files:
            data = storage.read_bytes(storage.join(src, rel), purpose=_PURPOSE, lineage=lineage)
            digest = hashlib.sha256(data).hexdigest()
            if rel in expected and expected[rel] != digest:
                raise DataError(f"data transfer: {src}/{rel} does not match its manifest "
                                "sha256: the shards changed since preparation")  # fmt: skip
            target = storage.join(dst, rel)
            storage.write_bytes_atomic(target, data, purpose=_PURPOSE, lineage=lineage)
            back = storage.read_bytes(target, purpose=_PURPOSE, lineage=lineage)
            if hashlib.sha256(back).hexdigest() != digest:
                raise DataError(f"data transfer: {target} differs from its source after the "
                                "copy (sha256 mismatch); nothing kept")  # fmt: skip
            copied.append({"path": rel, "bytes": len(data), "sha256": digest})
            progress.advance(task)
    return copied


def _shard_digests(src: str) -> dict[str, str]:
    manifest = _manifest(src) or {}
    return {f"shards/{s['name']}": s["sha256"] for s in manifest.get("shards", [])}


def _record(request: TransferRequest, cards: dict[str, LoadedCard], entries: dict[str, Any],
            manifest: dict[str, Any], copied: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    manifest_sha = next(f["sha256"] for f in copied if f["path"] == f"shards/{MANIFEST}")
    return {
        "format": 1,
        "transfer_id": f"tr-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}",
        "time": now.isoformat(timespec="milliseconds"),
        "principal": principal(),
        "source_uri": request.source_uri, "source_region": request.source_region,
        "destination_uri": request.dest_uri, "destination_region": request.dest_region,
        "purpose": request.purpose,
        "cards": [{"id": cid, "ref": cards[cid].card.ref, "digest": cards[cid].digest,
                   "transfer": entry.model_dump(mode="json")}
                  for cid, entry in sorted(entries.items())],
        "manifest_digest": manifest_sha,
        "files": copied,
        "bytes": sum(f["bytes"] for f in copied),
        "evidence": manifest.get("deidentification"),
    }  # fmt: skip


def _audit_both(site: Site, request: TransferRequest, decisions: list[Decision],
                record: dict[str, Any], lineage: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    """The decisions and the transfer itself into both sides' chained logs; their heads and
    record hashes go into `transfer.json`, tying the copy to both records."""
    summary = _summary(request, "allow", "transfer", transfer_id=record["transfer_id"],
                       manifest_digest=record["manifest_digest"], bytes=record["bytes"],
                       files=len(record["files"]))  # fmt: skip
    out = {}
    for side, uri in (("source", request.source_uri), ("destination", request.dest_uri)):
        out[side] = _append(site, uri, [d.as_record() for d in decisions] + [summary], lineage)
    _append_local(ledger_path(request.source_region), [summary])
    return out


def _append(site: Site, directory: str, records: list[dict[str, Any]],
            lineage: tuple[str, ...]) -> dict[str, str]:  # fmt: skip
    """Append to `<directory>/transfers.audit.jsonl`: in place when local; on object storage
    through a local chain per region (in the cache), uploaded whole after the append."""
    uri = storage.join(directory, AUDIT_NAME)
    local = storage.local_path(uri)
    path = local if local is not None else _cached_chain(site, directory)
    if local is None and storage.exists(uri, purpose="audit"):  # continue the stored chain
        path.write_bytes(storage.read_bytes(uri, purpose="audit"))
    appended = _append_local(path, records)
    if local is None:
        storage.write_bytes_atomic(uri, path.read_bytes(), purpose="audit", lineage=lineage)
    return {"log": uri, "head": appended["head"], "record_hash": str(appended["hash"])}


def _cached_chain(site: Site, directory: str) -> Path:
    from sovtrain.core.paths import cache_root

    region = site.storage_region(directory) or "unmapped"
    name = hashlib.sha256(directory.encode()).hexdigest()[:16]
    path = cache_root() / "audit" / "transfer-chains" / region / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _remove_partial(dst: str, files: list[str]) -> None:
    """Undo a copy that did not finish: no half transfer stays at the destination."""
    for rel in [*files, RECORD_NAME]:
        target = storage.join(dst, rel)
        try:
            if storage.exists(target, purpose=_PURPOSE):
                storage.remove(target, purpose=_PURPOSE)
        except (OSError, SovtrainError) as err:
            log.warning("could not remove %s after the failed transfer: %s", target, err)
