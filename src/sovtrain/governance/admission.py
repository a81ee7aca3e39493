"""Admission: may this recipe run on this cluster, and where may its outputs go?

Runs before `data prepare`, `train` and Slurm submission read a byte. It loads only the cards
the recipe names, checks each is approved and unchanged, that the compute site's region may
process it, that each input location is mapped and allowed, and that every output location
(run directory, prepared data, tracking store) is allowed for artifacts derived from *all*
inputs. A Hugging Face base (`model.init_from`) is an input too: its model card must be
approved and its weight files must be the reviewed ones (bases.py). Then `install_guard`
keeps enforcing the same rules on every storage call of the job, writing each decision to
the run's audit log.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import PolicyRefused
from sovtrain.governance import bases
from sovtrain.governance.audit import AuditLog
from sovtrain.governance.bases import BaseCheck
from sovtrain.governance.cards import CardError, LoadedCard, load_card
from sovtrain.governance.io_totals import IoTotals
from sovtrain.governance.policy import cards_dir
from sovtrain.governance.residency import (
    Decision,
    deidentified_only,
    may_process,
    may_store,
    output_regions,
    storage_rule,
)
from sovtrain.governance.sites import Site, load_site
from sovtrain.recipe.schema import FilesSource, Recipe

log = logging.getLogger(__name__)


@dataclass
class Admission:
    site: Site
    cards: dict[str, LoadedCard]  # by card id, only those the recipe uses (base's included)
    decisions: list[Decision] = field(default_factory=list)
    output_regions: list[str] = field(default_factory=list)
    audit: AuditLog | None = None
    base: BaseCheck | None = None  # model.init_from, when there is one
    # the record of the governed transfer the prepared data crossed under (`transfer.json`
    # in data.prepared_uri), when the job trains on transferred shards
    transfer: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return all(d.allowed for d in self.decisions)

    @property
    def lineage(self) -> tuple[str, ...]:
        return tuple(sorted(self.cards))

    def refusals(self) -> list[Decision]:
        return [d for d in self.decisions if not d.allowed]

    def raise_if_refused(self) -> None:
        refused = self.refusals()
        if refused:
            lines = [d.refusal() for d in refused]
            raise PolicyRefused("\n".join(lines))


def admit(recipe: Recipe, cluster: str, today: dt.date | None = None) -> Admission:
    """Every admission decision for `recipe` on `cluster` (nothing written; a base's weight
    files are read to check their digests, last, and only when nothing else refused)."""
    today = today or dt.date.today()
    site = load_site(cluster)
    storage.set_endpoints(site.endpoints())  # admission reads too (a transfer record, a base)
    admission = Admission(site=site, cards={})
    compute = site.compute_region
    base = _resolve_base(recipe)
    base_lineage = tuple(base.lineage) if base is not None else ()
    card_ids = sorted({source.card for source in recipe.data.sources} | set(base_lineage))
    for card_id in card_ids:
        loaded = _card(admission, card_id, compute)
        if loaded is not None:
            _use_decisions(admission, loaded, today)
    _transferred_data(admission, recipe, today)
    raw = [] if admission.transfer else recipe.data.sources  # crossed shards: no raw read
    for source in raw:
        if isinstance(source, FilesSource) and source.card in admission.cards:
            _check_location(admission, source.uri, "read", "raw-data", (source.card,), today)
    if recipe.model.init_from:  # the base weights are derived from the base's data
        _check_location(admission, recipe.model.init_from, "read", "base-model",
                        tuple(c for c in base_lineage if c in admission.cards), today)  # fmt: skip
    if base is not None:
        _base_card(admission, base, today)
    lineage = tuple(admission.cards)
    for uri, purpose in _outputs(recipe):
        _check_location(admission, uri, "write", purpose, lineage, today)
    if admission.base is not None and admission.base.loaded is not None:
        decisions, files = bases.verify_weights(site, admission.base, admission.allowed)
        admission.decisions += decisions
        admission.base = dataclasses.replace(admission.base, files=files)
    admission.output_regions = output_regions(
        [c.card for c in admission.cards.values()], list(site.policy.regions), today
    )
    return admission


def _use_decisions(admission: Admission, loaded: LoadedCard, today: dt.date) -> None:
    """A card's own checks: approved and unchanged, and processable in this compute region."""
    ref, digest, site = loaded.card.ref, loaded.digest, admission.site
    compute = site.compute_region
    problem = loaded.review_problem(today)
    admission.decisions.append(Decision(
        ref, digest, str(loaded.path), None, compute, "use", "review", "card-review",
        problem is None, problem or "approved, unchanged since approval, not expired",
    ))  # fmt: skip
    ok, why = may_process(loaded.card, compute, today)
    admission.decisions.append(Decision(
        ref, digest, f"cluster:{site.cluster.name}", None, compute, "process", "compute",
        "processing-region", ok, why,
    ))  # fmt: skip


