"""The exported model's README.md: what it is, what it was trained on, where it may live.

Why the card is generated, not written: the facts a reviewer checks (dataset id@version,
the card content digest that was approved, the regions the weights may be stored in) must
be the ones the run actually used. They come from the shard manifest, the data cards and
the residency policy at export time; a card that cannot be found is listed as such rather
than dropped, because a silent gap in lineage is worse than a visible one.

A base model (`model.init_from`) with a model card is listed next to the datasets: card
id@version, licence, source and the sha256 of each weight file the card pins (admission
refused the run unless the files matched them). The licence of the export then depends on
both: one licence across base and data is stated, several are `other`.

The YAML front matter follows the Hugging Face model card fields (license, language, tags,
base_model, datasets) and adds a `sovtrain:` block with the digests, for tools.

The text is a Jinja template, `governance/templates/model_card.md.j2`, beside the
compliance report's: a reviewer reads the card's wording in one place, and this module only
gathers the facts it shows (`render_model_card`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined

from sovtrain import storage
from sovtrain.governance.transfer import transfer_summary

log = logging.getLogger(__name__)
_LANG_LABELS = ("en", "zh-Hant", "zh-Hans")
_NOT_LANGUAGES = {"mixed", "other"}
# the Evaluation section of a rendered card, up to the next section
_SECTION = re.compile(r"^## Evaluation\n.*?(?=^## |\Z)", re.S | re.M)


def _load_cards(ids: Sequence[str]) -> dict[str, Any]:
    """Card id -> LoadedCard, or None when the card file is missing or invalid."""
    from sovtrain.governance.cards import CardError, load_card
    from sovtrain.governance.policy import cards_dir

    found: dict[str, Any] = {}
    for card_id in ids:
        try:
            found[card_id] = load_card(cards_dir() / f"{card_id}.yaml")
        except CardError as err:
            log.warning("model card: %s", str(err).splitlines()[0])
            found[card_id] = None
    return found


def weights_regions(cards: dict[str, Any], today: dt.date) -> tuple[list[str] | None, str]:
    """Regions the weights may be stored in (strictest intersection), or None with why not."""
    from sovtrain.core.errors import SovtrainError
    from sovtrain.governance.policy import cards_dir, load_policy
    from sovtrain.governance.residency import output_regions

    missing = sorted(card_id for card_id, loaded in cards.items() if loaded is None)
    if missing:
        return None, f"unknown: card(s) {', '.join(missing)} not found; treat as restricted"
    try:
        policy = load_policy(cards_dir() / "residency.yaml")
    except SovtrainError as err:
        return None, f"unknown: residency policy unreadable ({str(err).splitlines()[0]})"
    regions = output_regions([c.card for c in cards.values()], list(policy.regions), today)
    return regions, ", ".join(regions) if regions else "none (no region allows all inputs)"


def _languages(manifest: dict[str, Any], cards: dict[str, Any]) -> list[str]:
    """Languages the training split actually had tokens in; else what the cards declare."""
    seen = {
        lang
        for by_source in manifest.get("counts", {}).get("train", {}).values()
        for lang, counts in by_source.items()
        if counts.get("tokens", 0) > 0 and lang not in _NOT_LANGUAGES
    }
    if not seen:
        for loaded in cards.values():
            for tag in loaded.card.languages if loaded else []:
                parts = tag.split("-")
                seen.add("-".join(parts[:2]) if len(parts) > 1 and len(parts[1]) == 4 else parts[0])
    order = {lang: i for i, lang in enumerate(_LANG_LABELS)}
    return sorted(seen, key=lambda lang: (order.get(lang, len(order)), lang))


def _license(cards: dict[str, Any], base: Any = None) -> str:
    licenses = {c.card.license for c in cards.values() if c is not None}
    licenses |= {base.card.license} if base is not None else set()
    return sorted(licenses)[0].lower() if len(licenses) == 1 else "other"


def _base_card(init_from: str | None) -> Any:
    """The base's model card (LoadedCard) when one claims `init_from`, else None."""
    if not init_from:
        return None
    from sovtrain.core.errors import SovtrainError
    from sovtrain.governance.bases import find_model_card
    from sovtrain.governance.policy import cards_dir

    try:
        return find_model_card(cards_dir(), init_from)
    except SovtrainError as err:  # an unreadable location: say so, do not fail the export
        log.warning("model card: base %s: %s", init_from, str(err).splitlines()[0])
        return None


def _base_entry(base: Any) -> dict[str, Any]:
    card = base.card
    return {
        "card": card.ref,
        "content_digest": base.digest,
        "license": card.license,
        "license_name": card.license_name,
        "license_url": card.license_url,
        "source": card.source.summary(),
        "uri": card.weights.uri,
        "weights_sha256": {f.path: f.sha256 for f in card.weights.files},
    }


