"""Cleaning stages on crafted inputs: scripts, languages, PII of each type, duplicates."""

from __future__ import annotations

import pytest

from sovtrain.data.clean import Cleaner, Record, cleaning_digest
from sovtrain.data.clean.dedup import NearDedup
from sovtrain.data.clean.pii import find_and_mask
from sovtrain.data.clean.text import convert_script, detect_language, nfkc, normalize_whitespace
from sovtrain.recipe.schema import CleaningSection

ALL_PII = ("email", "hkid", "prc_id", "card", "bank_account", "phone")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The Hang Seng Index rose 1.2% on stronger export orders.", "en"),
        ("恒生指數上升1.2%，主要受出口訂單增加帶動，銀行股領漲。", "zh-Hant"),
        ("恒生指数上升1.2%，主要受出口订单增加带动，银行股领涨。", "zh-Hans"),
        ("Board meeting notes 董事會會議紀錄: the bank 銀行 approved the loan facility "
         "貸款安排 for the shipping group 航運集團 under the trade finance programme.", "mixed"),
        ("12345 67890 !!! ---", "other"),
    ],
)  # fmt: skip
def test_language_and_script_detection(text, label):
    assert detect_language(text) == label


def test_normalisation_and_script_policy():
    assert nfkc("ＨＫＤ１２３") == "HKD123"
    assert normalize_whitespace("  a \t b\u3000c \n\n\n\n d  ") == "a b c\n\nd"
    assert convert_script("汇丰银行的集装箱运输", "zh-Hant-HK") == "滙豐銀行的集裝箱運輸"
    assert convert_script("滙豐銀行的貨櫃運輸", "zh-Hans") == "汇丰银行的货柜运输"
    assert convert_script("anything 銀行", "keep") == "anything 銀行"


PII_SAMPLES = {
    "email": "Contact chan.taiman@example.com.hk today",
    "hkid": "HKID A123456(3) on file",
    "prc_id": "身份证号 11010519491231002X 已核实",
    "card": "Card 4111 1111 1111 1111 was charged",
    "bank_account": "Account 004-123456-001 at the branch",
    "phone": "Call +852 9123 4567 or 13812345678",
}


@pytest.mark.parametrize("kind", sorted(PII_SAMPLES))
def test_each_pii_type_is_found_and_masked(kind):
    result = find_and_mask(PII_SAMPLES[kind], ALL_PII, mask=True)
    assert result.found.get(kind, 0) >= 1, result
    assert f"<PII:{kind}>" in result.text
    assert set(result.found) == {kind}  # no other detector fired on it


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("請電郵至chan.tm@example.hk查詢", "請電郵至<PII:email>查詢"),  # CJK on both sides
        ("致電+852-9123-4567。", "致電<PII:phone>。"),  # dashes: a phone, not an account
    ],
)
def test_pii_in_running_chinese_text(text, masked):
    assert find_and_mask(text, ALL_PII, mask=True).text == masked


@pytest.mark.parametrize(
    "text",
    [
        "HKID A123456(4) has a wrong check digit",
        "ID 110105194912310021 fails its checksum",
        "Invoice 4111 1111 1111 1112 fails Luhn",
        "Revenue rose 12.5% to HKD 3,456,789 in 2024",
        "Container MSCU1234567 arrived on 2024-03-05",
    ],
)
def test_lookalikes_are_not_pii(text):
    assert find_and_mask(text, ALL_PII, mask=True).found == {}


def _cleaner(**changes) -> Cleaner:
    return Cleaner(CleaningSection.model_validate(changes))


def _rec(i: int, text: str) -> Record:
    return Record(doc_id=f"d{i}", source="test", domain="finance", text=text)


BASE = ("Harbour Light Holdings reported revenue of HKD 812.5 million for the year, up 4.2%, "
        "and proposed a final dividend of HKD 0.35 per share. ")  # fmt: skip