def _transferred_data(admission: Admission, recipe: Recipe, today: dt.date) -> None:
    """Shards that crossed under a transfer: their record joins the job's lineage, and a
    compute region that may process a card only de-identified must train on shards that
    crossed under that very transfer, unchanged since (rule `transfer-record`)."""
    from sovtrain.governance.transfer import read_record

    record = read_record(recipe.data.prepared_uri)
    admission.transfer = record
    compute = admission.site.compute_region
    for card_id, loaded in sorted(admission.cards.items()):
        if deidentified_only(loaded.card, compute, today) is None:
            continue
        problem = _transfer_problem(record, card_id, compute, recipe.data.prepared_uri)
        admission.decisions.append(Decision(
            loaded.card.ref, loaded.digest, storage.canonical_uri(recipe.data.prepared_uri),
            admission.site.storage_region(recipe.data.prepared_uri), compute, "read",
            "shards", "transfer-record", problem is None,
            problem or f"shards transferred under {record['transfer_id'] if record else '?'}",
        ))  # fmt: skip


def _transfer_problem(
    record: dict[str, Any] | None, card_id: str, compute: str, prepared_uri: str
) -> str | None:
    from sovtrain.governance.transfer import manifest_sha256

    if record is None:
        return (f"{compute} may train on this data only as shards moved by `sovtrain data "
                f"transfer`; {prepared_uri} has no transfer record")  # fmt: skip
    if card_id not in {c["id"] for c in record.get("cards", [])}:
        return f"the transfer {record.get('transfer_id')} did not carry this card's data"
    if record.get("destination_region") != compute:
        return f"the shards crossed to {record.get('destination_region')}, not {compute}"
    if manifest_sha256(prepared_uri) != record.get("manifest_digest"):
        return "the shards changed since the transfer (manifest digest differs)"
    return None


def _resolve_base(recipe: Recipe) -> Any:
    """What `model.init_from` is, with the cards a sovtrain base was trained on (read from
    its shard manifest): a fine-tuned model inherits the residency of its base's data."""
    if not recipe.model.init_from:
        return None
    from sovtrain.model.init import resolve_base

    return resolve_base(recipe.model.init_from)


def _base_card(admission: Admission, base: Any, today: dt.date) -> None:
    """The base's model card joins the job's cards: reviewed, processable here, stored where
    it allows, and everything the job writes is derived from it (its derived regions)."""
    check, refusals = bases.find_card(admission.site, base, cards_dir())
    admission.base = check
    admission.decisions += refusals
    if check.loaded is None:
        return
    admission.cards[check.loaded.card.id] = check.loaded
    _use_decisions(admission, check.loaded, today)
    _check_location(admission, base.uri, "read", bases.PURPOSE, (check.loaded.card.id,), today)


def _card(admission: Admission, card_id: str, compute: str) -> LoadedCard | None:
    path = cards_dir() / f"{card_id}.yaml"
    try:
        loaded = load_card(path)
    except CardError as err:
        admission.decisions.append(Decision(
            card_id, "", str(path), None, compute, "use", "review", "card-known", False,
            str(err).splitlines()[0],
        ))  # fmt: skip
        return None
    admission.cards[card_id] = loaded
    return loaded


def _outputs(recipe: Recipe) -> list[tuple[str, str]]:
    """(location, purpose) of everything the job writes."""
    outputs = [(recipe.run.output_uri, "run-output"), (recipe.data.prepared_uri, "shards")]
    tracking = recipe.tracking.uri
    if recipe.tracking.enabled and tracking:
        if tracking.startswith("sqlite:///"):
            outputs.append((tracking.removeprefix("sqlite:///"), "tracking"))
        elif not tracking.startswith("databricks"):
            outputs.append((tracking, "tracking"))
    return outputs