def _union(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _dataset_entry(card_id: str, loaded: Any) -> dict[str, Any]:
    if loaded is None:
        return {"id": card_id, "card": "card not found"}
    card = loaded.card
    return {
        "id": card.id,
        "ref": card.ref,
        "content_digest": loaded.digest,
        "home_region": card.residency.home_region,
        "storage_regions": list(card.residency.storage_regions),
        "derived_storage_regions": list(card.residency.derived_regions),
    }


def _eval_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every cell present (blank when a row lacks it); values are formatted by the template."""
    return [
        {
            "metric": f"{row.get('metric', '')}",
            "domain": f"{row.get('domain', '')}",
            "lang": f"{row.get('lang', '')}",
            "value": row.get("value"),
            "n": f"{row.get('n', '')}",
        }
        for row in rows
    ]


def _compute(compute: dict[str, Any] | None) -> dict[str, Any] | None:
    """Every figure the template may show (None: not recorded); None when there are none."""
    if not compute:
        return None
    keys = ("world_size", "tokens_per_s", "mfu", "mfu_causal", "gpu_hours", "wall_hours")
    return {"device": compute.get("device", "?"), **{k: compute.get(k) for k in keys}}


def _front_matter(
    recipe: Any,
    cards: dict[str, Any],
    base: Any,
    manifest: dict[str, Any],
    arch: str,
    sovtrain: dict[str, Any],
) -> str:
    """The Hugging Face card fields plus the `sovtrain:` block, as YAML."""
    front: dict[str, Any] = {
        "license": _license(cards, base),
        "language": _languages(manifest, cards),
        "library_name": "peft" if sovtrain["kind"] == "adapter" else "transformers",
        "pipeline_tag": "text-generation",
        "tags": _union(
            [
                "sovtrain",
                arch,
                *_union(s.domain for s in recipe.data.sources),
                *(["fine-tuned"] if recipe.finetune else []),
                *(["lora"] if sovtrain["kind"] in ("merged", "adapter") else []),
            ]
        ),
    }
    if recipe.model.init_from:
        front["base_model"] = base.card.source.repository if base else recipe.model.init_from
    front["datasets"] = [c.card.ref if c is not None else i for i, c in cards.items()]
    front["sovtrain"] = {**sovtrain, "base": _base_entry(base)} if base is not None else sovtrain
    return yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip()


def render_model_card(
    recipe: Any,
    *,
    params: int,
    step: int,
    tokens_seen: int,
    lineage: Sequence[str],
    manifest: dict[str, Any],
    manifest_digest: str,
    eval_table: list[dict[str, Any]] | None = None,
    compute: dict[str, Any] | None = None,
    energy: dict[str, float] | None = None,
    kind: str = "full",
    weights_from: str = "module",
    mlflow_run_id: str | None = None,
    transfer: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> str:
    """README.md text: YAML front matter, then summary, data, residency, uses, eval, compute.

    Gathers what `model_card.md.j2` shows (the cards of the lineage and of the base, the
    regions they leave for the weights, the architecture as trained, eval rows, compute) and
    renders it."""
    today = today or dt.date.today()
    cards = _load_cards(sorted(set(lineage)))
    base = _base_card(recipe.model.init_from)
    regions, regions_text = weights_regions(cards | ({base.card.id: base} if base else {}), today)
    found = [c for c in cards.values() if c is not None] + ([base] if base else [])
    config = _architecture(recipe, manifest)
    arch = config.get("model_type", recipe.model.arch)
    sovtrain = {
        "run": recipe.run.name,
        # where `sovtrain eval EXPORT` files its results and finds the run's tracking
        "output_uri": storage.canonical_uri(recipe.run.output_uri),
        "mlflow_run_id": mlflow_run_id,
        "step": step,
        "kind": kind,
        "weights_from": weights_from,
        "shards_manifest_digest": manifest_digest,
        "datasets": [_dataset_entry(i, c) for i, c in cards.items()],
        "weights_storage_regions": regions,
    }
    crossed = transfer_summary(transfer)  # the run's compliance.transfer.* facts
    if crossed is not None:
        sovtrain["transfers"] = [crossed]
    context = {
        "front_matter": _front_matter(recipe, cards, base, manifest, arch, sovtrain),
        "run_name": recipe.run.name,
        "kind": kind,
        "arch": arch,
        "params": params,
        "context": config.get("max_position_embeddings", recipe.train.seq_len),
        "seq_len": recipe.train.seq_len,
        "hidden_size": config.get("hidden_size", "?"),
        "layers": config.get("num_hidden_layers", "?"),
        "vocab_size": manifest.get("vocab_size"),
        "weights_from": weights_from,
        "init_from": recipe.model.init_from,
        "base": base,
        "manifest_digest": manifest_digest,
        "cards": cards,
        "regions_text": regions_text,
        "intended": _union(u for c in found for u in c.card.intended_uses),
        "prohibited": _union(u for c in found for u in c.card.prohibited_uses),
        "eval_rows": _eval_rows(eval_table or []),
        "eval_with_n": any("n" in row for row in eval_table or []),
        "step": step,
        "tokens_seen": tokens_seen,
        "compute": _compute(compute),
        "energy": energy,
        "transfer": crossed,
    }
    return _environment().get_template("model_card.md.j2").render(context)


def render_eval_section(rows: Sequence[dict[str, Any]]) -> str:
    """The card's Evaluation section alone (what `sovtrain eval EXPORT --tasks` rewrites)."""
    context = {"eval_rows": _eval_rows(list(rows)), "eval_with_n": any("n" in r for r in rows)}
    return _environment().get_template("model_card_eval.md.j2").render(context)


def update_eval_section(readme: str, rows: Sequence[dict[str, Any]]) -> str:
    """`readme` with its Evaluation section re-rendered: the rows it had, except those of the
    tasks in `rows` (metric `<task>/<name>`), then `rows`. A card without the section gets one
    at the end."""
    tasks = {row["metric"].split("/", 1)[0] for row in rows}
    match = _SECTION.search(readme)
    kept = [r for r in _table_rows(match.group(0) if match else "")
            if r.get("metric", "").split("/", 1)[0] not in tasks]  # fmt: skip
    section = render_eval_section([*kept, *rows]).rstrip("\n") + "\n\n"
    if match is None:
        return readme.rstrip("\n") + "\n\n" + section
    return readme[: match.start()] + section + readme[match.end() :]


def add_eval_rows(export_uri: str, rows: Sequence[dict[str, Any]],
                  lineage: tuple[str, ...] = ()) -> None:  # fmt: skip
    """Put `rows` into the Evaluation table of the model card in `export_uri` (atomic)."""
    uri = storage.join(export_uri, "README.md")
    text = storage.read_text(uri, purpose="export")
    storage.write_text_atomic(uri, update_eval_section(text, rows), purpose="export",
                              lineage=lineage)  # fmt: skip


def _table_rows(section: str) -> list[dict[str, Any]]:
    """The rows of a rendered Evaluation table, as strings (values are shown as written)."""
    lines = [line.strip().strip("|") for line in section.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.split("|")] for line in lines]
    if len(cells) < 2:
        return []
    keys = {"metric": "metric", "domain": "domain", "language": "lang", "value": "value",
            "n": "n"}  # fmt: skip
    header = cells[0]
    return [
        {keys[h]: c for h, c in zip(header, row, strict=False) if h in keys}
        for row in cells[1:]
        if not all(set(c) <= set("-: ") for c in row)  # the |---|---:| line
    ]


