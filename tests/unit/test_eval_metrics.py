"""Task metrics: normalisation, lenient JSON extraction, chrF on Chinese, perplexity."""

from __future__ import annotations

import math

import pytest

from sovtrain.eval import metrics


def test_exact_match_normalises_whitespace_and_width_but_not_case():
    assert metrics.exact_match("  Approved\n", "Approved") == 1.0
    assert metrics.exact_match("letter  of\tcredit", "letter of credit") == 1.0
    assert metrics.exact_match("ＵＳＤ１２３", "USD123") == 1.0  # fullwidth -> NFKC
    assert metrics.exact_match("approved", "Approved") == 0.0
    assert metrics.exact_match("", "") == 1.0
    assert metrics.exact_match("已批准", "已批准 ") == 1.0


def test_accuracy_is_the_mean_exact_match_and_checks_lengths():
    assert metrics.accuracy(["a", "b ", "c"], ["a", "b", "x"]) == pytest.approx(2 / 3)
    assert metrics.accuracy([], []) == 0.0
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        metrics.accuracy(["a", "b"], ["a"])


REF = {"currency": "HKD", "amount": "1,200,000", "counterparty": "恒達物流有限公司"}


def test_extraction_reads_json_inside_prose_and_code_fences():
    answer = (
        'Sure! Here are the fields:\n```json\n{"currency": "HKD", "amount": "1,200,000", '
        '"counterparty": "恒達物流有限公司"}\n```\nLet me know {if} you need more.'
    )
    assert metrics.extraction_scores(answer, REF) == {"exact_match": 1.0, "f1": 1.0}


def test_extraction_missing_and_extra_fields_lower_f1_and_fail_exact_match():
    missing = '{"currency": "HKD", "amount": "1,200,000"}'
    scores = metrics.extraction_scores(missing, REF)
    assert scores["exact_match"] == 0.0
    assert scores["f1"] == pytest.approx(2 * 1.0 * (2 / 3) / (1.0 + 2 / 3))
    extra = '{"currency": "HKD", "amount": "1,200,000", "counterparty": "恒達物流有限公司", "x": 1}'
    scores = metrics.extraction_scores(extra, REF)
    assert scores["exact_match"] == 0.0
    assert scores["f1"] == pytest.approx(2 * 0.75 * 1.0 / 1.75)
    wrong_value = '{"currency": "USD", "amount": "1,200,000", "counterparty": "恒達物流有限公司"}'
    assert metrics.extraction_scores(wrong_value, REF)["f1"] == pytest.approx(2 / 3)


def test_extraction_invalid_or_absent_json_scores_zero():
    zero = {"exact_match": 0.0, "f1": 0.0}
    assert metrics.extraction_scores("no json here", REF) == zero
    assert metrics.extraction_scores('{"currency": "HKD", amount: }', REF) == zero
    assert metrics.extraction_scores('["HKD", "1,200,000"]', REF) == zero
    assert metrics.extraction_scores('{"a": "b"}', REF) == zero


def test_extraction_skips_a_broken_brace_and_takes_the_first_object():
    text = 'Fields {currency} are: {"currency": "HKD"} and later {"currency": "USD"}'
    assert metrics.first_json_object(text) == {"currency": "HKD"}
    nested = 'x {"a": {"b": "}"}, "c": [1, 2]} y'
    assert metrics.first_json_object(nested) == {"a": {"b": "}"}, "c": [1, 2]}


def test_extraction_values_compare_as_normalised_text():
    assert metrics.extraction_scores('{"n": 1000}', {"n": "1000"})["exact_match"] == 1.0
    assert metrics.extraction_scores('{"n": " HKD  1 "}', {"n": "HKD 1"})["exact_match"] == 1.0
    assert metrics.extraction_scores('{"ok": true}', {"ok": True})["exact_match"] == 1.0
    assert metrics.extraction_scores("{}", {}) == {"exact_match": 1.0, "f1": 1.0}


def test_chrf_identical_chinese_is_100_and_unrelated_is_low():
    zh = ["本行於二零二六年批出信用證", "貨櫃已於葵涌碼頭卸貨"]
    assert metrics.chrf(zh, zh) == pytest.approx(100.0)
    assert metrics.chrf(["银行"], ["银行"]) == pytest.approx(100.0)  # shorter than n=6
    assert metrics.chrf(["完全不同的句子"], ["貨櫃已於葵涌碼頭卸貨"]) < 10.0
    partial = metrics.chrf(["本行於二零二六年批出"], ["本行於二零二六年批出信用證"])
    assert 30.0 < partial < 100.0


def test_chrf_edge_cases():
    assert metrics.chrf([], []) == 0.0
    assert metrics.chrf(["letter of credit"], ["letter of credit"]) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        metrics.chrf(["a"], [])


def test_perplexity():
    assert metrics.perplexity(0.0) == 1.0
    assert metrics.perplexity(math.log(512)) == pytest.approx(512)
    assert metrics.perplexity(1e6) == math.inf
    assert math.isnan(metrics.perplexity(math.nan))
