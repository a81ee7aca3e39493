"""Reading one run directory (local or object storage) into an `audit_report.RunReport`.

Every read goes through `sovtrain.storage` (no guard is installed: the report only reads),
MLflow only through `sovtrain.tracking`. Nothing here raises for what a run lacks: a missing
file becomes "missing" / None, so a half-finished chain still gets its page; the one error
is a RUN that is not a run directory at all (`NotARun`, exit 2).

Where the logs are (see governance/admission.py `audit_path` and cli/export.py): a local
run directory holds `audit.jsonl`, `audit.rankN.jsonl` and `export-audit.jsonl`; a remote
one keeps them in this machine's cache under `$SOVTRAIN_CACHE/audit/<run.name>/`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from sovtrain import storage
from sovtrain.core.errors import SovtrainError
from sovtrain.core.paths import cache_root
from sovtrain.governance.audit_report import (
    BaseModel,
    CardUse,
    ChainCheck,
    Checkpoint,
    Export,
    IoRow,
    Refusal,
    Report,
    RunReport,
    Tracking,
    TransferEvent,
)
from sovtrain.governance.audit_transfer import (
    check_transfer,
    read_chain,
    read_json,
    read_text,
    records_of,
)
from sovtrain.governance.policy import cards_dir

RECIPE = "recipe.resolved.yaml"
TRANSFER_LOG = "transfers.audit.jsonl"
_RANK = re.compile(r"^audit\.rank(\d+)\.jsonl$")


class NotARun(SovtrainError):
    """A RUN argument that is not a run directory (no recipe.resolved.yaml): exit 2."""


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def run_logs(uri: str, name: str) -> list[tuple[str, str, str | None]]:
    """(label, location, text or None) of the run's audit logs, rank 0 first; the rank-0
    and export logs are listed even when absent, so the page says they are missing."""
    local = storage.local_path(uri)
    folder = local if local is not None else cache_root() / "audit" / name
    ranks = sorted(
        (int(m.group(1)), p) for p in folder.glob("audit.rank*.jsonl") if (m := _RANK.match(p.name))
    )
    found: list[tuple[str, Path]] = [("run log (rank 0)", folder / "audit.jsonl")]
    found += [(f"run log (rank {n})", path) for n, path in ranks]
    found.append(("export log", folder / "export-audit.jsonl"))
    out: list[tuple[str, str, str | None]] = []
    for label, path in found:
        text = path.read_text(encoding="utf-8") if path.is_file() else None
        if text is None and local is None:  # not cached here: a copy in the run directory?
            text = read_text(storage.join(uri, path.name), "run-output")
        out.append((label, str(path), text))
    return out


def _tracking(recipe: dict[str, Any], uri: str, run_id: str | None) -> Tracking:
    tracking = _dig(recipe, "tracking") or {}
    if tracking.get("enabled") is False:
        return Tracking("not tracked", run_id, None, "tracking.enabled is false")
    if not run_id:
        return Tracking("no run id", None, tracking.get("uri"),
                        "no checkpoint records an MLflow run id")  # fmt: skip
    where = tracking.get("uri")
    if not where:
        local = storage.local_path(uri)
        if local is None or not (local / "mlflow.db").is_file():
            return Tracking("not tracked", run_id, None, "no tracking.uri and no mlflow.db")
        where = f"sqlite:///{local / 'mlflow.db'}"
    return Tracking("tracked", run_id, str(where))


def _published_head(tracking: Tracking) -> tuple[Tracking, str | None]:
    """The run's `audit.head` tag (tracking state updated when the server cannot answer)."""
    if tracking.state != "tracked" or tracking.uri is None or tracking.run_id is None:
        return tracking, None
    from sovtrain.tracking.runs import read_run

    try:
        tags = read_run(tracking.uri, tracking.run_id).tags
    except Exception as err:  # any tracking failure is reported, never fatal
        detail = " ".join(str(err).split())[:300]
        return Tracking("unreachable", tracking.run_id, tracking.uri, detail), None
    return tracking, tags.get("audit.head")


