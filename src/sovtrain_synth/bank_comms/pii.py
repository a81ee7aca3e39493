"""Fictional personal identifiers for the hk-bank-comms corpus, in the formats PII detectors see.

The corpus stands in for real customer communications, so it has to exercise the masking stage
(`sovtrain.data.clean.pii`) the way real text would: HKID numbers carry a correct check character
and card numbers a correct Luhn digit (a detector that validates them would otherwise skip them),
phone numbers use the Hong Kong forms the detector accepts, and e-mail addresses use reserved
`example` domains so that none can reach a real mailbox. Every value is drawn from the caller's
`random.Random`, so a document's identifiers are as deterministic as its text.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from sovtrain_synth.lexicon.common import Facts, Triple, pick
from sovtrain_synth.lexicon.companies import bank, brand
from sovtrain_synth.lexicon.names import person
from sovtrain_synth.lexicon.numbers import digits
from sovtrain_synth.lexicon.places import HK_DISTRICTS, address

# HKID prefixes, weighted towards the common single letters; two-letter ones are rarer.
HKID_PREFIXES = [*"AAABBCCDDEEGHHKKKMPPRRVYYZZ", "WX", "XA", "XB", "XC", "XD", "XE", "XG"]
# (brand, leading digits, total length): Visa, Mastercard, UnionPay and American Express.
CARD_SCHEMES: list[tuple[str, tuple[str, ...], int]] = [
    ("Visa", ("4",), 16),
    ("Mastercard", ("51", "52", "53", "54", "55", "2221", "2720"), 16),
    ("UnionPay", ("62",), 16),
    ("American Express", ("34", "37"), 15),
]
CARD_NAMES: dict[str, Triple] = {
    "Visa": ("Visa", "Visa", "Visa"),
    "Mastercard": ("Mastercard", "萬事達卡", "万事达卡"),
    "UnionPay": ("UnionPay", "銀聯", "银联"),
    "American Express": ("American Express", "美國運通", "美国运通"),
}
# Reserved second-level names (RFC 2606 style): no generated address can be a real one.
MAIL_DOMAINS = [
    "example.com",
    "example.hk",
    "mail.example.com.hk",
    "example.net",
    "inbox.example.org",
    "home.example.hk",
    "netvigator.example.com",
]


def hkid_check(prefix: str, six: str) -> str:
    """The HKID check character: weights 9..2 over (space-padded) letters and digits, mod 11.

    Written here rather than imported so the generator does not depend on the detector it is
    meant to test; the unit tests check both agree.
    """
    values = ([36] if len(prefix) == 1 else []) + [ord(c) - 55 for c in prefix]
    values += [int(d) for d in six]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def hkid(rng: random.Random) -> str:
    """A fictional HKID number with a valid check character: `A123456(7)` or `A123456 (7)`."""
    prefix, six = pick(rng, HKID_PREFIXES), digits(rng, 6)
    space = " " if rng.random() < 0.2 else ""
    return f"{prefix}{six}{space}({hkid_check(prefix, six)})"


def luhn_digit(payload: str) -> str:
    """The Luhn check digit that makes `payload + digit` valid (doubling from the right)."""
    total = 0
    for i, char in enumerate(reversed(payload)):
        d = int(char)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    """Whether the digits of `number` pass the Luhn check."""
    only = re.sub(r"\D", "", number)
    return luhn_digit(only[:-1]) == only[-1]


def card_number(rng: random.Random) -> tuple[str, str]:
    """(scheme, number): a Luhn-valid card number grouped as cards print it."""
    scheme, starts, length = pick(rng, CARD_SCHEMES)
    lead = pick(rng, starts)
    payload = lead + digits(rng, length - len(lead) - 1)
    raw = payload + luhn_digit(payload)
    sep = pick(rng, (" ", " ", " ", "-", ""))
    if length == 15:  # Amex prints 4-6-5
        groups = [raw[:4], raw[4:10], raw[10:]]
    else:
        groups = [raw[i : i + 4] for i in range(0, 16, 4)]
    return scheme, sep.join(groups)


def hk_phone(rng: random.Random, mobile: bool | None = None) -> str:
    """A Hong Kong number (mobile 5/6/9, fixed line 2/3) in a form the PII detector matches."""
    is_mobile = rng.random() < 0.75 if mobile is None else mobile
    first = pick(rng, "5699" if is_mobile else "23")
    body = first + digits(rng, 7)
    style = int(rng.random() * 5)
    if style == 0:
        return f"+852 {body[:4]} {body[4:]}"
    if style == 1:
        return f"+852 {body}"
    if style == 2:
        return f"{body[:4]} {body[4:]}"
    if style == 3:
        return body
    # not "+852-XXXX-XXXX": the dashed form reads as a bank account number to the detector
    return f"852 {body[:4]} {body[4:]}"


def _ascii_words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z]+", name.lower()) if w]


def email_address(rng: random.Random, person: Triple) -> str:
    """A personal address built from the person's English name, at a reserved domain."""
    words = _ascii_words(person[0]) or ["customer"]
    style = int(rng.random() * 4)
    if style == 0:
        local = ".".join(words)
    elif style == 1:
        local = words[-1] + "." + words[0]
    elif style == 2:
        local = "".join(w[0] for w in words[:-1]) + words[-1] + digits(rng, 2)
    else:
        local = "_".join(words[:2]) + str(1960 + int(rng.random() * 45))
    return f"{local}@{pick(rng, MAIL_DOMAINS)}"


