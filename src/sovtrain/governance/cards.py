"""Data cards: what a dataset is, where it may live and run, and whether a reviewer approved it.

A card is a YAML file in `data_cards/` validated against `DataCard` (unknown keys rejected,
so a misspelt `residency` field cannot silently widen what is allowed). Approval is recorded
in the card's own `review:` block together with the *content digest* the reviewer saw: sha256
of the file's bytes with the `review:` block cut out. Any later edit outside that block (a
region added, a comment changed) changes the digest and blocks use until re-approved.

Model cards (`kind: model`, see `model_cards.py`) share the directory, the digest and the
review block (`card_schema.py`); `card_files` lists data cards only, `all_card_files` both
kinds, and `load_any_card` reads either.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from sovtrain.core.yamlio import parse_mapping
from sovtrain.governance.card_schema import (
    REVIEW_BLOCK_RE,
    CardError,
    Residency,
    Review,
    Strict,
    Transfer,
    bcp47_tags,
    check_file_name,
    content_digest,
    is_model_card_text,
    read_card,
    spdx_licence,
)
from sovtrain.governance.model_cards import ModelCard
from sovtrain.recipe.load import format_validation_error
from sovtrain.recipe.sources import Domain

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
Sensitivity = Literal["public", "internal", "confidential", "restricted"]
SENSITIVITY_ORDER: tuple[Sensitivity, ...] = ("public", "internal", "confidential", "restricted")


class Provenance(Strict):
    sources: list[str] = Field(min_length=1)
    acquired: str = Field(description="Date (YYYY-MM-DD) or how it was obtained.")
    derived_from: list[str] = Field(default_factory=list, description="card-id@version")


class Collection(Strict):
    method: str
    content: str = ""
    time_frame: str


class Pii(Strict):
    present: Literal["yes", "no", "unknown"]
    types: list[str] = Field(default_factory=list)
    treatment: str
    detector: str | None = None
    detector_version: str | None = None

    @model_validator(mode="after")
    def _yes_needs_detail(self) -> Pii:
        if self.present == "yes" and not (self.types and self.detector):
            raise ValueError("present: yes needs the PII types and the detector used")
        return self


class Jurisdiction(Strict):
    origin: str
    data_subjects: str


class Retention(Strict):
    period: str
    delete_by: dt.date | None = None


class StorageLocation(Strict):
    uri: str
    digest: str | None = Field(None, description="sha256:<hex> of the stored content")

    @field_validator("digest")
    @classmethod
    def _digest_form(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
            raise ValueError("expected sha256:<64 hex digits>")
        return value


class DataCard(Strict):
    id: str
    version: str
    title: str
    owner: str
    languages: list[str] = Field(min_length=1)
    domain: Domain  # any lowercase name: healthcare, insurance, ports ...
    license: str
    provenance: Provenance
    collection: Collection
    sensitivity: Sensitivity
    pii: Pii
    legal_basis: str
    jurisdiction: Jurisdiction
    residency: Residency
    transfers: list[Transfer] = Field(default_factory=list)
    retention: Retention
    intended_uses: list[str] = Field(min_length=1)
    prohibited_uses: list[str] = Field(default_factory=list)
    storage: list[StorageLocation] = Field(default_factory=list)
    review: Review | None = None

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError("must be lowercase letters, digits and '-' (2-64 chars)")
        return value

    _bcp47 = field_validator("languages")(lambda cls, v: bcp47_tags(v))
    _spdx = field_validator("license")(lambda cls, v: spdx_licence(v))

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


Card = DataCard | ModelCard  # both kinds share residency, transfers, review and ref


@dataclass(frozen=True)
class LoadedCard:
    card: Card
    path: Path
    digest: str  # content digest: the file's bytes without its review block

    def review_problem(self, today: dt.date) -> str | None:
        """Why this card may not be used today, or None when it may."""
        review = self.card.review
        if review is None:
            return "not reviewed (run `sovtrain cards approve`)"
        if review.status != "approved":
            return f"review status is {review.status}"
        if review.approved_digest != self.digest:
            return (
                f"changed since approval (content digest {self.digest[:12]}, "
                f"approved {review.approved_digest[:12]}): needs re-approval"
            )
        if review.expires is not None and review.expires < today:
            return f"approval expired on {review.expires.isoformat()}"
        return None


@dataclass
class CardCheck:
    """One file's validation result, for reports that list every problem, not the first."""

    path: Path
    loaded: LoadedCard | None
    problems: list[str] = field(default_factory=list)


