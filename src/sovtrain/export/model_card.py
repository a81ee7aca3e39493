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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from sovtrain import storage

log = logging.getLogger(__name__)
_LANG_LABELS = ("en", "zh-Hant", "zh-Hans")
_NOT_LANGUAGES = {"mixed", "other"}


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
    from sovtrain.governance.model_cards import find_model_card
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


def _base_lines(init_from: str, base: Any) -> list[str]:
    if base is None:
        return ["## Base model", "", f"`{init_from}` (no model card claims it)", ""]
    card = base.card
    lines = [
        "## Base model",
        "",
        f"- model card `{card.ref}` ({card.title}): content digest `{base.digest}`",
        f"- licence: {card.licence_text}",
        f"- source: {card.source.summary()}",
        f"- location: `{card.weights.uri}`",
        "- weight files (sha256, verified at admission):",
    ]
    lines += [f"  - `{f.path}`: `{f.sha256}`" for f in card.weights.files]
    return [*lines, ""]


def _union(values: Iterator[str]) -> list[str]:
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


def _eval_rows(rows: list[dict[str, Any]]) -> list[str]:
    with_n = any("n" in row for row in rows)
    head = "| metric | domain | language | value |" + (" n |" if with_n else "")
    out = [head, "|---|---|---|---:|" + ("---:|" if with_n else "")]
    for row in rows:
        value = row.get("value")
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        line = f"| {row.get('metric', '')} | {row.get('domain', '')} | {row.get('lang', '')} | "
        out.append(line + shown + " |" + (f" {row.get('n', '')} |" if with_n else ""))
    return out


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
    kind: str = "full",
    weights_from: str = "module",
    today: dt.date | None = None,
) -> str:
    """README.md text: YAML front matter, then summary, data, residency, uses, eval, compute."""
    today = today or dt.date.today()
    cards = _load_cards(sorted(set(lineage)))
    base = _base_card(recipe.model.init_from)
    regions, regions_text = weights_regions(cards | ({base.card.id: base} if base else {}), today)
    found = [c for c in cards.values() if c is not None] + ([base] if base else [])
    config = _architecture(recipe, manifest)
    arch = config.get("model_type", recipe.model.arch)
    context = config.get("max_position_embeddings", recipe.train.seq_len)
    domains = _union(s.domain for s in recipe.data.sources)
    front: dict[str, Any] = {
        "license": _license(cards, base),
        "language": _languages(manifest, cards),
        "library_name": "peft" if kind == "adapter" else "transformers",
        "pipeline_tag": "text-generation",
        "tags": _union(
            [
                "sovtrain",
                arch,
                *domains,
                *(["fine-tuned"] if recipe.finetune else []),
                *(["lora"] if kind in ("merged", "adapter") else []),
            ]
        ),
    }
    if recipe.model.init_from:
        front["base_model"] = base.card.source.repository if base else recipe.model.init_from
    front["datasets"] = [c.card.ref if c is not None else i for i, c in cards.items()]
    front["sovtrain"] = {
        "run": recipe.run.name,
        "step": step,
        "kind": kind,
        "weights_from": weights_from,
        "shards_manifest_digest": manifest_digest,
        "datasets": [_dataset_entry(i, c) for i, c in cards.items()],
        "weights_storage_regions": regions,
    }
    if base is not None:
        front["sovtrain"]["base"] = _base_entry(base)
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    what = {
        "full": "a causal language model",
        "merged": "a fine-tuned causal language model (LoRA adapters merged into the base weights)",
        "adapter": "LoRA adapter weights (peft) for the base model below",
    }[kind]
    lines += [f"# {recipe.run.name}", "", f"{what.capitalize()} trained with sovtrain.", ""]
    lines += [
        "## Model summary",
        "",
        f"- architecture: `{arch}`",
        f"- parameters: {params:,}" + (" (adapters only)" if kind == "adapter" else ""),
        f"- context length: {context} tokens (trained at {recipe.train.seq_len})",
        f"- hidden size {config.get('hidden_size', '?')}, layers "
        f"{config.get('num_hidden_layers', '?')}, vocabulary {manifest.get('vocab_size')}",
        f"- weights: fp32, from the checkpoint's {weights_from.replace('-', ' ')} weights",
    ]
    if recipe.model.init_from:
        lines.append(f"- base model: `{recipe.model.init_from}`")
    lines.append("")
    lines += _base_lines(recipe.model.init_from, base) if recipe.model.init_from else []
    lines += ["## Training data", "", f"Shard manifest digest: `{manifest_digest}`", ""]
    for card_id, loaded in cards.items():
        if loaded is None:
            lines.append(f"- `{card_id}`: card not found")
            continue
        card, res = loaded.card, loaded.card.residency
        lines.append(
            f"- `{card.ref}` ({card.title}): content digest `{loaded.digest}`; "
            f"home region {res.home_region}, storage regions "
            f"{', '.join(res.storage_regions)}; sensitivity {card.sensitivity}"
        )
    lines += [
        "",
        "## Residency of the weights",
        "",
        "The weights are derived from every dataset above"
        + (" and from the base model" if base else "")
        + f", so they may be stored only where all of them allow derived artifacts: "
        f"**{regions_text}**.",
        "",
    ]
    intended = _union(u for c in found for u in c.card.intended_uses)
    prohibited = _union(u for c in found for u in c.card.prohibited_uses)
    lines += ["## Intended use", ""] + [f"- {u}" for u in intended or ["(not stated)"]]
    lines += ["", "## Prohibited uses", ""] + [f"- {u}" for u in prohibited or ["(none stated)"]]
    lines += ["", "## Evaluation", ""]
    lines += _eval_rows(eval_table) if eval_table else ["No evaluation results were supplied."]
    lines += [
        "",
        "## Training compute",
        "",
        f"- optimizer steps: {step:,}",
        f"- tokens seen: {tokens_seen:,}",
    ]
    lines += _compute_lines(compute)
    return "\n".join(lines) + "\n"


