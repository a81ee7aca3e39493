"""Text normalisation, Chinese script policy, and per-document language/script detection.

Why detect script ourselves: Traditional and Simplified Chinese share most code points, so a
generic language identifier says "zh" for both. We count characters that change under
OpenCC's Traditional->Simplified and Simplified->Traditional(HK) conversions: a text with
many of the former is Traditional, many of the latter Simplified.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORDISH = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)

LANG_LABELS = ("en", "zh-Hant", "zh-Hans", "mixed", "other")


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width ASCII and compatibility forms fold to one spelling.

    NFKC also folds full-width CJK punctuation such as '，' to ','; that is intended, so the
    tokenizer sees one comma, not two.
    """
    return unicodedata.normalize("NFKC", text)


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces/tabs (incl. NBSP and ideographic space), trim lines, cap blank
    lines at one, strip the ends."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


@functools.cache
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def convert_script(text: str, target: str) -> str:
    """Convert Chinese to `zh-Hant-HK` (OpenCC s2hk) or `zh-Hans` (t2s); `keep` is identity."""
    if target == "keep":
        return text
    config = {"zh-Hant-HK": "s2hk", "zh-Hans": "t2s"}[target]
    return _converter(config).convert(text)


def _changed_chars(text: str, config: str) -> int:
    converted = _converter(config).convert(text)
    if len(converted) != len(text):  # phrase-level rewrite: fall back to a character multiset
        return sum(1 for c in text if _converter(config).convert(c) != c)
    return sum(a != b for a, b in zip(text, converted, strict=True))


def detect_language(text: str) -> str:
    """One of en, zh-Hant, zh-Hans, mixed, other, from the script mix of the text."""
    cjk = _CJK.findall(text)
    latin = len(_LATIN.findall(text))
    total = len(cjk) + latin
    if total == 0:
        return "other"
    cjk_share = len(cjk) / total
    if cjk_share < 0.1:
        return "en"
    if cjk_share < 0.6 and latin >= 20:
        return "mixed"
    han = "".join(cjk)
    traditional = _changed_chars(han, "t2s")
    simplified = _changed_chars(han, "s2hk")
    # Only characters shared by both scripts: nothing to tell them apart; count it with the
    # majority script of Chinese text overall.
    return "zh-Hant" if traditional > simplified else "zh-Hans"


def text_ratio(text: str) -> float:
    """Share of non-space characters that are letters, digits or Han: a cheap junk filter."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    return len(_WORDISH.findall("".join(visible))) / len(visible)


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))