def load_card(path: Path) -> LoadedCard:
    """Parse and validate one *data* card file; CardError names the file and the field.

    A model card is refused here: a data source naming a base's card would otherwise be
    checked against the wrong schema, with a confusing list of unknown fields.
    """
    text = read_card(path, "data card")
    if is_model_card_text(text):
        raise CardError(f"{path}: is a model card (kind: model), not a data card")
    return parse_data_card(text, path)


def parse_data_card(text: str, path: Path) -> LoadedCard:
    card = _validated(text, path, DataCard, "data card")
    return LoadedCard(card=card, path=path, digest=content_digest(text))


def parse_model_card(text: str, path: Path) -> LoadedCard:
    card = _validated(text, path, ModelCard, "model card")
    return LoadedCard(card=card, path=path, digest=content_digest(text))


CardT = TypeVar("CardT", DataCard, ModelCard)


def _validated(text: str, path: Path, schema: type[CardT], what: str) -> CardT:
    """The card in `text` (the bytes of `path`), or a CardError naming file and field."""
    raw = parse_mapping(text, path, what, CardError)
    try:
        card = schema.model_validate(raw)
    except ValidationError as err:
        raise CardError(format_validation_error(err, path, what)) from None
    check_file_name(path, card.id)
    return card


def load_any_card(path: Path) -> LoadedCard:
    """A data card or a model card, by the file's `kind:` line."""
    text = read_card(path)
    if not is_model_card_text(text):
        return parse_data_card(text, path)
    return parse_model_card(text, path)


def all_card_files(root: Path) -> list[Path]:
    """Card files of both kinds under `root` (the policy file and hidden files are not cards)."""
    return sorted(
        p for p in root.glob("*.yaml") if p.name != "residency.yaml" and not p.name.startswith(".")
    )


def _is_model_card_file(path: Path) -> bool:
    try:
        return is_model_card_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False  # unreadable: listed as a data card, whose loader names the problem


def card_files(root: Path) -> list[Path]:
    """Data card files under `root` (model cards are listed by `model_card_files`)."""
    return [p for p in all_card_files(root) if not _is_model_card_file(p)]


def model_card_files(root: Path) -> list[Path]:
    return [p for p in all_card_files(root) if _is_model_card_file(p)]


def check_cards(paths: list[Path]) -> list[CardCheck]:
    """Validate every file, collecting problems (duplicate ids included) instead of stopping."""
    checks: list[CardCheck] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            loaded = load_any_card(path)
        except CardError as err:
            checks.append(CardCheck(path, None, [ln.strip() for ln in str(err).splitlines()]))
            continue
        check = CardCheck(path, loaded)
        if loaded.card.id in seen:
            check.problems.append(f"{path}: id {loaded.card.id!r} also in {seen[loaded.card.id]}")
        seen[loaded.card.id] = path
        checks.append(check)
    return checks


def load_cards(root: Path) -> dict[str, LoadedCard]:
    """Every card under `root` by id; the first invalid card raises."""
    cards: dict[str, LoadedCard] = {}
    for path in card_files(root):
        loaded = load_card(path)
        if loaded.card.id in cards:
            raise CardError(f"{path}: id {loaded.card.id!r} also in {cards[loaded.card.id].path}")
        cards[loaded.card.id] = loaded
    return cards


def approve(
    path: Path, reviewer: str, today: dt.date, valid_days: int = 365, notes: str = ""
) -> LoadedCard:
    """Record an approval of the card's current content in its `review:` block.

    The card must validate first: approving a card that cannot be read would approve
    nothing a tool can check. For the same reason a model card whose weight digests are
    still placeholders is refused: its approval would pin no weights.
    """
    placeholders = getattr(load_any_card(path).card, "placeholders", [])
    if placeholders:
        raise CardError(
            f"{path}: weights.files: {len(placeholders)} sha256 placeholder(s) (first "
            f"{placeholders[0]}): fill them with `sovtrain cards model-digests DIR` first"
        )
    text = path.read_text(encoding="utf-8")
    body = REVIEW_BLOCK_RE.sub("", text).rstrip("\n") + "\n"
    review = Review(
        status="approved",
        reviewer=reviewer,
        decided=today,
        expires=today + dt.timedelta(days=valid_days),
        approved_digest=content_digest(body),  # the bytes written, not the bytes read
        notes=notes,
    )
    block = yaml.safe_dump(
        {"review": review.model_dump(mode="json", exclude_defaults=False)},
        sort_keys=False,
        allow_unicode=True,
    )
    path.write_text(body + block, encoding="utf-8")
    approved = load_any_card(path)
    if approved.digest != review.approved_digest:  # a bug, not a user error: say so loudly
        raise RuntimeError(f"{path}: approval digest mismatch after writing the review block")
    return approved
