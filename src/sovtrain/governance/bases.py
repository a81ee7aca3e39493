"""Governed bases: the model card of `model.init_from`, and proof its weights are the reviewed ones.

A Hugging Face base (a directory with config.json) is admitted only with a valid model card
whose `weights.uri` is that directory; the card then goes through the same review and
residency rules as a data card (admission.py), and here every file the card lists is checked
against the directory: present, same size, same sha256, and no weight file the card does
not list. A sovtrain run or checkpoint base keeps its data lineage and needs no model card;
when a card does claim it, the card is checked all the same.

Rules, as named in refusals and the audit log (with those of residency.py):
    model-card-known   an HF base no model card claims, or that several cards claim
    base-weights       a listed file is missing, differs in size or sha256, is an unlisted
                       weight file, or the card's digests are still placeholders
    storage-region     (purpose base-weights) the base is stored where its card does not allow
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sovtrain import storage
from sovtrain.governance.base_weights import FileDigest, digest_files, on_rank0
from sovtrain.governance.cards import LoadedCard, check_cards, model_card_files
from sovtrain.governance.model_cards import WEIGHT_SUFFIXES, ModelCard, weights_digest
from sovtrain.governance.residency import Decision
from sovtrain.governance.sites import Site

PURPOSE = "base-weights"


@dataclass(frozen=True)
class BaseCheck:
    """What admission established about the base; `files` only once all of them verified."""

    uri: str  # canonical model.init_from
    kind: str  # hf | run | checkpoint
    lineage: tuple[str, ...]  # data cards a sovtrain base was trained on
    loaded: LoadedCard | None = None  # its model card
    files: tuple[FileDigest, ...] = ()

    @property
    def card(self) -> ModelCard | None:
        card = self.loaded.card if self.loaded is not None else None
        return card if isinstance(card, ModelCard) else None

    @property
    def weights_sha256(self) -> str | None:
        """One digest over the verified files (see model_cards.weights_digest)."""
        if not self.files:
            return None
        return weights_digest([(f.path, f.sha256 or "") for f in self.files])


def find_card(site: Site, base: Any, root: Path) -> tuple[BaseCheck, list[Decision]]:
    """The base's model card, or the refusal saying why an HF base has none."""
    check = BaseCheck(uri=base.uri, kind=base.kind, lineage=tuple(base.lineage))
    found, broken = claims(root, base.uri)
    if len(found) == 1:
        return dataclasses.replace(check, loaded=found[0]), []
    if not found and base.kind != "hf":
        return check, []  # a sovtrain run or checkpoint: its data lineage governs it
    if found:
        names = ", ".join(str(c.path) for c in found)
        reason = f"model.init_from {base.uri}: claimed by several model cards ({names}): keep one"
    else:
        reason = (
            f"model.init_from {base.uri}: no model card in {root} has weights.uri {base.uri}; "
            "a Hugging Face base needs an approved model card (`sovtrain cards "
            f"model-digests {base.uri}` prints its weights block)"
        )
        if broken:
            reason += f"; {len(broken)} model card(s) fail validation, first: {broken[0]}"
    decision = Decision(
        "model.init_from", "", base.uri, site.storage_region(base.uri), site.compute_region,
        "use", "base-model", "model-card-known", False, reason,
    )  # fmt: skip
    return check, [decision]


def claims(root: Path, uri: str) -> tuple[list[LoadedCard], list[str]]:
    """(valid model cards whose weights.uri is `uri`, first problem of each invalid card).

    Invalid cards are reported, not raised: one broken card must not block every base,
    but a reviewer must learn why "their" card did not match.
    """
    target = storage.canonical_uri(uri)
    found, broken = [], []
    for check in check_cards(model_card_files(root)):
        if check.loaded is None or check.problems:
            broken.append(check.problems[0] if check.problems else f"{check.path}: invalid")
            continue
        card = check.loaded.card
        if isinstance(card, ModelCard) and storage.canonical_uri(card.weights.uri) == target:
            found.append(check.loaded)
    return found, broken


def find_model_card(root: Path, uri: str) -> LoadedCard | None:
    """The one valid model card for `uri` (None when none or several): for documents such
    as the exported model card, which describe the base but do not admit it."""
    found, _ = claims(root, uri)
    return found[0] if len(found) == 1 else None


def verify_weights(
    site: Site, check: BaseCheck, hash_files: bool
) -> tuple[list[Decision], tuple[FileDigest, ...]]:
    """Decisions on the card's files and, when all verified, their digests.

    Hashing happens on rank 0 only and only when `hash_files` (admission passes False once
    another rule refused: a refused job costs no 145 GB read); the cheap checks
    (placeholders, unlisted weight files) always run.
    """
    loaded, card = check.loaded, check.card
    assert loaded is not None and card is not None
    at = functools.partial(
        Decision, card.ref, loaded.digest, check.uri, site.storage_region(check.uri),
        site.compute_region, "read", PURPOSE, "base-weights",
    )  # fmt: skip
    where = f"model.init_from {check.uri}"
    if card.placeholders:
        first = ", ".join(card.placeholders[:2])
        return [at(False, (
            f"{where}: model card {card.ref} has placeholder sha256 for "
            f"{len(card.placeholders)} file(s) ({first}{', ...' * (len(card.placeholders) > 2)}): "
            f"no reviewed weights; `sovtrain cards model-digests {check.uri}` prints the real "
            "weights block, then re-approve"
        ))], ()  # fmt: skip
    refusals = [at(False, reason) for reason in _unlisted(check, card)]
    if not hash_files:
        return refusals, ()
    files = [(f.path, f.size) for f in card.weights.files]
    digests: list[FileDigest] = on_rank0(lambda: digest_files(check.uri, files))
    refusals += [at(False, f"{where}: {r}") for r in _mismatches(card, digests)]
    if refusals:
        return refusals, ()
    hashed = sum(not d.cached for d in digests)
    reason = (
        f"{len(digests)} file(s) match model card {card.ref} (sha256: {hashed} hashed, "
        f"{len(digests) - hashed} from the digest cache)"
    )
    return [at(True, reason)], tuple(digests)


def _unlisted(check: BaseCheck, card: ModelCard) -> list[str]:
    """Weight files in the base directory the card does not list: transformers could load
    one (a stray pytorch_model.bin) that nobody reviewed."""
    listed = {f.path for f in card.weights.files}
    names = storage.listdir(check.uri, purpose="base-model")
    return [
        f"model.init_from {check.uri}: {name} is not in model card {card.ref}'s weights.files: "
        "an unreviewed weight file could be loaded (add it and re-approve, or remove it)"
        for name in names
        if name.endswith(WEIGHT_SUFFIXES) and name not in listed
    ]


def _mismatches(card: ModelCard, digests: list[FileDigest]) -> list[str]:
    expected = {f.path: f for f in card.weights.files}
    out = []
    for got in digests:
        want = expected[got.path]
        if got.error:
            out.append(f"{got.path} listed in model card {card.ref}: {got.error}")
        elif want.size is not None and got.size != want.size:
            out.append(
                f"{got.path} is {got.size:,} bytes, model card {card.ref} says {want.size:,}: "
                "the weights changed since review"
            )
        elif got.sha256 != want.sha256:
            out.append(
                f"{got.path} sha256 {(got.sha256 or '')[:12]}.. differs from model card "
                f"{card.ref} ({want.sha256[:12]}..): the weights changed since review"
            )
    return out