def bank_email(rng: random.Random, bank_short: Triple) -> str:
    """The (fictional) bank's service mailbox, e.g. `customer.service@harbourbank.example.hk`."""
    slug = "".join(_ascii_words(bank_short[0])) or "bank"
    box = pick(rng, ("customer.service", "enquiry", "service", "contactus", "feedback"))
    return f"{box}@{slug}.example.hk"


def account_number(rng: random.Random) -> str:
    """A Hong Kong bank account number in the dashed forms banks print (3-6-3, 3-3-6, ...).

    Forms with 13 or more digits are redrawn when they happen to pass Luhn, so the detector
    reads them as an account number rather than as a card number.
    """
    while True:
        style = int(rng.random() * 4)
        if style == 0:
            number = f"{digits(rng, 3)}-{digits(rng, 6)}-{digits(rng, 3)}"
        elif style == 1:
            number = f"{digits(rng, 3)}-{digits(rng, 3)}-{digits(rng, 6)}"
        elif style == 2:
            number = f"{digits(rng, 3)}-{digits(rng, 4)}-{digits(rng, 4)}"
        else:
            number = f"{digits(rng, 3)}-{digits(rng, 3)}-{digits(rng, 6)}-{digits(rng, 1)}"
        if len(re.sub(r"\D", "", number)) < 13 or not luhn_ok(number):
            return number


def last4(number: str) -> str:
    return re.sub(r"\D", "", number)[-4:]


FIRST_DAY, LAST_DAY = dt.date(2025, 1, 1), dt.date(2026, 10, 31)  # the data card's time frame


def when(rng: random.Random) -> dt.date:
    """A date inside the time frame the data card declares (2025-01 to 2026-10)."""
    span = LAST_DAY.toordinal() - FIRST_DAY.toordinal()
    return dt.date.fromordinal(FIRST_DAY.toordinal() + int(rng.random() * span))


def customer(rng: random.Random, f: Facts) -> None:
    """Fill the slots every communication can use: who the customer is and how to reach them.

    All identifiers are drawn up front, whether or not a given phrasing uses them, so adding a
    phrasing variant later does not shift the identifiers of every following document.
    """
    name = f.put("name", person(rng))
    f.same("hkid", hkid(rng))
    f.same("phone", hk_phone(rng, mobile=True))
    f.same("phone2", hk_phone(rng))
    f.same("email", email_address(rng, name))
    f.same("acct", account_number(rng))
    scheme, card = card_number(rng)
    f.same("card", card)
    f.same("card4", last4(card))
    f.put("scheme", CARD_NAMES[scheme])
    full, short = bank(rng)
    f.put("bank_full", full)
    f.put("bank", short)
    f.same("bank_mail", bank_email(rng, short))
    district = pick(rng, HK_DISTRICTS)
    f.put("district", district)
    f.put("branch", (f"{district[0]} branch", f"{district[1]}分行", f"{district[2]}分行"))
    f.put("address", address(rng, brand(rng), mainland=False))
    f.same("ref", f"{pick(rng, ('CS', 'CM', 'SR', 'HK'))}{digits(rng, 7)}")
    f.put("agent", person(rng))
