"""Model cards: a base model (open weights from a hub, a vendor) is an input like data.

A model card lives next to the data cards (`data_cards/<id>.yaml`, `kind: model`), has the
same strict schema family, content digest and `review:` block, and records what a reviewer
signs off on for a base: where it came from, under which licence, the sha256 of every file
of the reviewed download (so admission can prove the weights it starts from are those), the
uses allowed and prohibited, and where its weights may be stored and processed.

A base is matched to its card by location: the card's `weights.uri`, canonicalised, equals
the canonical `model.init_from`. A copy of the base elsewhere is another input and needs its
own card. Named licences are SPDX `LicenseRef-<name>` ids, which must come with
`license_name` and `license_url`, as the SPDX spec asks for any non-listed licence.

Digests that are not known yet (an example card, a card drafted before the download) are
written `PLACEHOLDER`: the card validates, but it can be neither approved nor admitted.

This module is the schema (and the weights digest); reading card files is `cards.py`'s, and
finding the card that claims a base is `bases.py`'s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sovtrain import storage
from sovtrain.governance.card_schema import (
    Residency,
    Review,
    Strict,
    Transfer,
    bcp47_tags,
    spdx_licence,
)

PLACEHOLDER = "PLACEHOLDER"
# Model names carry versions with dots (qwen2.5-7b-base), which data card ids do not need.
_MODEL_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,63}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# Files a framework loads parameters from: an unlisted one could be loaded unreviewed.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".msgpack")


class ModelSource(Strict):
    host: str = Field(description="Where it was obtained, e.g. huggingface.co, a vendor portal.")
    repository: str = Field(description="Its name there, e.g. Qwen/Qwen2.5-7B.")
    revision: str | None = Field(None, description="Commit or tag the files were taken at.")
    acquired: dt.date
    acquired_by: str = Field(min_length=1)
    notes: str = ""

    def summary(self) -> str:
        at = f"@{self.revision}" if self.revision else ""
        return (
            f"{self.repository}{at} from {self.host}, acquired {self.acquired.isoformat()} "
            f"by {self.acquired_by}"
        )


class WeightFile(Strict):
    path: str = Field(description="Relative to weights.uri, e.g. model-00001-of-00004.safetensors")
    sha256: str = Field(description=f"64 lowercase hex digits, or {PLACEHOLDER} until known.")
    size: int | None = Field(None, ge=0, description="Bytes; checked before hashing (cheap).")

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        norm = posixpath.normpath(value)
        if value.startswith("/") or "\\" in value or norm != value or norm.startswith(".."):
            raise ValueError("must be a relative path inside weights.uri (no leading '/', no '..')")
        return value

    @field_validator("sha256")
    @classmethod
    def _digest(cls, value: str) -> str:
        if value != PLACEHOLDER and not _SHA256_RE.match(value):
            raise ValueError(f"expected 64 lowercase hex digits (or {PLACEHOLDER})")
        return value


class Weights(Strict):
    uri: str = Field(description="The base's directory, as model.init_from names it.")
    files: list[WeightFile] = Field(min_length=1)

    @field_validator("uri")
    @classmethod
    def _canonical(cls, value: str) -> str:
        storage.canonical_uri(value)  # refuses chained URLs and control characters
        return value

    @model_validator(mode="after")
    def _weights_listed_once(self) -> Weights:
        paths = [f.path for f in self.files]
        twice = sorted({p for p in paths if paths.count(p) > 1})
        if twice:
            raise ValueError(f"files listed twice: {', '.join(twice)}")
        if not any(p.endswith(WEIGHT_SUFFIXES) for p in paths):
            raise ValueError(f"no weight file listed (one of {', '.join(WEIGHT_SUFFIXES)})")
        return self


class ModelCard(Strict):
    kind: Literal["model"]
    id: str
    version: str
    title: str
    owner: str
    source: ModelSource
    license: str = Field(description="SPDX id or expression; named licences as LicenseRef-*.")
    license_name: str | None = None
    license_url: str | None = None
    architecture: str | None = Field(None, description="transformers model_type, e.g. qwen2")
    parameters: str | None = Field(None, description="e.g. 7.6B")
    languages: list[str] = Field(default_factory=list)
    weights: Weights
    residency: Residency
    transfers: list[Transfer] = Field(default_factory=list)
    intended_uses: list[str] = Field(min_length=1)
    prohibited_uses: list[str] = Field(default_factory=list)
    review: Review | None = None

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not _MODEL_ID_RE.match(value):
            raise ValueError("must be lowercase letters, digits, '.' and '-' (2-64 chars)")
        return value

    _bcp47 = field_validator("languages")(lambda cls, v: bcp47_tags(v))
    _spdx = field_validator("license")(lambda cls, v: spdx_licence(v))

    @model_validator(mode="after")
    def _named_licence_is_named(self) -> ModelCard:
        if "LicenseRef-" in self.license and not (self.license_name and self.license_url):
            raise ValueError(
                f"license {self.license}: a LicenseRef- licence needs license_name and "
                "license_url (the text the reviewer read)"
            )
        return self

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def placeholders(self) -> list[str]:
        """Files whose digest is still a placeholder: such a card is neither approvable
        nor admissible."""
        return [f.path for f in self.weights.files if f.sha256 == PLACEHOLDER]

    @property
    def licence_text(self) -> str:
        named = f" ({self.license_name}, {self.license_url})" if self.license_name else ""
        return self.license + named


def weights_digest(files: list[tuple[str, str]]) -> str:
    """One sha256 for a set of files: of their `sha256sum` lines, sorted by path, so a
    reviewer can recompute it: `sha256sum FILES | sort -k2 | sha256sum`."""
    lines = "".join(f"{digest}  {path}\n" for path, digest in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def card_weights_digest(card: ModelCard) -> str:
    return weights_digest([(f.path, f.sha256) for f in card.weights.files])