def _chain(
    label: str, location: str, text: str | None, head: str | None, head_source: str,
    tracking: Tracking | None,
) -> ChainCheck:  # fmt: skip
    check = read_chain(label, location, text)
    if check.state == "missing" or tracking is None:
        return check
    if head is not None:
        same = head == check.head
        detail = "equal" if same else f"log head {check.head[:24]}... vs published {head[:24]}..."
        return _with_head(check, head, head_source, "match" if same else "mismatch", detail)
    state = {"tracked": "no-tag", "unreachable": "unreachable"}.get(tracking.state, "not-tracked")
    return _with_head(check, None, head_source, state, tracking.detail)


def _with_head(
    check: ChainCheck, head: str | None, source: str, state: Any, detail: str
) -> ChainCheck:
    import dataclasses

    return dataclasses.replace(
        check, expected_head=head, head_source=source, head_state=state, head_detail=detail
    )


def io_rows(records: Iterable[dict[str, Any]]) -> list[IoRow]:
    totals: dict[tuple[str, str, str], list[int]] = {}
    for r in records:
        if r.get("kind") == "io-totals":
            key = (str(r.get("region") or "unmapped"), str(r.get("purpose")), str(r.get("action")))
            sums = totals.setdefault(key, [0, 0])
            sums[0] += int(r.get("bytes") or 0)
            sums[1] += int(r.get("calls") or 0)
    return [IoRow(*key, *sums) for key, sums in sorted(totals.items())]


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return "-" if value is None else str(value)


def _refusal(label: str, r: dict[str, Any]) -> Refusal:
    seq = r.get("seq")
    uri = _text(r, "uri") if "uri" in r else _text(r, "destination_uri")
    return Refusal(
        label, seq if isinstance(seq, int) else None, _text(r, "time"), _text(r, "job"),
        _text(r, "action"), _text(r, "purpose"), uri, _text(r, "dataset"),
        _text(r, "storage_region"), _text(r, "compute_region"), _text(r, "rule"),
        _text(r, "reason"),
    )  # fmt: skip


def refusals(label: str, records: Iterable[dict[str, Any]]) -> list[Refusal]:
    """Every deny record (decisions, and refused transfers) of one log."""
    return [_refusal(label, r) for r in records if r.get("result") == "deny"]


def _is_job_of(record: dict[str, Any], name: str) -> bool:
    job = str(record.get("job", ""))
    return job == name or job.startswith(name + "/")


def _checkpoints(uri: str) -> list[Checkpoint]:
    root = storage.join(uri, "checkpoints")
    try:
        names = storage.listdir(root, purpose="checkpoint")
    except (OSError, SovtrainError):
        return []
    latest = (read_text(storage.join(root, "latest"), "checkpoint") or "").strip()
    out = []
    for name in names:
        if not name.startswith("step_"):
            continue
        manifest = read_json(storage.join(root, name, "manifest.json"), "checkpoint")
        files = manifest.get("files") if manifest else None
        size = None
        if isinstance(files, dict):
            size = sum(int(f.get("bytes", 0)) for f in files.values() if isinstance(f, dict))
        out.append(Checkpoint(name, size, name == latest))
    return out


def _run_id(uri: str, checkpoints: list[Checkpoint]) -> str | None:
    """The MLflow run id in the newest checkpoint's sovtrain_state.json."""
    ordered = sorted(checkpoints, key=lambda c: (c.latest, c.name), reverse=True)
    for ckpt in ordered:
        state = read_json(storage.join(uri, "checkpoints", ckpt.name, "sovtrain_state.json"),
                          "checkpoint")  # fmt: skip
        if state is not None:
            run_id = state.get("mlflow_run_id")
            return str(run_id) if run_id else None
    return None


