"""The synthetic bilingual corpus generator: determinism, parallel renderings, scripts, breadth."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

import sovtrain_synth as synth
from sovtrain_synth.lexicon import companies, hanzi, names, places
from sovtrain_synth.lexicon.common import table

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
TRADITIONAL_ONLY = "們國銀貨運證發區與會"
SIMPLIFIED_FORMS = "们国银货运证发区与会"
# English legal suffixes that end a generated company name.
COMPANY_EN = re.compile(
    r"(?:[A-Z][\w'&.-]*\s){1,5}(?:Holdings|Group|Limited|International|Industries|Enterprises|"
    r"Corporation|Co\., Ltd\.)"
)
HK_PERSON_EN = re.compile(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)? [A-Z][a-z]+-[a-z]+\b")


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[synth.Document]]:
    return {domain: list(synth.generate(domain, 11, 2000)) for domain in synth.DOMAINS}


def test_same_seed_same_output_and_different_seed_differs():
    for domain in synth.DOMAINS:
        a = list(synth.generate(domain, 5, 150))
        assert a == list(synth.generate(domain, 5, 150))
        b = list(synth.generate(domain, 6, 150))
        assert [d.text for d in a] != [d.text for d in b]
        assert sum(x.text == y.text for x, y in zip(a, b, strict=True)) < 10


def test_language_subset_matches_full_output():
    full = [d for d in synth.generate("logistics", 3, 60) if d.lang == "zh-Hant"]
    assert full == list(synth.generate("logistics", 3, 60, ["zh-Hant"]))


def test_parallel_renderings_share_doc_id_and_marker(corpus):
    for domain, docs in corpus.items():
        by_id: dict[str, dict[str, synth.Document]] = defaultdict(dict)
        for d in docs:
            assert d.text.startswith(synth.SYNTHETIC_MARKER + " ")
            assert d.domain == domain and d.kind in synth.DOMAINS[domain]
            assert re.fullmatch(rf"syn-{domain}-11-\d{{7}}", d.doc_id)
            by_id[d.doc_id][d.lang] = d
        assert len(by_id) == 2000
        for renders in by_id.values():
            assert set(renders) == set(synth.LANGS)
            assert len({r.kind for r in renders.values()}) == 1
        assert {d.kind for d in docs} == set(synth.DOMAINS[domain])  # every kind is produced


def test_scripts_english_has_no_cjk_and_chinese_has_cjk(corpus):
    for docs in corpus.values():
        for d in docs:
            if d.lang == "en":
                assert not CJK.search(d.text), d.text
            else:
                assert len(CJK.findall(d.text)) > 20, d.text


def test_traditional_and_simplified_differ(corpus):
    both_hant = both_hans = ""
    for docs in corpus.values():
        hant = "".join(d.text for d in docs if d.lang == "zh-Hant")
        hans = "".join(d.text for d in docs if d.lang == "zh-Hans")
        both_hant, both_hans = both_hant + hant, both_hans + hans
        assert sum(c in hant for c in TRADITIONAL_ONLY) >= 7
        assert sum(c in hans for c in SIMPLIFIED_FORMS) >= 7
        assert not any(c in hans for c in TRADITIONAL_ONLY)
        pairs = {}
        for d in docs:
            pairs.setdefault(d.doc_id, {})[d.lang] = d.text
        same = sum(p["zh-Hant"] == p["zh-Hans"] for p in pairs.values())
        assert same == 0
    assert all(c in both_hant for c in TRADITIONAL_ONLY)
    assert all(c in both_hans for c in SIMPLIFIED_FORMS)


def test_simplified_strings_contain_no_mapped_traditional_characters(corpus):
    traditional = set(hanzi.T2S)
    for docs in corpus.values():
        for d in docs:
            if d.lang == "zh-Hans":
                assert not traditional & set(d.text), d.text


def test_vocabulary_breadth(corpus):
    en = "\n".join(d.text for docs in corpus.values() for d in docs if d.lang == "en")
    hant = "\n".join(d.text for docs in corpus.values() for d in docs if d.lang == "zh-Hant")
    assert len(set(COMPANY_EN.findall(en))) > 2000
    assert len(set(HK_PERSON_EN.findall(en))) > 600
    places_seen = {p for p in places.ALL_PLACE_NAMES if p[1] in hant}
    assert len(places_seen) > 200
    assert len({s[0] for s in names.SURNAMES if s[0] in hant}) > 90
    assert len(set(re.findall(r"[A-Za-z][A-Za-z'-]+", en))) > 2500
    assert len(set(CJK.findall(hant))) > 1200
    for docs in corpus.values():  # numbers vary too
        assert len(set(re.findall(r"\d[\d,]*\.\d+", " ".join(d.text for d in docs)))) > 1000


def test_entities_are_parallel():
    import random

    rng = random.Random(0)
    for _ in range(300):
        full, short = companies.company(rng)
        assert all(s in x for s, x in zip(short, full, strict=True))
        assert not CJK.search(full[0]) and CJK.search(full[1]) and CJK.search(full[2])
        person = names.person(rng)
        assert not CJK.search(person[0]) and CJK.search(person[1])


def test_tables_parse_and_derive_simplified():
    rows = table("Hong Kong|香港\nbonded warehouse|保稅倉庫\ncontainer|貨櫃|集装箱")
    assert rows == [
        ("Hong Kong", "香港", "香港"),
        ("bonded warehouse", "保稅倉庫", "保税仓库"),
        ("container", "貨櫃", "集装箱"),
    ]
    with pytest.raises(ValueError):
        table("only english")
