"""hk-bank-comms: generated Hong Kong retail-bank customer communications, with realistic PII.

This corpus stands in for a restricted, Hong Kong-only CRM export (data card
`data_cards/hk-bank-comms.yaml`): customer e-mails about account servicing, card dispute
letters, mortgage and loan enquiries, remittance questions, complaint letters, relationship-
manager call notes and secure-message chats. Unlike the finance and logistics corpora it is
meant to contain personal data, because its job is to exercise the PII masking stage and the
residency controls exactly as the real data would: every document carries at least one HKID
number (valid check character), Hong Kong phone number, e-mail address, Luhn-valid card number
or dashed bank account number. Every person, bank and address is a fictional combination, every
e-mail domain is a reserved `example` name, and every text starts with the synthetic marker.

The data card lists English and Traditional Chinese (Hong Kong) only, so `LANGUAGES` leaves out
the Simplified rendering the shared `Triple` machinery also produces.
"""

from __future__ import annotations

from sovtrain_synth.bank_comms import chat, letters, mail, talk
from sovtrain_synth.bank_comms.pii import (
    account_number,
    card_number,
    email_address,
    hk_phone,
    hkid,
    hkid_check,
    luhn_digit,
    luhn_ok,
)

CORPUS = "hk-bank-comms"
DOMAIN = "finance"
LANGUAGES = ("en", "zh-Hant")
KINDS = {**mail.KINDS, **letters.KINDS, **talk.KINDS, **chat.KINDS}

__all__ = [
    "CORPUS",
    "DOMAIN",
    "KINDS",
    "LANGUAGES",
    "account_number",
    "card_number",
    "email_address",
    "hk_phone",
    "hkid",
    "hkid_check",
    "luhn_digit",
    "luhn_ok",
]