def _exports(records: list[dict[str, Any]]) -> list[Export]:
    """Export destinations: the export log's write decisions (purpose export), outermost."""
    where: dict[str, str] = {}
    for r in records:
        if r.get("action") == "write" and r.get("purpose") == "export" and "kind" not in r:
            where.setdefault(str(r.get("uri")), str(r.get("storage_region") or "unmapped"))
    tops = [u for u in where if not any(u.startswith(o.rstrip("/") + "/") for o in where)]
    out = []
    for uri in tops:
        card = read_text(storage.join(uri, "README.md"), "export")
        front = _front_matter(card) if card is not None else {}
        regions = _dig(front, "sovtrain", "weights_storage_regions")
        step = _dig(front, "sovtrain", "step")
        out.append(Export(
            uri, where[uri], card is not None,
            tuple(str(x) for x in regions) if isinstance(regions, list) else None,
            step if isinstance(step, int) else None,
        ))  # fmt: skip
    return out


def _front_matter(text: str) -> dict[str, Any]:
    if not text.startswith("---"):
        return {}
    body = text[3:].split("\n---", 1)[0]
    try:
        value = yaml.safe_load(body)
    except yaml.YAMLError:
        return {}
    return value if isinstance(value, dict) else {}


def _card_uses(recipe: dict[str, Any], records: list[dict[str, Any]]) -> list[CardUse]:
    from sovtrain.governance.cards import check_cards

    sources = _dig(recipe, "data", "sources") or []
    data_ids = {str(s["card"]) for s in sources if isinstance(s, dict) and s.get("card")}
    admitted: dict[str, tuple[str, str]] = {}
    for r in records:
        if r.get("rule") == "card-review" and r.get("dataset") not in (None, "-"):
            ref = str(r["dataset"])
            admitted[ref.partition("@")[0]] = (ref, str(r.get("digest") or ""))
    out = []
    for card_id in sorted(data_ids | set(admitted)):
        path = cards_dir() / f"{card_id}.yaml"
        loaded = check_cards([path])[0].loaded if path.is_file() else None
        ref, digest = admitted.get(card_id, ("", ""))
        out.append(CardUse(
            card_id, "data" if card_id in data_ids else "model", ref or None, digest or None,
            loaded.card.ref if loaded else None, loaded.digest if loaded else None,
        ))  # fmt: skip
    return out


def _base(recipe: dict[str, Any], records: list[dict[str, Any]]) -> BaseModel | None:
    uri = _dig(recipe, "model", "init_from")
    if not uri:
        return None
    from sovtrain.governance.bases import find_model_card
    from sovtrain.governance.model_cards import ModelCard, card_weights_digest

    checks = [r for r in records if r.get("rule") == "base-weights" and "kind" not in r]
    admission = "not in the audit log"
    if checks:
        last = checks[-1]
        admission = f"{last.get('result')}: {last.get('reason')}"
    try:
        loaded = find_model_card(cards_dir(), str(uri))
    except (OSError, SovtrainError):
        loaded = None
    card = loaded.card if loaded is not None else None
    if not isinstance(card, ModelCard) or loaded is None:
        return BaseModel(str(uri), None, None, None, 0, admission)
    return BaseModel(str(uri), card.ref, loaded.digest, card_weights_digest(card),
                     len(card.weights.files), admission)  # fmt: skip


