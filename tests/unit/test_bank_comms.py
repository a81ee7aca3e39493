"""The hk-bank-comms corpus: deterministic, en + zh-Hant, PII in every document that the PII
stage finds and masks, and the finance/logistics output untouched by the corpus registry."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterator

import pytest

import sovtrain_synth as synth
from sovtrain.data.clean import pii
from sovtrain.data.generate import generate_corpus
from sovtrain.data.sources import read_source
from sovtrain.recipe.schema import SyntheticSource
from sovtrain_synth import bank_comms
from sovtrain_synth.bank_comms import pii as bank_pii
from sovtrain_synth.bank_comms import talk as bank_talk

CORPUS = "hk-bank-comms"
ALL_TYPES = tuple(pii.DETECTORS)
CJK = re.compile(r"[\u4e00-\u9fff]")
# sha256 over the first 50 documents of seed 7 (all languages), taken before hk-bank-comms and
# the corpus registry were added: the existing corpora must stay byte-identical.
BEFORE = {
    "finance": "e04754276a5d4db53d6589d196c71ed2b07d7af11285493b6c09e0d0efdd1f5b",
    "logistics": "6712ebb84703b35cba582bf1171718fcc229f665f24d4e4d69bb8625c8a50a96",
}
# sha256 of generate_corpus("logistics", seed=2, documents=30)'s only part, likewise.
LOGISTICS_PART_BEFORE = "070faf3eeb564c272ccb2c756d09a995b8c647aebb8e6af2a9ce966ab96b1b0f"


def _digest(docs: Iterator[synth.Document]) -> str:
    h = hashlib.sha256()
    for d in docs:
        h.update("\x1f".join((d.doc_id, d.lang, d.domain, d.kind, d.text)).encode() + b"\x1e")
    return h.hexdigest()


def test_existing_corpora_unchanged():
    for domain, digest in BEFORE.items():
        assert _digest(synth.generate(domain, 7, 50)) == digest
        assert synth.CORPORA[domain].domain == domain
        assert synth.CORPORA[domain].languages == synth.LANGS


def test_existing_generated_part_unchanged(tmp_path):
    out = generate_corpus("logistics", str(tmp_path), seed=2, documents=30, show_progress=False)
    assert [p.rsplit("/", 1)[-1] for p in out.parts] == ["logistics-00000.jsonl"]
    data = (tmp_path / "logistics-00000.jsonl").read_bytes()
    assert hashlib.sha256(data).hexdigest() == LOGISTICS_PART_BEFORE


def test_deterministic_by_seed():
    a = list(synth.generate(CORPUS, 5, 120))
    assert a == list(synth.generate(CORPUS, 5, 120))
    b = list(synth.generate(CORPUS, 6, 120))
    assert sum(x.text == y.text for x, y in zip(a, b, strict=True)) < 5


def test_languages_domain_kinds_and_marker():
    docs = list(synth.generate(CORPUS, 11, 700))
    assert len(docs) == 1400
    assert Counter(d.lang for d in docs) == {"en": 700, "zh-Hant": 700}
    assert {d.kind for d in docs} == set(bank_comms.KINDS) == {
        "account-email", "card-dispute", "loan-enquiry", "remittance-query",
        "complaint-letter", "rm-call-note", "secure-chat",
    }  # fmt: skip
    for d in docs:
        assert d.domain == "finance"
        assert re.fullmatch(rf"syn-{CORPUS}-11-\d{{7}}", d.doc_id)
        assert d.text.startswith(synth.SYNTHETIC_MARKER + " ")
        if d.lang == "en":
            assert not CJK.search(d.text), d.text
        else:
            assert len(CJK.findall(d.text)) > 20, d.text
    # a subset of languages is the matching part of the full output; absent ones are dropped
    hant = [d for d in docs if d.lang == "zh-Hant"]
    assert list(synth.generate(CORPUS, 11, 700, ["zh-Hant", "zh-Hans"])) == hant
    assert list(synth.generate(CORPUS, 11, 700, list(synth.LANGS))) == docs
    with pytest.raises(ValueError, match="languages"):
        list(synth.generate(CORPUS, 11, 5, ["zh-Hans"]))


@pytest.fixture()
def recorded(monkeypatch) -> dict[str, list[str]]:
    """Every identifier the generator draws, by PII type (wrapping the helpers it calls)."""
    seen: dict[str, list[str]] = {}

    def spy(module, name: str, kind: str, pick=lambda value: value) -> None:
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            value = real(*args, **kwargs)
            seen.setdefault(kind, []).append(pick(value))
            return value

        monkeypatch.setattr(module, name, wrapper)

    spy(bank_pii, "hkid", "hkid")
    spy(bank_pii, "hk_phone", "phone")
    spy(bank_pii, "email_address", "email")
    spy(bank_pii, "bank_email", "email")
    spy(bank_pii, "account_number", "bank_account")
    spy(bank_talk, "account_number", "bank_account")
    spy(bank_pii, "card_number", "card", pick=lambda value: value[1])
    return seen


def test_every_document_has_pii_that_is_found_and_masked(recorded):
    per_type: Counter[str] = Counter()
    docs = synth.generate(CORPUS, 3, 600)
    values: dict[str, list[str]] = {}
    last_id = None
    for doc in docs:
        if doc.doc_id != last_id:  # the kind function ran just before this doc was yielded
            values = {kind: list(v) for kind, v in recorded.items()}
            recorded.clear()
            last_id = doc.doc_id
        present = [(k, v) for k, vs in values.items() for v in vs if v in doc.text]
        assert present, doc.text
        result = pii.find_and_mask(doc.text, ALL_TYPES, mask=True)
        assert result.found, doc.text
        for kind, value in present:
            assert value not in result.text, (kind, value, result.text)
            # the value alone is detected as its own type, not as some other one
            assert pii.find_and_mask(value, ALL_TYPES, mask=True).text == f"<PII:{kind}>"
            per_type[kind] += 1
        # nothing else in the text is taken for PII: each finding is one generated value
        assert sum(result.found.values()) == sum(doc.text.count(v) for _, v in set(present))
    assert set(per_type) == {"hkid", "phone", "email", "bank_account", "card"}
    assert min(per_type.values()) > 50


def test_check_digits_agree_with_the_detector():
    rng = random.Random(0)
    for _ in range(3000):
        number = bank_pii.hkid(rng)
        assert pii._hkid_valid(number), number
        assert pii.DETECTORS["hkid"].pattern.fullmatch(number), number
        _scheme, card = bank_pii.card_number(rng)
        assert pii._luhn_valid(card), card
        assert bank_pii.luhn_ok(card)
        account = bank_pii.account_number(rng)
        assert pii.DETECTORS["bank_account"].pattern.fullmatch(account), account
        assert not pii._luhn_valid(account)  # so it is never masked as a card
        phone = bank_pii.hk_phone(rng)
        assert pii.DETECTORS["phone"].pattern.fullmatch(phone), phone
    # a wrong check character or digit is rejected by both sides
    assert bank_pii.hkid_check("A", "123456") == "3" and pii._hkid_valid("A123456(3)")
    assert not pii._hkid_valid("A123456(4)")
    assert bank_pii.luhn_digit("411111111111111") == "1"
    assert not bank_pii.luhn_ok("4111 1111 1111 1112")


def test_generate_corpus_writes_parts_in_two_languages(tmp_path):
    out = generate_corpus(CORPUS, str(tmp_path), seed=4, documents=20, show_progress=False)
    assert out.documents == 20 and out.parts
    assert [p.rsplit("/", 1)[-1] for p in out.parts] == ["hk-bank-comms-00000.jsonl"]
    rows = [json.loads(line) for line in (tmp_path / "hk-bank-comms-00000.jsonl").open()]
    assert len(rows) == 40
    assert Counter(r["lang"] for r in rows) == {"en": 20, "zh-Hant": 20}
    assert all(r["domain"] == "finance" and r["id"].startswith("syn-hk-bank-comms-") for r in rows)
    with pytest.raises(ValueError, match="unknown corpus"):
        generate_corpus("banking", str(tmp_path / "x"), seed=0, documents=1, show_progress=False)


def test_recipe_synthetic_source_selects_the_corpus():
    source = SyntheticSource(name="crm", corpus=CORPUS, card="hk-bank-comms", documents=10)
    records = list(read_source(source, seed=1))
    assert len(records) == 20  # the recipe's default language list, less zh-Hans
    assert all(r.doc_id.startswith("syn-hk-bank-comms-1-") and r.domain == "finance"
               for r in records)  # fmt: skip
    plain = SyntheticSource(name="fin", documents=10)
    assert plain.corpus is None
    assert [r.text for r in read_source(plain, seed=1)] == [
        d.text for d in synth.generate("finance", 1, 10)
    ]