def _environment() -> Environment:
    """The report templates' conventions: Markdown, so no autoescape; a missing value is an
    error, not an empty string; block tags on their own lines leave no blank lines."""
    env = Environment(
        loader=PackageLoader("sovtrain.governance", "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = format  # {{ 1234 | fmt(",") }} -> 1,234
    return env


def _architecture(recipe: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    """The model's config as trained: the base's (with the recipe's overrides) when the run
    started from one, else the recipe's own `model.config`."""
    from sovtrain.model.build import build_config

    return build_config(recipe.model, manifest.get("vocab_size")).to_dict()


def training_energy(state: dict[str, Any]) -> dict[str, float] | None:
    """The run's GPU board energy (kWh) and the same times each window's site PUE, from the
    checkpoint's state (`train/energy.py`); None when the run measured none (a CPU run, a
    checkpoint older than energy metering): the card then shows no energy line, not 0."""
    joules = state.get("energy_j")
    if joules is None:
        return None
    site = state.get("energy_site_j")
    return {"kwh": joules / 3.6e6, "site_kwh": (joules if site is None else site) / 3.6e6}


def training_compute(recipe: Any, run_uri: str, state: dict[str, Any]) -> dict[str, Any] | None:
    """Throughput, MFU, world size and GPU-hours from the run's MLflow record, if reachable.

    Optional by design: an export must not fail because a tracking server is down or the
    run was untracked. The embedded store is only opened when its file exists (opening a
    missing sqlite path would create an empty database inside the run directory).
    """
    run_id = state.get("mlflow_run_id")
    if not run_id or not recipe.tracking.enabled:
        return None
    uri = recipe.tracking.uri
    if uri is None:
        local = storage.local_path(run_uri)
        if local is None or not (local / "mlflow.db").is_file():
            return None
        uri = f"sqlite:///{local / 'mlflow.db'}"
    from sovtrain.tracking.runs import read_run

    try:
        run = read_run(uri, run_id)
    except Exception as err:  # any tracking failure only drops this section
        log.warning("model card: MLflow run %s not readable at %s: %s", run_id, uri, err)
        return None
    metrics, params, tags = run.metrics, run.params, run.tags
    world = int(params.get("world_size", tags.get("world_size", 0)) or 0) or None
    device = tags.get("device", "")
    out: dict[str, Any] = {
        "world_size": world,
        "device": device or None,
        "mfu": metrics.get("mfu"),
        "mfu_causal": metrics.get("mfu_causal"),
        "tokens_per_s": metrics.get("tokens_per_s"),
    }
    if run.end_time and run.start_time:
        hours = (run.end_time - run.start_time) / 3_600_000
        out["wall_hours"] = hours
        if device and device != "cpu" and world:
            out["gpu_hours"] = hours * world
    return out
