"""Tokenizer fertility by language, against an English-only BPE of the same vocabulary size.

Fertility = tokens per character (all languages) and tokens per whitespace word (English).
The baseline answers "what does a bilingual vocabulary buy, and what does it cost?": for
Chinese it should need far fewer tokens than an English-only vocabulary (which falls back to
2-3 byte tokens per Han character), for English it should cost little extra. Targets from
the data issue: Chinese <= 0.5x the baseline's tokens, English <= 1.15x.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tokenizers import Tokenizer

from sovtrain.data.tokenizer import train_bpe

CHINESE_MAX_RATIO = 0.5
ENGLISH_MAX_RATIO = 1.15


@dataclass(frozen=True)
class Fertility:
    lang: str
    chars: int
    words: int
    tokens: int
    baseline_tokens: int

    @property
    def tokens_per_char(self) -> float:
        return self.tokens / max(self.chars, 1)

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / max(self.words, 1)

    @property
    def ratio(self) -> float:
        """Our tokens / English-only baseline tokens on the same text."""
        return self.tokens / max(self.baseline_tokens, 1)

    @property
    def within_target(self) -> bool:
        limit = ENGLISH_MAX_RATIO if self.lang == "en" else CHINESE_MAX_RATIO
        return self.ratio <= limit

    def as_dict(self) -> dict[str, float | int | str | bool]:
        return {
            "lang": self.lang, "chars": self.chars, "words": self.words, "tokens": self.tokens,
            "baseline_tokens": self.baseline_tokens,
            "tokens_per_char": round(self.tokens_per_char, 4),
            "tokens_per_word": round(self.tokens_per_word, 4),
            "ratio_vs_english_only": round(self.ratio, 4), "within_target": self.within_target,
        }  # fmt: skip


def english_baseline(english_texts: Iterable[str], vocab_size: int, specials: list[str]):
    """A byte-level BPE of the same size and special tokens, trained on English alone."""
    return train_bpe(english_texts, vocab_size, specials)


def measure(
    ours: Tokenizer, baseline: Tokenizer, texts_by_lang: Mapping[str, list[str]]
) -> list[Fertility]:
    """Fertility of both tokenizers on the same held-out texts, per language."""
    out = []
    for lang, texts in sorted(texts_by_lang.items()):
        if not texts:
            continue
        out.append(
            Fertility(
                lang=lang,
                chars=sum(len(t) for t in texts),
                words=sum(len(t.split()) for t in texts),
                tokens=sum(len(e.ids) for e in ours.encode_batch(texts)),
                baseline_tokens=sum(len(e.ids) for e in baseline.encode_batch(texts)),
            )
        )
    return out
