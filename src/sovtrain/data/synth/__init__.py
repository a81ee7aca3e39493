"""Small, deterministic, clearly synthetic bilingual corpora (finance, logistics).

Each document is rendered in English, Traditional Chinese (Hong Kong usage) and Simplified
Chinese from the same facts, so the three languages are parallel. Everything derives from
`seed`: the same seed gives byte-identical output on any machine. These exist so that CI and
a new user can train end to end with no download.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from sovtrain.data.synth import finance, logistics

SYNTHETIC_MARKER = "[SYNTHETIC]"
LANGS = ("en", "zh-Hant", "zh-Hans")
DOMAINS = {"finance": finance.KINDS, "logistics": logistics.KINDS}


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
    """Yield `documents` parallel documents per language, deterministically from `seed`."""
    kinds = DOMAINS[domain]
    wanted = [lang for lang in LANGS if lang in (languages or LANGS)]
    rng = random.Random(f"{domain}:{seed}")
    names = sorted(kinds)
    for number in range(documents):
        kind = names[rng.randrange(len(names))]
        paragraphs = [triple for _ in range(rng.randint(1, 3)) for triple in kinds[kind](rng)]
        for lang in wanted:
            column = LANGS.index(lang)
            sep = " " if lang == "en" else ""
            yield Document(
                doc_id=f"syn-{domain}-{seed}-{number:07d}",
                lang=lang,
                domain=domain,
                kind=kind,
                text=f"{SYNTHETIC_MARKER} " + sep.join(p[column] for p in paragraphs),
            )
