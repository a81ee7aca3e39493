"""What data cards and model cards share: the strict schema pieces, the review block and
the content digest it pins, and how a card file is read.

Both kinds live in one directory (`data_cards/`) and go through the same review and residency
rules, so these pieces are one definition, below both schemas (`cards.py` for data cards and
the loaders, `model_cards.py` for model cards): neither card module imports the other for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sovtrain.core.errors import SovtrainError

_REGION_RE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
# BCP-47 subset we use: language, optional script, optional region (en, zh-Hant-HK, zh-Hans-CN)
_BCP47_RE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-(?:[A-Z]{2}|\d{3}))?$")
# An SPDX identifier or expression of identifiers (MIT, Apache-2.0 OR MIT, LicenseRef-...)
_SPDX_RE = re.compile(
    r"^(?:LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9.+-]+)"
    r"(?: (?:AND|OR|WITH) (?:LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9.+-]+))*$"
)
REVIEW_BLOCK_RE = re.compile(r"^review:.*?(?=^\S|\Z)", re.MULTILINE | re.DOTALL)
# A model card says so on a top-level line of its own; data cards have no `kind`.
_MODEL_KIND_RE = re.compile(r"""^kind:[ \t]*["']?model["']?[ \t]*(?:#.*)?$""", re.MULTILINE)


class CardError(SovtrainError):
    """A card is missing, malformed or fails validation; the message names file and field."""


def bcp47_tags(values: list[str]) -> list[str]:
    for value in values:
        if not _BCP47_RE.match(value):
            raise ValueError(f"{value!r} is not a BCP-47 tag like en, zh-Hant-HK, zh-Hans-CN")
    return values


def spdx_licence(value: str) -> str:
    if not _SPDX_RE.match(value):
        raise ValueError("expected an SPDX identifier or expression (or LicenseRef-...)")
    return value


class Strict(BaseModel):
    """Unknown keys rejected: a misspelt field must not silently widen what is allowed."""

    model_config = ConfigDict(extra="forbid")


def region_ids(values: list[str]) -> list[str]:
    for value in values:
        if not _REGION_RE.match(value):
            raise ValueError(f"{value!r} is not a region id (lowercase, e.g. hk, cn-gba)")
    return values


class Residency(Strict):
    home_region: str
    storage_regions: list[str] = Field(min_length=1)
    processing_regions: list[str] = Field(min_length=1)
    derived_storage_regions: list[str] | None = Field(
        None,
        description="Where artifacts derived from it (shards, checkpoints, models) may be "
        "stored; default: storage_regions.",
    )

    _check = field_validator("storage_regions", "processing_regions", "derived_storage_regions")(
        lambda cls, v: v if v is None else region_ids(v)
    )

    @model_validator(mode="after")
    def _home_is_allowed(self) -> Residency:
        if self.home_region not in self.storage_regions:
            raise ValueError(f"home_region {self.home_region!r} must be in storage_regions")
        return self

    @property
    def derived_regions(self) -> list[str]:
        if self.derived_storage_regions is None:
            return self.storage_regions
        return self.derived_storage_regions


TransferMechanism = Literal[
    "gba-standard-contract",  # Greater Bay Area cross-boundary personal information contract
    "pipl-standard-contract",
    "pipl-security-assessment",
    "pipl-certification",
    "pdpo-contractual-safeguards",
    "consent",
    "not-personal-data",
]


# storage: the data itself may be stored at the destination; processing: computed on there;
# derived-storage: what is made from it (shards, checkpoints, models) may be stored there
TransferPurpose = Literal["storage", "processing", "derived-storage"]


def _processing_only() -> list[TransferPurpose]:
    return ["processing"]


class Transfer(Strict):
    destination: str
    mechanism: TransferMechanism
    filing_reference: str | None = None
    deidentification_required: bool = True
    onward_transfer: Literal["prohibited", "same-mechanism", "allowed"] = "prohibited"
    purposes: list[TransferPurpose] = Field(default_factory=_processing_only)
    expires: dt.date

    _check = field_validator("destination")(lambda cls, v: region_ids([v])[0])


class Review(Strict):
    status: Literal["approved", "pending", "rejected"]
    reviewer: str = Field(min_length=1)
    decided: dt.date
    expires: dt.date | None = None
    approved_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    notes: str = ""


def content_digest(text: str) -> str:
    return hashlib.sha256(REVIEW_BLOCK_RE.sub("", text).encode()).hexdigest()


def read_card(path: Path, what: str = "card") -> str:
    if not path.is_file():
        raise CardError(f"{path}: {what} not found")
    try:
        return path.read_text(encoding="utf-8")  # read once: the digest covers these bytes
    except (OSError, UnicodeDecodeError) as err:
        raise CardError(f"{path}: cannot read the {what}: {err}") from None


def is_model_card_text(text: str) -> bool:
    return _MODEL_KIND_RE.search(text) is not None


def check_file_name(path: Path, card_id: str) -> None:
    if path.stem != card_id:
        raise CardError(f"{path}: id: must match the file name ({path.stem!r}, got {card_id!r})")