def _check_location(
    admission: Admission,
    uri: str,
    action: str,
    purpose: str,
    lineage: tuple[str, ...],
    today: dt.date,
) -> None:
    for decision in decide(admission.site, admission.cards, uri, action, purpose, lineage, today):
        admission.decisions.append(decision)


def decide(
    site: Site,
    cards: dict[str, LoadedCard],
    uri: str,
    action: str,
    purpose: str,
    lineage: tuple[str, ...],
    today: dt.date,
) -> list[Decision]:
    """The decisions for one storage access: one per dataset in its lineage."""
    canonical = storage.canonical_uri(uri)
    region = site.storage_region(canonical)
    at = functools.partial(
        Decision, uri=canonical, storage_region=region, compute_region=site.compute_region,
        action=action, purpose=purpose,
    )  # fmt: skip
    if region is None:
        names = ",".join(cards[c].card.ref if c in cards else c for c in lineage) or "-"
        reason = "location is in no region of the policy (default deny)"
        return [at(dataset=names, digest="", rule="mapped-location", allowed=False, reason=reason)]
    if not lineage:
        reason = f"mapped to {region}"
        return [at(dataset="-", digest="", rule="mapped-location", allowed=True, reason=reason)]
    rule, derived = storage_rule(purpose)
    out = []
    for card_id in lineage:
        loaded = cards.get(card_id)
        if loaded is None:
            reason = "no approved card loaded for this job"
            out.append(at(dataset=card_id, digest="", rule="card-known", allowed=False,
                          reason=reason))  # fmt: skip
            continue
        ok, why = may_store(loaded.card, region, derived, today)
        out.append(at(dataset=loaded.card.ref, digest=loaded.digest, rule=rule, allowed=ok,
                      reason=why))  # fmt: skip
        if purpose == "raw-data" and action == "read":
            out += _raw_under_transfer(at, loaded, site.compute_region, today)
    return out


def _raw_under_transfer(
    at: Any, loaded: LoadedCard, compute: str, today: dt.date
) -> list[Decision]:
    """A compute region that may process the card only under a transfer requiring
    de-identification never reads the raw data: only shards that crossed under it."""
    transfer = deidentified_only(loaded.card, compute, today)
    if transfer is None:
        return []
    filing = f" ({transfer.filing_reference})" if transfer.filing_reference else ""
    reason = (
        f"{compute} may process this data only de-identified, under {transfer.mechanism}"
        f"{filing}: prepare it where it is resident and move the shards with "
        "`sovtrain data transfer`"
    )
    return [at(dataset=loaded.card.ref, digest=loaded.digest, rule="transfer-deidentified",
               allowed=False, reason=reason)]  # fmt: skip


class ResidencyGuard:
    """The storage guard of an admitted job: decide, audit, refuse; and (a `storage.Meter`)
    tally the bytes each admitted call moved, appended as io-totals records by `finish`."""

    def __init__(self, admission: Admission, audit: AuditLog | None, today: dt.date) -> None:
        self.admission = admission
        self.audit = audit
        self.today = today
        self.io = IoTotals(admission.site)

    def after(self, access: storage.Access, nbytes: int) -> None:
        self.io.count(access, nbytes)

    def finish(self) -> list[dict[str, Any]]:
        """The job ended: append its io-totals records to its audit log (once)."""
        return self.io.flush(self.audit)

    def __call__(self, access: storage.Access) -> None:
        lineage = access.lineage
        if not lineage and access.action in ("write", "delete"):
            lineage = self.admission.lineage  # what the job writes derives from all its data
        decisions = decide(
            self.admission.site, self.admission.cards, access.uri, access.action,
            access.purpose, lineage, self.today,
        )  # fmt: skip
        if all(d.allowed for d in decisions):
            decisions = self._moved(access, lineage) or decisions
        for decision in decisions:
            if self.audit is not None:
                self.audit.append(decision.as_record())
        refused = [d for d in decisions if not d.allowed]
        if refused:
            raise PolicyRefused(refused[0].refusal())

    def _moved(self, access: storage.Access, lineage: tuple[str, ...]) -> list[Decision]:
        """Refusals when the run directory is no longer where it was admitted (its audit
        log, pinned at admission, has moved): the job stops rather than act unaudited."""
        moved = self.audit.moved_to() if self.audit is not None else None
        if moved is None:
            return []
        site, cards = self.admission.site, self.admission.cards
        reason = f"the run directory moved after admission (its audit log is now at {moved})"
        at = functools.partial(
            Decision, uri=access.uri, storage_region=site.storage_region(access.uri),
            compute_region=site.compute_region, action=access.action, purpose=access.purpose,
            rule="audit-pinned", allowed=False, reason=reason,
        )  # fmt: skip
        refs = [(cards[c].card.ref, cards[c].digest) if c in cards else (c, "") for c in
                lineage or self.admission.lineage]  # fmt: skip
        return [at(dataset=ref, digest=digest) for ref, digest in refs]


