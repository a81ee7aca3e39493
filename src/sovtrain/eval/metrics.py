"""Task metrics as pure functions: exact match, field extraction, accuracy, chrF, perplexity.

Why pure functions of strings: the same scores are computed at train-time eval, by
`sovtrain eval` and in model cards, and must not depend on a model, a tokenizer or a device.
Normalisation is deliberately light (Unicode NFKC, trimmed, whitespace runs collapsed): it
forgives fullwidth/halfwidth forms and stray spaces, which say nothing about whether the
answer is right, but keeps case and punctuation, which can.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, then trim and collapse every whitespace run to one space."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def exact_match(pred: str, ref: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return 1.0 if normalize(pred) == normalize(ref) else 0.0


def accuracy(preds: Sequence[str], refs: Sequence[str]) -> float:
    """Mean exact match over aligned lists (0.0 for none); lengths must agree."""
    _same_length(preds, refs)
    if not preds:
        return 0.0
    return sum(exact_match(p, r) for p, r in zip(preds, refs, strict=True)) / len(preds)


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first `{...}` in `text` that decodes as a JSON object, or None.

    Models wrap their JSON in prose or code fences; trying a decode at each `{` (rather than
    matching braces by hand) gets nesting and braces inside strings right.
    """
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _field_value(value: Any) -> str:
    """Values compare as normalised text, so 1000 and "1000" agree; nested values as JSON."""
    if isinstance(value, str):
        return normalize(value)
    return normalize(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _pairs(fields: dict[str, Any]) -> set[tuple[str, str]]:
    return {(normalize(str(key)), _field_value(value)) for key, value in fields.items()}


def extraction_scores(pred_text: str, ref_fields: dict[str, Any]) -> dict[str, float]:
    """Exact match (every (key, value) pair right, none extra) and field-level F1.

    The prediction is the model's whole answer; its first JSON object is scored. No object
    (or invalid JSON) scores zero on both: a format failure is a task failure.
    """
    predicted = first_json_object(pred_text)
    if predicted is None:
        return {"exact_match": 0.0, "f1": 0.0}
    pred, ref = _pairs(predicted), _pairs(ref_fields)
    if not pred and not ref:
        return {"exact_match": 1.0, "f1": 1.0}
    hits = len(pred & ref)
    if hits == 0:
        return {"exact_match": 0.0, "f1": 0.0}
    precision, recall = hits / len(pred), hits / len(ref)
    return {
        "exact_match": 1.0 if pred == ref else 0.0,
        "f1": 2 * precision * recall / (precision + recall),
    }


def chrf(preds: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus chrF (0-100) with one reference per prediction.

    Character n-grams need no word segmentation, which is why it suits Chinese and mixed
    text where BLEU's whitespace tokens do not.
    """
    from sacrebleu.metrics import CHRF

    _same_length(preds, refs)
    if not preds:
        return 0.0
    return float(CHRF().corpus_score(list(preds), [list(refs)]).score)


def perplexity(mean_loss: float) -> float:
    """exp(mean token cross-entropy in nats); inf instead of an overflow error."""
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf


def _same_length(preds: Sequence[str], refs: Sequence[str]) -> None:
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} references")
