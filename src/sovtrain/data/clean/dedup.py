"""Exact and near-duplicate removal.

Exact: sha1 of a canonical form (NFKC, case-folded, whitespace collapsed), so re-encoded or
re-spaced copies count as the same document.

Near: MinHash over character n-grams (works for Chinese, which has no spaces, and English
alike) with LSH banding. Two documents whose estimated Jaccard similarity reaches the
threshold are duplicates; the first one seen is kept, so the result is deterministic given
the input order. Hashes are arithmetic on code points, never Python's salted `hash()`, so
runs and processes agree.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict

import numpy as np

_POLY = np.uint64(1_000_003)
_WS = re.compile(r"\s+")


def canonical_key(text: str) -> str:
    folded = _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha1(folded.encode()).hexdigest()


class ExactDedup:
    def __init__(self) -> None:
        self._seen: set[str] = set()

    def is_duplicate(self, text: str) -> bool:
        key = canonical_key(text)
        if key in self._seen:
            return True
        self._seen.add(key)
        return False


class NearDedup:
    """MinHash-LSH: `num_perm` hashes split into `bands` bands of `rows` rows."""

    def __init__(
        self, threshold: float = 0.8, num_perm: int = 64, ngram: int = 5, seed: int = 0
    ) -> None:
        self.threshold = threshold
        self.ngram = ngram
        self.bands, self.rows = _choose_bands(num_perm, threshold)
        rng = np.random.default_rng(seed)
        size = self.bands * self.rows
        self._a = rng.integers(0, 2**64, size=size, dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 2**64, size=size, dtype=np.uint64)
        self._buckets: list[dict[bytes, list[int]]] = [defaultdict(list) for _ in range(self.bands)]
        self._signatures: list[np.ndarray] = []

    def signature(self, text: str) -> np.ndarray:
        """MinHash signature of the set of character n-grams of `text` (vectorised).

        n-grams are hashed with a rolling polynomial over code points (uint64, wrapping);
        each of the `num_perm` hash functions is a multiply-shift hash (a*x + b) >> 32 with
        random odd 64-bit a and random b: universal, and cheap in numpy.
        """
        squashed = _WS.sub(" ", text.casefold())
        points = np.frombuffer(squashed.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        n = min(self.ngram, max(len(points), 1))
        count = max(len(points) - n + 1, 1)
        grams = np.zeros(count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for offset in range(min(n, len(points))):
                grams = grams * _POLY + points[offset : offset + count]
            grams = np.unique(grams)
            mixed = (self._a[:, None] * grams[None, :] + self._b[:, None]) >> np.uint64(32)
        return mixed.min(axis=1)

    def is_duplicate(self, text: str) -> bool:
        """True if `text` is near a document seen before; otherwise remember it."""
        sig = self.signature(text)
        candidates: set[int] = set()
        keys = []
        for band in range(self.bands):
            key = sig[band * self.rows : (band + 1) * self.rows].tobytes()
            keys.append(key)
            candidates.update(self._buckets[band].get(key, ()))
        for other in candidates:
            if float(np.mean(self._signatures[other] == sig)) >= self.threshold:
                return True
        index = len(self._signatures)
        self._signatures.append(sig)
        for band, key in enumerate(keys):
            self._buckets[band][key].append(index)
        return False


def _choose_bands(num_perm: int, threshold: float) -> tuple[int, int]:
    """Bands x rows = num_perm whose LSH S-curve midpoint (1/b)^(1/r) is nearest threshold."""
    options = [(b, num_perm // b) for b in range(1, num_perm + 1) if num_perm % b == 0]
    return min(options, key=lambda br: abs((1 / br[0]) ** (1 / br[1]) - threshold))
