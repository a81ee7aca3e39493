"""PII detection for Hong Kong and mainland identifiers, contact details and account numbers.

Each detector is a regex plus, where the identifier has one, its check digit: a Luhn check
for card numbers, the HKID check character, the ISO 7064 MOD 11-2 check of PRC resident ID
numbers. Check digits keep invoice numbers and amounts from being masked as identities.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

DETECTOR_VERSION = "sovtrain-pii-2"


@dataclass(frozen=True)
class Detector:
    name: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = lambda _: True


def _hkid_valid(match: str) -> bool:
    """HKID: 1-2 letters, 6 digits, check character in brackets (weights 9..2, mod 11)."""
    body = re.sub(r"[()\s]", "", match).upper()
    letters, digits, check = body[:-7], body[-7:-1], body[-1]
    values = [36] if len(letters) == 1 else []  # a single letter is padded with a space (36)
    values += [ord(c) - 55 for c in letters] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    expected = (11 - total % 11) % 11
    return check == ("A" if expected == 10 else str(expected))


def _prc_id_valid(match: str) -> bool:
    """PRC resident ID (18 chars): weights 2^(17-i) mod 11 over 17 digits, check in 0-9/X."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(match[:17], weights, strict=True))
    return "10X98765432"[total % 11] == match[17].upper()


def _luhn_valid(match: str) -> bool:
    digits = [int(c) for c in match if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


DETECTORS: dict[str, Detector] = {
    # ASCII classes: Python's \w includes CJK, which would glue 請電郵至 onto the address
    "email": Detector(
        "email",
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
            r"\.[A-Za-z]{2,}(?![A-Za-z0-9])"
        ),
    ),
    "hkid": Detector(
        "hkid", re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d{6}\s?\(\s?[0-9Aa]\s?\)"), _hkid_valid
    ),
    "prc_id": Detector(
        "prc_id",
        re.compile(r"(?<!\d)[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?!\d)"),
        _prc_id_valid,
    ),
    "card": Detector("card", re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"), _luhn_valid),
    "bank_account": Detector(
        # not after "+": +852-9123-4567 is a phone number, not an account
        "bank_account",
        re.compile(r"(?<![\d+])\d{3}-\d{3,6}-\d{3,6}(?:-\d{1,3})?(?!\d)"),
    ),
    "phone": Detector(
        "phone",
        re.compile(
            # not glued to a longer digit group on either side ("4111 1111 1111 1112")
            r"(?<![\d+])(?<!\d[ -])"
            r"(?:(?:\+?852[ -]?)?[2-9]\d{3}[ -]?\d{4}"  # Hong Kong, 8 digits
            r"|(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4})"  # PRC mobile
            r"(?![ -]?\d)"
        ),
    ),
}
# Order matters: identifiers with check digits first, so a PRC ID is not half-eaten as a phone.
ORDER = ("email", "hkid", "prc_id", "card", "bank_account", "phone")


@dataclass
class PiiResult:
    text: str
    found: dict[str, int]


def find_and_mask(text: str, types: tuple[str, ...], mask: bool) -> PiiResult:
    """Count PII of the given types; with `mask`, replace each hit by `<PII:type>`."""
    found: dict[str, int] = {}
    for name in ORDER:
        if name not in types:
            continue
        detector = DETECTORS[name]

        def replace(match: re.Match[str], detector: Detector = detector) -> str:
            if not detector.valid(match.group(0)):
                return match.group(0)
            found[detector.name] = found.get(detector.name, 0) + 1
            return f"<PII:{detector.name}>" if mask else match.group(0)

        text = detector.pattern.sub(replace, text)
    return PiiResult(text, found)
