"""Reading audit chains and a transfer's record for the audit report.

A transfer (`sovtrain data transfer`) leaves `transfer.json` at its destination and appends
to the transfer logs of both sides (`<prepared>/transfers.audit.jsonl`). The record names
each side's log, the head right after its append and the hash of its transfer record. The
logs may have grown since (later transfers from the same data), so the recorded head must
be *in* the chain (its record `seq N-1` with that hash), not at its end; and the record the
transfer points at must be there, with its result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import SovtrainError
from sovtrain.governance import audit
from sovtrain.governance.audit_report import ChainCheck, Transfer

TRANSFER_LOG = "transfers.audit.jsonl"


def read_text(uri: str, purpose: str) -> str | None:
    """The file's text, or None when it is absent or unreadable (the report goes on)."""
    try:
        if not storage.exists(uri, purpose=purpose):
            return None
        return storage.read_text(uri, purpose=purpose)
    except (OSError, ValueError, SovtrainError):
        return None


def read_json(uri: str, purpose: str) -> dict[str, Any] | None:
    text = read_text(uri, purpose)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def records_of(text: str | None) -> list[dict[str, Any]]:
    """Parsed records, skipping lines that do not parse (the chain check reports them)."""
    out: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def verify_text(text: str) -> audit.Verification:
    """`audit.verify` on text read through storage (it checks a file)."""
    with tempfile.TemporaryDirectory(prefix="sovtrain-audit-") as tmp:
        path = Path(tmp) / "log.jsonl"
        path.write_text(text, encoding="utf-8")
        return audit.verify(path)


def read_chain(label: str, location: str, text: str | None) -> ChainCheck:
    """The chain's own verification (hashes, seq/prev links); `missing` when absent."""
    if text is None:
        return ChainCheck(label, location, "missing")
    result = verify_text(text)
    return ChainCheck(
        label, location, "verified" if result.ok else "FAILED", result.records,
        result.denied, result.head, tuple(result.problems),
    )  # fmt: skip


def head_in_chain(head: str, records: list[dict[str, Any]]) -> bool:
    """Is `N:HASH` a head this chain passed through (record seq N-1 has that hash)?"""
    count, _, digest = head.partition(":")
    if not count.isdigit():
        return False
    if int(count) == 0:
        return digest == audit.GENESIS
    return any(r.get("seq") == int(count) - 1 and r.get("hash") == digest for r in records)


def _side(
    record: dict[str, Any], side: str, findings: list[str], problems: list[str]
) -> ChainCheck:
    info = record.get("audit", {}).get(side, {}) if isinstance(record.get("audit"), dict) else {}
    info = info if isinstance(info, dict) else {}
    base = str(record.get(f"{side}_uri") or "")
    default = storage.join(base, TRANSFER_LOG) if base else ""
    location = str(info.get("log") or default)
    text = read_text(location, "shards") if location else None
    if text is None and default and location != default:
        location, text = default, read_text(default, "shards")
    region = record.get(f"{side}_region") or "unmapped"
    check = read_chain(f"transfer {side} log ({region})", location or "not recorded", text)
    if text is None:
        problems.append(f"the {side} side's transfer log is not readable at {location or '-'}")
        return check
    records = records_of(text)
    head = info.get("head")
    if isinstance(head, str) and head:
        ok = head_in_chain(head, records)
        check = dataclasses.replace(
            check, expected_head=head, head_source="transfer.json",
            head_state="match" if ok else "mismatch",
            head_detail="the recorded head is in the chain" if ok
            else "the head transfer.json recorded is not in this chain (records removed?)",
        )  # fmt: skip
    wanted = info.get("record_hash")
    found = next((r for r in records if wanted and r.get("hash") == wanted), None)
    if found is None:
        problems.append(f"the {side} log has no record with the transfer's hash "
                        f"{str(wanted or 'not recorded')[:16]}")  # fmt: skip
        return check
    what = f"{side} log: record seq {found.get('seq')}"
    if found.get("kind") == "transfer":
        what += f", result {found.get('result')}, {found.get('bytes', '?')} bytes"
        if found.get("transfer_id") != record.get("transfer_id"):
            problems.append(f"the {side} log's record names transfer {found.get('transfer_id')}")
        if found.get("result") != "allow":
            problems.append(f"the {side} log records the transfer as {found.get('result')}")
    findings.append(what)
    return check


def check_transfer(prepared: str) -> Transfer | None:
    """The transfer that brought `prepared` here, checked against both sides' logs and the
    shard manifest now present; None when `prepared` has no transfer.json."""
    location = storage.join(prepared, "transfer.json")
    text = read_text(location, "shards")
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return Transfer(location, {}, (), (), ("transfer.json does not parse as a JSON object",))
    findings: list[str] = []
    problems: list[str] = []
    chains = tuple(_side(record, side, findings, problems) for side in ("source", "destination"))
    try:
        data = storage.read_bytes(storage.join(prepared, "shards", "manifest.json"),
                                  purpose="shards")  # fmt: skip
        now: str | None = hashlib.sha256(data).hexdigest()
    except (OSError, SovtrainError):
        now = None
    recorded = record.get("manifest_digest")
    if now is None:
        problems.append("no shard manifest at the destination to compare with the transfer")
    elif now == recorded:
        findings.append("shard manifest at the destination matches the transferred digest")
    else:
        problems.append(f"shard manifest digest {now[:16]} differs from the transferred "
                        f"{str(recorded)[:16]}: the shards changed after the transfer")  # fmt: skip
    return Transfer(location, record, chains, tuple(findings), tuple(problems))
