"""The residency policy: which region every storage location and compute site is in.

`data_cards/residency.yaml` names the regions and maps storage prefixes (file-system roots,
buckets) to them; compute sites are the cluster profiles (`slurm/clusters/*.yaml`), each in one
region, whose own file systems count as storage in that region (`sites.py` joins the two).
Anything not mapped is in no region, and a location in no region is refused for every
dataset: default deny.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from sovtrain.core.errors import SovtrainError
from sovtrain.core.yamlio import read_mapping
from sovtrain.recipe.load import format_validation_error


class PolicyError(SovtrainError):
    """The policy file or a cluster profile is missing or malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Region(_Strict):
    name: str
    jurisdiction: str = ""


class StorageMapping(_Strict):
    prefix: str = Field(description="A file-system root or bucket URI, e.g. s3://sovtrain-hk")
    region: str
    endpoint_url: str | None = Field(None, description="S3 endpoint serving this bucket.")
    description: str = ""


class Policy(_Strict):
    regions: dict[str, Region]
    storage: list[StorageMapping] = Field(default_factory=list)

    @field_validator("storage")
    @classmethod
    def _known_regions(
        cls, mappings: list[StorageMapping], info: ValidationInfo
    ) -> list[StorageMapping]:
        regions = info.data.get("regions", {})
        for m in mappings:
            if m.region not in regions:
                raise ValueError(f"{m.prefix}: unknown region {m.region!r}")
        return mappings


def load_policy(path: Path) -> Policy:
    try:
        return Policy.model_validate(read_mapping(path, "residency policy", PolicyError))
    except ValidationError as err:
        raise PolicyError(format_validation_error(err, path, "residency policy")) from None


def cards_dir() -> Path:
    """Where cards and the policy live: SOVTRAIN_CARDS_DIR, default ./data_cards."""
    return Path(os.environ.get("SOVTRAIN_CARDS_DIR", "data_cards"))
