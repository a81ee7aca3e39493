"""Evaluation: task metrics (pure functions) and the `sovtrain eval` runner.

Only the metrics are imported here: they are light (no torch), so a model card or a report
can score strings without loading the training stack.
"""

from sovtrain.eval.metrics import (
    accuracy,
    chrf,
    exact_match,
    extraction_scores,
    first_json_object,
    normalize,
    perplexity,
)

__all__ = [
    "accuracy",
    "chrf",
    "exact_match",
    "extraction_scores",
    "first_json_object",
    "normalize",
    "perplexity",
]
