"""Deterministic, clearly synthetic bilingual corpora (finance, logistics, hk-bank-comms).

Each document is rendered in English, Traditional Chinese (Hong Kong usage) and Simplified
Chinese (mainland usage) from the same facts, so the three languages are parallel. Everything
derives from `domain` and `seed`: the same pair gives byte-identical output on any machine
(`random.Random` seeded with a string, never the global generator or `hash()`).

Entities are compositional (brand x industry x legal suffix companies, surname x given-name
people, districts, cities, ports, airports, goods with HS codes, hundreds of domain terms), and
every sentence type has several phrasings per language, so the vocabulary runs to thousands of
terms and the text does not repeat in the way a single template would. Every text starts with
`SYNTHETIC_MARKER`; every name is fictional.

A corpus is named in `CORPORA`: the domain its documents belong to, its document kinds and its
languages. `finance` and `logistics` are corpora of their own domain; `hk-bank-comms` (bank
customer communications with realistic, fictional PII, see `bank_comms`) is a `finance` corpus
in English and Traditional Chinese only.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from sovtrain_synth import bank_comms, finance, logistics

SYNTHETIC_MARKER = "[SYNTHETIC]"
LANGS = ("en", "zh-Hant", "zh-Hans")
DOMAINS = {"finance": finance.KINDS, "logistics": logistics.KINDS}
# Bumped whenever the same (domain, seed) would produce different text.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class Corpus:
    """What a corpus name stands for: its documents' domain, kinds and languages."""

    domain: str
    kinds: Mapping[str, Callable[[random.Random], list[tuple[str, str, str]]]]
    languages: tuple[str, ...] = LANGS


# A domain name is also a corpus name (its own domain, all three languages), so callers that
# pass a domain keep getting exactly the output they always did.
CORPORA: dict[str, Corpus] = {
    "finance": Corpus("finance", finance.KINDS),
    "logistics": Corpus("logistics", logistics.KINDS),
    bank_comms.CORPUS: Corpus(bank_comms.DOMAIN, bank_comms.KINDS, bank_comms.LANGUAGES),
}


@dataclass(frozen=True)
class Document:
    """One synthetic document in one language."""

    doc_id: str
    lang: str
    domain: str
    kind: str
    text: str


def generate(
    corpus: str, seed: int, documents: int, languages: list[str] | None = None
) -> Iterator[Document]:
    """Yield `documents` parallel documents per language, deterministically from `seed`.

    `corpus` is a name in `CORPORA` (a domain name is one). The random draws do not depend on
    `languages`, so asking for a subset of languages yields exactly the matching renderings of
    the full output. Languages the corpus does not have are left out rather than rejected, so a
    recipe's default language list works for every corpus; asking only for absent ones is an
    error, since it would silently produce nothing.
    """
    spec = CORPORA[corpus]
    requested = languages or spec.languages
    wanted = [(LANGS.index(lang), lang) for lang in LANGS
              if lang in requested and lang in spec.languages]  # fmt: skip
    if not wanted and any(lang in LANGS for lang in requested):
        raise ValueError(f"corpus {corpus!r} has languages {list(spec.languages)}, not {requested}")
    kinds = spec.kinds
    rng = random.Random(f"{corpus}:{seed}")
    names = sorted(kinds)
    for number in range(documents):
        kind = names[int(rng.random() * len(names))]
        title, *body = kinds[kind](rng)
        doc_id = f"syn-{corpus}-{seed}-{number:07d}"
        for column, lang in wanted:
            text = "\n\n".join(block[column] for block in body)
            yield Document(
                doc_id=doc_id,
                lang=lang,
                domain=spec.domain,
                kind=kind,
                text=f"{SYNTHETIC_MARKER} {title[column]}\n\n{text}",
            )
