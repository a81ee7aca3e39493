"""What a run was trained on, in the terms a reviewer checks: dataset@version + digests.

Recorded on the MLflow run as dataset inputs (one per data card, one for the packed shards)
and as `compliance.*` tags; the same records go into exported model cards.
"""

from __future__ import annotations

import json
from typing import Any

from sovtrain.governance.admission import Admission
from sovtrain.governance.cards import SENSITIVITY_ORDER

# MLflow stores dataset digests in 36 characters: the full sha256 rides in source and tags.
_MLFLOW_DIGEST_CHARS = 32


def dataset_inputs(
    admission: Admission, shards_uri: str, manifest_digest: str
) -> list[dict[str, Any]]:
    """One entry per card and one for the shard manifest: name, digest, source, tags."""
    cards = sorted(admission.cards.values(), key=lambda c: c.card.id)
    inputs = []
    for loaded in cards:
        card = loaded.card
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
    return inputs


def compliance_tags(admission: Admission) -> dict[str, str]:
    loaded = sorted(admission.cards.values(), key=lambda c: c.card.id)
    cards = [c.card for c in loaded]
    strictest = max((SENSITIVITY_ORDER.index(c.sensitivity) for c in cards), default=0)
    return {
        "compliance.datasets": ",".join(sorted(c.ref for c in cards)),
        "compliance.card_digests": ",".join(f"{c.card.ref}={c.digest}" for c in loaded),
        "compliance.sensitivity": SENSITIVITY_ORDER[strictest],
        "compliance.cluster": admission.site.cluster.name,
        "compliance.compute_region": admission.site.compute_region,
        "compliance.output_regions": ",".join(admission.output_regions),
        "compliance.policy": str(admission.site.policy_path),
    }