_INSTALLED: ResidencyGuard | None = None


def finish_job(admission: Admission | None = None) -> None:
    """Append the installed guard's io-totals to its audit log (once; also at exit); with
    `admission`, only when the installed guard is that job's."""
    if _INSTALLED is not None and (admission is None or admission is _INSTALLED.admission):
        _INSTALLED.finish()


atexit.register(finish_job)  # CLI commands (`data prepare`, `eval`): the job ends with them


def audit_path(recipe: Recipe, rank: int) -> Path:
    """`<output_uri>/audit.jsonl` for a local run directory (per rank after the first);
    remote run directories keep the log in the local cache and upload it to MLflow."""
    from sovtrain.core.paths import cache_root

    name = "audit.jsonl" if rank == 0 else f"audit.rank{rank}.jsonl"
    local = storage.local_path(recipe.run.output_uri)
    if local is not None:
        return local / name
    return cache_root() / "audit" / recipe.run.name / name


def enforce(
    recipe: Recipe, cluster: str, job: str, rank: int = 0, install: bool = True
) -> Admission:
    """Admit the job (raising PolicyRefused with every refusal) and guard all its storage.

    Every admission decision is audited: into the run's log when admitted, into this site's
    local refusals log (`<cache>/audit/refusals.jsonl`) when not, so a refused job writes
    nothing in any run directory. `install=False` only checks (and audits a refusal).
    """
    admission = check(recipe, cluster, job)
    return install_guard(admission, recipe, job, rank) if install else admission


def refusals_log() -> Path:
    from sovtrain.core.paths import cache_root

    return cache_root() / "audit" / "refusals.jsonl"


def check(recipe: Recipe, cluster: str, job: str) -> Admission:
    """Admission without writing anything but a refusal's record (in the refusals log):
    a job that must take a lock first (the run lease) does it between this and
    `install_guard`, before its first record lands in the run directory."""
    admission = admit(recipe, cluster, dt.date.today())
    if not admission.allowed:
        audit = AuditLog(refusals_log(), job=job)
        for decision in admission.decisions:
            audit.append(decision.as_record())
        audit.close()
        admission.raise_if_refused()
    return admission


def install_guard(admission: Admission, recipe: Recipe, job: str, rank: int = 0) -> Admission:
    """Audit the admission into the run's log and guard every storage call of this process."""
    audit = AuditLog(audit_path(recipe, rank), job=job, fallback=refusals_log())
    for decision in admission.decisions:
        audit.append(decision.as_record())
    admission.audit = audit
    storage.set_endpoints(admission.site.endpoints())
    global _INSTALLED
    if _INSTALLED is not None:  # one admitted job per process: the new one replaces it
        storage.remove_guard(_INSTALLED)
        _INSTALLED.finish()
    _INSTALLED = ResidencyGuard(admission, audit, dt.date.today())
    storage.add_guard(_INSTALLED)
    log.info(
        "residency: admitted on %s (region %s) for %s; outputs may go to %s",
        admission.site.cluster.name, admission.site.compute_region,
        ", ".join(c.card.ref for c in admission.cards.values()),
        ", ".join(admission.output_regions) or "nowhere",
    )  # fmt: skip
    return admission
