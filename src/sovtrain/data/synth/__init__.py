"""Deterministic, clearly synthetic bilingual corpora (finance, logistics).

Each document is rendered in English, Traditional Chinese (Hong Kong usage) and Simplified
Chinese (mainland usage) from the same facts, so the three languages are parallel. Everything
derives from `domain` and `seed`: the same pair gives byte-identical output on any machine
(`random.Random` seeded with a string, never the global generator or `hash()`).

Entities are compositional (brand x industry x legal suffix companies, surname x given-name
people, districts, cities, ports, airports, goods with HS codes, hundreds of domain terms), and
every sentence type has several phrasings per language, so the vocabulary runs to thousands of
terms and the text does not repeat in the way a single template would. Every text starts with
`SYNTHETIC_MARKER`; every name is fictional.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from sovtrain.data.synth import finance, logistics

SYNTHETIC_MARKER = "[SYNTHETIC]"
LANGS = ("en", "zh-Hant", "zh-Hans")
DOMAINS = {"finance": finance.KINDS, "logistics": logistics.KINDS}
# Bumped whenever the same (domain, seed) would produce different text.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class Document:
    """One synthetic document in one language."""

    doc_id: str
    lang: str
    domain: str
    kind: str
    text: str


def generate(
    domain: str, seed: int, documents: int, languages: list[str] | None = None
) -> Iterator[Document]:
    """Yield `documents` parallel documents per language, deterministically from `seed`.

    The random draws do not depend on `languages`, so asking for a subset of languages yields
    exactly the matching renderings of the full output.
    """
    kinds = DOMAINS[domain]
    wanted = [(LANGS.index(lang), lang) for lang in LANGS if lang in (languages or LANGS)]
    rng = random.Random(f"{domain}:{seed}")
    names = sorted(kinds)
    for number in range(documents):
        kind = names[int(rng.random() * len(names))]
        title, *body = kinds[kind](rng)
        doc_id = f"syn-{domain}-{seed}-{number:07d}"
        for column, lang in wanted:
            text = "\n\n".join(block[column] for block in body)
            yield Document(
                doc_id=doc_id,
                lang=lang,
                domain=domain,
                kind=kind,
                text=f"{SYNTHETIC_MARKER} {title[column]}\n\n{text}",
            )