def gather_run(run: str) -> RunReport:
    """Everything the report shows about RUN; NotARun when it has no resolved recipe."""
    uri = storage.canonical_uri(run).rstrip("/")
    text = read_text(storage.join(uri, RECIPE), "run-output")
    recipe = yaml.safe_load(text) if text is not None else None
    if not isinstance(recipe, dict):
        raise NotARun(f"{run}: not a run directory (no readable {RECIPE})")
    name = str(_dig(recipe, "run", "name") or Path(uri).name)
    prepared = str(_dig(recipe, "data", "prepared_uri") or storage.join(uri, "data"))
    checkpoints = _checkpoints(uri)
    tracking, head = _published_head(_tracking(recipe, uri, _run_id(uri, checkpoints)))
    chains, records, missing_io, refused = [], [], [], []
    for label, location, log_text in run_logs(uri, name):
        rank0 = label == "run log (rank 0)"
        chains.append(_chain(label, location, log_text, head if rank0 else None,
                             "MLflow tag audit.head" if rank0 else "",
                             tracking if rank0 else None))  # fmt: skip
        these = records_of(log_text)
        records += these
        refused += refusals(label, these)
        if log_text is not None and not any(r.get("kind") == "io-totals" for r in these):
            missing_io.append(label)
    site_log = cache_root() / "audit" / "refusals.jsonl"
    if site_log.is_file():
        text = site_log.read_text(encoding="utf-8")
        mine = [r for r in records_of(text) if _is_job_of(r, name)]
        if mine:
            chains.append(read_chain("site refusals log (this machine)", str(site_log), text))
            refused += refusals("site refusals log", mine)
    transfer = check_transfer(prepared)
    log_uri = storage.join(prepared, TRANSFER_LOG)
    log_text = read_text(log_uri, "shards")
    seen = transfer is not None and any(c.location == log_uri for c in transfer.chains)
    if log_text is not None and not seen:
        chains.append(read_chain("transfer log at the prepared data", log_uri, log_text))
    transfer_records = records_of(log_text)
    refused += refusals("transfer log", transfer_records)
    decisions = [r for r in records if "kind" not in r]
    ckpt_root = storage.join(uri, "checkpoints")
    ckpt_regions = {
        str(r.get("storage_region") or "unmapped") for r in decisions
        if r.get("action") == "write" and str(r.get("uri", "")).startswith(ckpt_root)
    }  # fmt: skip
    manifest = read_json(storage.join(prepared, "shards", "manifest.json"), "shards")
    evidence = manifest.get("deidentification") if manifest else None
    return RunReport(
        uri=uri, name=name,
        jobs=tuple(sorted({str(r.get("job")) for r in records if r.get("job")})),
        compute_regions=tuple(sorted({str(r["compute_region"]) for r in decisions
                                      if r.get("compute_region")})),
        prepared_uri=prepared, tracking=tracking, chains=tuple(chains),
        io=tuple(io_rows(records)), io_missing=tuple(missing_io), refusals=tuple(refused),
        decisions=len(decisions), cards=tuple(_card_uses(recipe, records)),
        base=_base(recipe, records),
        deidentification=evidence if isinstance(evidence, dict) else None,
        transfer=transfer,
        transfer_events=tuple(_events(log_uri, transfer_records)),
        checkpoints=tuple(checkpoints), checkpoint_regions=tuple(sorted(ckpt_regions)),
        exports=tuple(_exports(records)),
    )  # fmt: skip


def _event(log: str, r: dict[str, Any]) -> TransferEvent:
    size = r.get("bytes")
    return TransferEvent(
        log, _text(r, "time"), _text(r, "transfer_id"), _text(r, "result"), _text(r, "rule"),
        _text(r, "destination_uri"), size if isinstance(size, int) else None,
    )  # fmt: skip


def _events(log: str, records: list[dict[str, Any]]) -> list[TransferEvent]:
    return [_event(log, r) for r in records if r.get("kind") == "transfer"]


def use_policy_endpoints() -> None:
    """S3 endpoints per bucket from the residency policy (each region's object store has
    its own), so remote RUNs and transfer logs are read where they live; no policy: none."""
    from sovtrain.governance.policy import load_policy

    path = cards_dir() / "residency.yaml"
    if not path.is_file():
        return
    endpoints: dict[str, str] = {}
    for mapping in load_policy(path).storage:
        canonical = storage.canonical_uri(mapping.prefix)
        if mapping.endpoint_url and canonical.startswith("s3://"):
            endpoints[canonical[5:].split("/", 1)[0]] = mapping.endpoint_url
    storage.set_endpoints(endpoints)


def build_report(runs: list[str]) -> Report:
    """The report on RUN... in the order given (a chain: prepare, train, export)."""
    if any(not storage.is_local(run) for run in runs):
        use_policy_endpoints()
    return Report(dt.datetime.now(dt.UTC), [gather_run(run) for run in runs])
