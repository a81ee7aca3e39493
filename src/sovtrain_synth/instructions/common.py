"""Building blocks shared by the instruction-tuning (SFT) generators of both domains.

A domain supplies a `DomainKit`: four functions that each draw one parallel task item from a
`random.Random` (the document and its gold answer in English, Traditional and Simplified
Chinese, aligned like the corpus generators' `Triple`s) plus its classification labels.
The `instructions` package turns an item into a chat in one language. Keeping the items
language-complete is what lets translation references come for free: the parallel rendering
*is* the reference.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sovtrain_synth.lexicon.common import Facts, Say, Triple, pick
from sovtrain_synth.lexicon.numbers import date

LANG_COLUMN = {"en": 0, "zh-Hant": 1, "zh-Hans": 2}


class Explained(NamedTuple):
    """A short notice or clause and its 2-3 sentence plain-language explanation."""

    document: Triple
    answer: Triple


class Labelled(NamedTuple):
    """A message and its category (an English slug, the same in every language)."""

    message: Triple
    label: str


class Extraction(NamedTuple):
    """A form-like document and the fields to pull out of it, in the order they are asked.

    Every value is a substring of the document in its own language, so an extraction can be
    scored by exact match without any normalisation of numbers or dates.
    """

    document: Triple
    fields: list[tuple[str, Triple]]


@dataclass(frozen=True)
class DomainKit:
    """What one domain contributes: its label set, a message of any label, a contract clause
    (LC / bill of lading) and the explain and extract tasks."""

    labels: tuple[str, ...]
    explain: Callable[[random.Random], Explained]
    extract: Callable[[random.Random], Extraction]
    message: Callable[[random.Random, str], Triple]  # one message of category `label`
    contract_clause: Callable[[random.Random], Explained]

    def classify(self, rng: random.Random) -> Labelled:
        """A customer, market or shipment message and the category it belongs to."""
        label = pick(rng, self.labels)
        return Labelled(self.message(rng, label), label)

    def clause(self, rng: random.Random) -> Triple:
        """A contract clause, or now and then a short message of any category, to translate.

        The messages widen the translation vocabulary beyond contract wording for free:
        their three renderings are as parallel as the clauses'.
        """
        if rng.random() < 0.65:
            return self.contract_clause(rng).document
        return self.message(rng, pick(rng, self.labels))


def say(en: Sequence[str], hant: Sequence[str], hans: Sequence[str]) -> Say:
    """A `Say` with all three columns spelled out.

    Simplified is always written by hand here (not derived with `to_hans`): the instruction
    texts use characters outside the corpus tables' conversion map, and mainland wording
    often differs (追加保证金 vs 補倉), which a character map cannot produce.
    """
    return Say(list(en), list(hant), list(hans))


def render(rng: random.Random, facts: Facts, *says: Say) -> Triple:
    """Sentences drawn from `says` joined into one paragraph per language."""
    parts = [s(rng, facts) for s in says]
    return (
        " ".join(p[0] for p in parts),
        "".join(p[1] for p in parts),
        "".join(p[2] for p in parts),
    )


def lines(*parts: Triple) -> Triple:
    """Join rendered blocks with newlines (title line, form lines, sentences)."""
    return ("\n".join(p[0] for p in parts), "\n".join(p[1] for p in parts),
            "\n".join(p[2] for p in parts))  # fmt: skip


def field_lines(rows: Sequence[tuple[Triple, Triple]]) -> Triple:
    """`Label: value` lines, with the full-width colon in Chinese as on real forms."""
    return (
        "\n".join(f"{label[0]}: {value[0]}" for label, value in rows),
        "\n".join(f"{label[1]}：{value[1]}" for label, value in rows),
        "\n".join(f"{label[2]}：{value[2]}" for label, value in rows),
    )


def shown_and_asked(
    rng: random.Random,
    rows: Sequence[tuple[str, Triple, Triple]],
    always: int,
    ask_low: int,
    ask_high: int,
) -> tuple[list[tuple[Triple, Triple]], list[tuple[str, Triple]]]:
    """Choose the form lines a document shows and the fields the user asks for.

    The first `always` rows are the document's identity and always shown; the asked fields
    are a random subset (kept in form order) and every asked field is shown, plus at most one
    unasked line as a distractor. Asking for a varying subset keeps examples short and teaches
    the model to return exactly the keys requested, not every key it sees.
    """
    n = min(len(rows), ask_low + int(rng.random() * (ask_high - ask_low + 1)))
    asked = set(rng.sample(range(len(rows)), n))
    spare = [i for i in range(len(rows)) if i not in asked and i >= always]
    extra = {pick(rng, spare)} if spare and rng.random() < 0.4 else set()
    shown = [i for i in range(len(rows)) if i < always or i in asked or i in extra]
    return (
        [(rows[i][1], rows[i][2]) for i in shown],
        [(rows[i][0], rows[i][2]) for i in shown if i in asked],
    )


def any_day(rng: random.Random, d: dt.date, zh_iso: bool = False) -> Triple:
    """A date as forms write it: long or ISO in English; Chinese long form (or ISO)."""
    if zh_iso or rng.random() < 0.25:
        return date(d, "iso")
    return date(d, pick(rng, ("long", "long", "abbr")))


def prose_day(rng: random.Random, d: dt.date) -> Triple:
    """A date as running text writes it, without the weekday (it only costs tokens here)."""
    return date(d, pick(rng, ("long", "long", "abbr", "us")))


def amount_text(value: int, cents: bool) -> str:
    """Digits with thousands separators, as on an advice: `1,250,000.00` or `1,250,000`."""
    return f"{value:,}.00" if cents else f"{value:,}"


def percent(value: float) -> str:
    """A percentage figure without a trailing `.0`."""
    return f"{value:.1f}".removesuffix(".0")
