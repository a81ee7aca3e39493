"""Shared pieces of the synthetic generators: parallel triples, tables, sentence variants.

A `Triple` is one string in (English, Traditional Chinese (Hong Kong), Simplified Chinese). A
document is built from `Facts` (one value per language for every named slot) rendered through
`Say` sentence types, each of which has several aligned phrasings (variant i is the same
sentence in every language), so the three renderings are translations of each other.

Speed matters (gigabytes of text must be feasible), so draws use `rng.random()` directly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sovtrain_synth.lexicon.hanzi import to_hans

# (English, Traditional Chinese (Hong Kong), Simplified Chinese)
Triple = tuple[str, str, str]

MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
MONTHS_ABBR = [m[:3] for m in MONTHS]


def table(spec: str) -> list[Triple]:
    """Parse one entry per line: `English|繁體|简体`; a missing Simplified column is derived."""
    rows: list[Triple] = []
    for raw in spec.strip().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|")
        if len(parts) == 2:
            parts.append(to_hans(parts[1]))
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"bad table row {raw!r}")
        rows.append((parts[0], parts[1], parts[2]))
    return rows


def rows(spec: str, width: int) -> list[list[str]]:
    """Parse `|`-separated rows of a fixed width (for tables with extra columns)."""
    out = []
    for raw in spec.strip().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            parts = line.split("|")
            if len(parts) != width:
                raise ValueError(f"bad row {raw!r}: want {width} columns")
            out.append(parts)
    return out


def pick(rng: random.Random, seq: Sequence):
    return seq[int(rng.random() * len(seq))]


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def same(value: str) -> Triple:
    return (value, value, value)


class Facts:
    """Named slots, one value per language, for `str.format_map` in each language."""

    __slots__ = ("en", "hans", "hant")

    def __init__(self) -> None:
        self.en: dict[str, str] = {}
        self.hant: dict[str, str] = {}
        self.hans: dict[str, str] = {}

    def put(self, key: str, value: Triple) -> Triple:
        self.en[key], self.hant[key], self.hans[key] = value
        return value

    def same(self, key: str, value: str) -> str:
        self.en[key] = self.hant[key] = self.hans[key] = value
        return value

    def __getitem__(self, key: str) -> Triple:
        return (self.en[key], self.hant[key], self.hans[key])


class Say:
    """One sentence type: aligned phrasing variants, one list per language.

    Variant `i` says the same thing in every language, so the three renderings of a document are
    translations of each other; which variant is used is drawn once per sentence. `hans`
    defaults to the mainland conversion of each `hant` variant; give it explicitly where
    mainland phrasing differs by more than characters and common terms.
    """

    __slots__ = ("en", "hans", "hant")

    def __init__(self, en: list[str], hant: list[str], hans: list[str] | None = None) -> None:
        self.en = en
        self.hant = hant
        self.hans = hans if hans is not None else [to_hans(t) for t in hant]
        if not len(en) == len(hant) == len(self.hans):
            raise ValueError(f"unaligned variants: {en[0]!r}")

    def __call__(self, rng: random.Random, facts: Facts) -> Triple:
        i = int(rng.random() * len(self.en))
        en = self.en[i].format_map(facts.en)
        if ".." in en:  # a name ending in "Co., Ltd." at the end of a sentence
            en = en.replace("..", ".")
        return (
            en[0].upper() + en[1:] if en[0].islower() else en,
            self.hant[i].format_map(facts.hant),
            self.hans[i].format_map(facts.hans),
        )

    def several(self, rng: random.Random, facts: Facts, k: int) -> Triple:
        """`k` different variants (in listed order) as one paragraph."""
        picks = sorted(rng.sample(range(len(self.en)), min(k, len(self.en))))
        out = []
        for i in picks:
            en = self.en[i].format_map(facts.en).replace("..", ".")
            out.append(
                (
                    en[0].upper() + en[1:],
                    self.hant[i].format_map(facts.hant),
                    self.hans[i].format_map(facts.hans),
                )
            )
        return glue(out)


def para(rng: random.Random, facts: Facts, says: Sequence[Say]) -> Triple:
    """Render sentence types into one paragraph per language."""
    out = [say(rng, facts) for say in says]
    return (" ".join(t[0] for t in out), "".join(t[1] for t in out), "".join(t[2] for t in out))


def glue(parts: Sequence[Triple]) -> Triple:
    """Join already-rendered sentences into one paragraph per language."""
    return (
        " ".join(t[0] for t in parts),
        "".join(t[1] for t in parts),
        "".join(t[2] for t in parts),
    )


def some(rng: random.Random, says: Sequence[Say], low: int, high: int) -> list[Say]:
    """Between `low` and `high` distinct sentence types, in their listed order."""
    n = min(len(says), low + int(rng.random() * (high - low + 1)))
    chosen = sorted(rng.sample(range(len(says)), n))
    return [says[i] for i in chosen]


def form(rng: random.Random, fields: Sequence[tuple[Triple, Triple]]) -> Triple:
    """Label/value lines, as on a form: `Label: value` / `標籤：值`."""
    return (
        "\n".join(f"{label[0]}: {value[0]}" for label, value in fields),
        "\n".join(f"{label[1]}：{value[1]}" for label, value in fields),
        "\n".join(f"{label[2]}：{value[2]}" for label, value in fields),
    )


def bullets(items: Sequence[Triple], numbered: bool = True) -> Triple:
    def mark(i: int) -> str:
        return f"{i}. " if numbered else "- "

    def zh_mark(i: int) -> str:
        return f"{i}. " if numbered else "・"

    return (
        "\n".join(mark(i + 1) + t[0] for i, t in enumerate(items)),
        "\n".join(zh_mark(i + 1) + t[1] for i, t in enumerate(items)),
        "\n".join(zh_mark(i + 1) + t[2] for i, t in enumerate(items)),
    )


def join_list(items: Sequence[Triple]) -> Triple:
    """'a, b and c' / 'a、b及c' / 'a、b和c'."""
    if len(items) == 1:
        return items[0]
    en = ", ".join(t[0] for t in items[:-1]) + " and " + items[-1][0]
    hant = "、".join(t[1] for t in items[:-1]) + "及" + items[-1][1]
    hans = "、".join(t[2] for t in items[:-1]) + "和" + items[-1][2]
    return (en, hant, hans)