def _compute_lines(compute: dict[str, Any] | None) -> list[str]:
    if not compute:
        return ["- throughput and hardware: not available (MLflow run not reachable)"]
    out = []
    if compute.get("world_size") is not None:
        out.append(f"- processes: {compute['world_size']} ({compute.get('device', '?')})")
    if compute.get("tokens_per_s") is not None:
        out.append(f"- throughput (last logged): {compute['tokens_per_s']:,.0f} tokens/s")
    if compute.get("mfu") is not None:
        out.append(f"- MFU (last logged): {100 * compute['mfu']:.1f}%")
    if compute.get("gpu_hours") is not None:
        out.append(f"- GPU-hours: {compute['gpu_hours']:.2f} (wall time x processes)")
    elif compute.get("wall_hours") is not None:
        out.append(f"- hardware: CPU; wall time {compute['wall_hours'] * 60:.1f} min")
    return out


def _architecture(recipe: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    """The model's config as trained: the base's (with the recipe's overrides) when the run
    started from one, else the recipe's own `model.config`."""
    from sovtrain.model.build import build_config

    return build_config(recipe.model, manifest.get("vocab_size")).to_dict()


@contextlib.contextmanager
def _quick_mlflow() -> Iterator[None]:
    """A down tracking server must cost seconds, not MLflow's minutes of retries."""
    saved = {
        k: os.environ.get(k)
        for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")
    }
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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
    try:
        from mlflow.tracking import MlflowClient

        with _quick_mlflow():
            run = MlflowClient(uri).get_run(run_id)
    except Exception as err:  # any tracking failure only drops this section
        log.warning("model card: MLflow run %s not readable at %s: %s", run_id, uri, err)
        return None
    metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
    world = int(params.get("world_size", tags.get("world_size", 0)) or 0) or None
    device = tags.get("device", "")
    out: dict[str, Any] = {
        "world_size": world,
        "device": device or None,
        "mfu": metrics.get("mfu"),
        "tokens_per_s": metrics.get("tokens_per_s"),
    }
    if run.info.end_time and run.info.start_time:
        hours = (run.info.end_time - run.info.start_time) / 3_600_000
        out["wall_hours"] = hours
        if device and device != "cpu" and world:
            out["gpu_hours"] = hours * world
    return out