def test_pipeline_counts_every_stage_and_drops_what_it_should():
    docs = [
        _rec(0, BASE * 3),
        _rec(1, (BASE * 3).upper()),  # exact duplicate after case-folding
        _rec(2, BASE * 3 + "Minor addendum."),  # near duplicate
        _rec(3, "too short"),
        _rec(4, "@@@@ #### $$$$ %%%% ^^^^ &&&& **** (((( )))) ____ ++++ ==== ~~~~"),
        _rec(5, "恒生指數上升1.2%，主要受出口訂單增加帶動，銀行股領漲。聯絡 chan@example.com"),
    ]
    cleaner = _cleaner(min_chars=20)
    kept = list(cleaner(docs))
    assert [r.doc_id for r in kept] == ["d0", "d5"]
    assert kept[1].lang == "zh-Hant" and "<PII:email>" in kept[1].text
    stages = {s["stage"]: s for s in cleaner.report.as_dict()["stages"]}
    assert list(stages) == ["normalize", "script", "language", "length", "quality", "pii",
                            "exact_dedup", "near_dedup"]  # fmt: skip
    assert stages["normalize"]["docs_in"] == 6
    assert stages["length"]["docs_in"] - stages["length"]["docs_out"] == 1
    assert stages["quality"]["docs_in"] - stages["quality"]["docs_out"] == 1
    assert stages["exact_dedup"]["docs_in"] - stages["exact_dedup"]["docs_out"] == 1
    assert stages["near_dedup"]["docs_out"] == 2
    assert cleaner.report.pii_found == {"email": 1}
    for count in stages.values():
        assert count["chars_out"] <= count["chars_in"] or count["docs_out"] == count["docs_in"]


def test_pii_drop_and_keep_actions():
    doc = [_rec(0, BASE + PII_SAMPLES["hkid"])]
    assert list(_cleaner(pii={"action": "drop"})(doc)) == []
    kept = list(_cleaner(pii={"action": "keep"})(doc))
    assert "A123456(3)" in kept[0].text


def test_language_filter_and_script_conversion_in_pipeline():
    docs = [_rec(0, "恒生指数上升1.2%，主要受出口订单增加带动，银行股领涨。"), _rec(1, BASE)]
    kept = list(_cleaner(script="zh-Hant-HK", languages=["zh-Hant"])(docs))
    assert [r.doc_id for r in kept] == ["d0"] and "銀行" in kept[0].text


def test_near_dedup_threshold_behaviour():
    near = NearDedup(threshold=0.8, num_perm=64, ngram=5)
    assert not near.is_duplicate(BASE * 4)
    assert near.is_duplicate(BASE * 4 + " tiny change")
    assert not near.is_duplicate("A completely different sentence about container ports " * 4)


def test_cleaning_digest_tracks_config():
    assert cleaning_digest(CleaningSection()) == cleaning_digest(CleaningSection())
    assert cleaning_digest(CleaningSection()) != cleaning_digest(CleaningSection(min_chars=5))


def test_parallel_cleaning_equals_serial():
    docs = [_rec(i, BASE * (1 + i % 3) + f" item {i % 7}") for i in range(60)]
    docs += [_rec(100, PII_SAMPLES["card"] + " " + BASE)]
    serial, parallel = _cleaner(), _cleaner()
    expected = list(serial(docs))
    assert list(parallel.parallel(docs, workers=2, chunk=16)) == expected
    assert parallel.report.as_dict() == serial.report.as_dict()


def test_parallel_cleaning_reads_its_input_lazily():
    """A corpus larger than memory must not be drained into the worker pool's queue."""
    consumed = 0

    def endless():
        nonlocal consumed
        for i in range(100_000):
            consumed += 1
            yield _rec(i, BASE + f" item {i}")

    cleaner = _cleaner()
    stream = cleaner.parallel(endless(), workers=2, chunk=16)
    next(stream)
    assert consumed <= 16 * (2 * 2 + 1)
    stream.close()
