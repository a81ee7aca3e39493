"""What a run was trained on, in the terms a reviewer checks: dataset@version + digests.

Recorded on the MLflow run as dataset inputs (one per data card, one for the packed shards,
one for a base model with a model card) and as `compliance.*` and `base.*` tags; the same
records go into exported model cards.
"""

from __future__ import annotations

import json
from typing import Any

from sovtrain.governance.admission import Admission
from sovtrain.governance.cards import SENSITIVITY_ORDER, DataCard, LoadedCard

# MLflow stores dataset digests in 36 characters: the full sha256 rides in source and tags.
_MLFLOW_DIGEST_CHARS = 32


def _data_cards(admission: Admission) -> list[LoadedCard]:
    """The job's data cards (a base's model card sits in `admission.cards` too)."""
    cards = [c for c in admission.cards.values() if isinstance(c.card, DataCard)]
    return sorted(cards, key=lambda c: c.card.id)


def dataset_inputs(
    admission: Admission, shards_uri: str, manifest_digest: str
) -> list[dict[str, Any]]:
    """One entry per data card, one for the shard manifest, one for a carded base."""
    cards = _data_cards(admission)
    inputs = []
    for loaded in cards:
        card = loaded.card
        assert isinstance(card, DataCard)
        source = {"card": str(loaded.path), "card_digest": loaded.digest,
                  "storage": [s.uri for s in card.storage]}  # fmt: skip
        inputs.append({
            "name": card.ref,
            "digest": loaded.digest[:_MLFLOW_DIGEST_CHARS],
            "source_type": "sovtrain-data-card",
            "source": json.dumps(source, sort_keys=True),
            "tags": {"card_digest": loaded.digest, "sensitivity": card.sensitivity,
                     "home_region": card.residency.home_region, "context": "training"},
        })  # fmt: skip
    refs = ",".join(c.card.ref for c in cards)
    inputs.append({
        "name": "packed-shards",
        "digest": manifest_digest[:_MLFLOW_DIGEST_CHARS],
        "source_type": "sovtrain-shards",
        "source": json.dumps({"uri": shards_uri, "manifest_digest": manifest_digest,
                              "derived_from": refs}, sort_keys=True),
        "tags": {"manifest_digest": manifest_digest, "derived_from": refs, "context": "training"},
    })  # fmt: skip
    base = _base_input(admission)
    return inputs + ([base] if base else [])


def _base_input(admission: Admission) -> dict[str, Any] | None:
    """The base as an MLflow dataset input: the per-file digests ride in `source`, which has
    room for a 72B base's 37 shards (a tag value does not)."""
    base = admission.base
    card = base.card if base is not None else None
    if base is None or card is None or base.loaded is None or not base.weights_sha256:
        return None
    source = {"card": str(base.loaded.path), "card_digest": base.loaded.digest, "uri": base.uri,
              "files": {f.path: f.sha256 for f in base.files}}  # fmt: skip
    return {
        "name": card.ref,
        "digest": base.weights_sha256[:_MLFLOW_DIGEST_CHARS],
        "source_type": "sovtrain-model-card",
        "source": json.dumps(source, sort_keys=True),
        "tags": {"card_digest": base.loaded.digest, "weights_sha256": base.weights_sha256,
                 "license": card.license, "context": "base-model"},
    }  # fmt: skip


def base_model_tags(admission: Admission) -> dict[str, str]:
    """`base.*` tags for the MLflow run (and registered versions): which base, under which
    licence, from where, with which verified weights. Empty without model.init_from.

    `base.weights_sha256` is one digest over the verified files (recompute it with
    `sha256sum FILES | sort -k2 | sha256sum`); the per-file digests are in the base's dataset
    input. A sovtrain run/checkpoint base without a model card gets uri, kind and lineage.
    """
    base = admission.base
    if base is None:
        return {}
    tags = {"base.uri": base.uri, "base.kind": base.kind}
    if base.lineage:
        tags["base.lineage"] = ",".join(base.lineage)
    card = base.card
    if card is None or base.loaded is None:
        return tags
    tags.update({
        "base.card": card.ref,
        "base.card_digest": base.loaded.digest,
        "base.licence": card.licence_text,
        "base.source": card.source.summary(),
        "base.weights_files": str(len(base.files)),
    })  # fmt: skip
    if base.weights_sha256:
        tags["base.weights_sha256"] = base.weights_sha256
    return tags


def compliance_tags(admission: Admission) -> dict[str, str]:
    """`compliance.*` tags plus `base_model_tags`, so callers that log these (the training
    session, `export --register`) record the base with no change."""
    loaded = _data_cards(admission)
    cards = [c.card for c in loaded if isinstance(c.card, DataCard)]
    strictest = max((SENSITIVITY_ORDER.index(c.sensitivity) for c in cards), default=0)
    return {
        "compliance.datasets": ",".join(sorted(c.ref for c in cards)),
        "compliance.card_digests": ",".join(f"{c.card.ref}={c.digest}" for c in loaded),
        "compliance.sensitivity": SENSITIVITY_ORDER[strictest],
        "compliance.cluster": admission.site.cluster.name,
        "compliance.compute_region": admission.site.compute_region,
        "compliance.output_regions": ",".join(admission.output_regions),
        "compliance.policy": str(admission.site.policy_path),
        **transfer_tags(admission.transfer),
        **base_model_tags(admission),
    }


def transfer_tags(record: dict[str, Any] | None) -> dict[str, str]:
    """`compliance.transfer.*`: the governed transfer the training shards crossed under
    (`data transfer`'s record): which, from where to where, under which mechanism and
    filing until when, and the hash of its record in the source side's audit chain."""
    if record is None:
        return {}
    entries = [c["transfer"] for c in record.get("cards", [])]

    def join(key: str) -> str:  # one value per card (mostly one card)
        return ",".join(sorted({str(entry.get(key) or "") for entry in entries}))

    return {
        "compliance.transfer.id": str(record.get("transfer_id", "")),
        "compliance.transfer.from_region": str(record.get("source_region", "")),
        "compliance.transfer.to_region": str(record.get("destination_region", "")),
        "compliance.transfer.mechanism": join("mechanism"),
        "compliance.transfer.filing_reference": join("filing_reference"),
        "compliance.transfer.expires": join("expires"),
        "compliance.transfer.manifest_digest": str(record.get("manifest_digest", "")),
        "compliance.transfer.audit_hash": str(
            record.get("audit", {}).get("source", {}).get("record_hash", "")
        ),
    }
