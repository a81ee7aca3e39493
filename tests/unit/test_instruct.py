"""Synthetic instruction (SFT) chats: determinism, coverage, answer formats that score exactly,
scripts of translations, length budget and the JSON-lines round trip."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter

import pytest

from sovtrain.data.clean.text import detect_language
from sovtrain_synth import LANGS, SYNTHETIC_MARKER
from sovtrain_synth.instructions import (
    ALL_TASKS,
    KITS,
    ChatExample,
    generate_sft,
    to_record,
    write_sft_jsonl,
)
from sovtrain_synth.lexicon.hanzi import T2S

DOMAINS = tuple(KITS)
# Characters the package's own Traditional -> Simplified map changes.
TRADITIONAL_ONLY = {t for t, s in T2S.items() if t != s}
# Identifiers an explanation must copy from its document, never invent: container numbers,
# account numbers and loan numbers.
IDENTIFIER = re.compile(r"\b[A-Z]{4}\d{7}\b|\b\d{3}-\d{6}-\d{3}\b|\b[A-Z]{2}\d{8}\b")


@pytest.fixture(scope="module")
def examples() -> dict[str, list[ChatExample]]:
    return {domain: list(generate_sft(domain, 7, 600)) for domain in DOMAINS}


def _user(example: ChatExample) -> str:
    return example.messages[1]["content"]


def _answer(example: ChatExample) -> str:
    return example.messages[-1]["content"]


def test_same_seed_same_output_and_different_seed_differs():
    for domain in DOMAINS:
        a = list(generate_sft(domain, 5, 150))
        assert a == list(generate_sft(domain, 5, 150))
        b = list(generate_sft(domain, 6, 150))
        assert sum(x.messages == y.messages for x, y in zip(a, b, strict=True)) < 5
        # a longer run starts with the shorter one
        assert list(generate_sft(domain, 5, 300))[:150] == a


def test_every_task_and_language_appears_in_200_examples():
    for domain in DOMAINS:
        batch = list(generate_sft(domain, 1, 200))
        counts = Counter((ex.task, ex.lang) for ex in batch)
        assert set(counts) == {(t, lang) for t in ALL_TASKS for lang in LANGS}
        assert max(counts.values()) - min(counts.values()) <= 1  # dealt in balanced blocks


def test_ids_and_metadata(examples):
    for domain, batch in examples.items():
        ids = [ex.example_id for ex in batch]
        assert ids == [f"sft-{domain}-7-{n:07d}" for n in range(len(batch))]
        for ex in batch:
            assert ex.domain == domain and ex.task in ALL_TASKS and ex.lang in LANGS


def test_messages_alternate_and_end_with_the_assistant(examples):
    for batch in examples.values():
        for ex in batch:
            roles = [m["role"] for m in ex.messages]
            assert roles[-1] == "assistant"
            turns = roles[1:] if roles[0] == "system" else roles
            assert turns == ["user", "assistant"] * (len(turns) // 2)
            assert all(isinstance(m["content"], str) and m["content"].strip()
                       for m in ex.messages)  # fmt: skip
            assert set(ex.messages[0]) == {"role", "content"}


def test_system_prompt_and_instruction_are_in_the_answer_language(examples):
    for batch in examples.values():
        for ex in batch:
            assert detect_language(ex.messages[0]["content"]) == ex.lang
            if ex.task in ("explain", "translate"):
                assert detect_language(_answer(ex)) == ex.lang


def test_simplified_examples_contain_no_traditional_characters(examples):
    for batch in examples.values():
        for ex in (e for e in batch if e.lang == "zh-Hans"):
            texts = [m["content"] for m in ex.messages]
            if ex.task == "translate":  # the user turn holds the English source
                texts.remove(_user(ex))
            for text in texts:
                assert not set(text) & TRADITIONAL_ONLY, text


def test_documents_carry_the_synthetic_marker(examples):
    for batch in examples.values():
        for ex in batch:
            if ex.task != "translate":
                assert SYNTHETIC_MARKER in _user(ex)


def test_classify_answers_are_exactly_one_allowed_label(examples):
    for domain, batch in examples.items():
        labels = KITS[domain].labels
        seen = Counter()
        for ex in (e for e in batch if e.task == "classify"):
            assert ex.reference["labels"] == list(labels)
            assert _answer(ex) == ex.reference["label"] and _answer(ex) in labels
            assert all(label in _user(ex) for label in labels)  # the options are offered
            seen[_answer(ex)] += 1
        assert set(seen) == set(labels)


def test_extract_answers_are_json_equal_to_the_reference_and_copied_verbatim(examples):
    for batch in examples.values():
        extracts = [e for e in batch if e.task == "extract"]
        assert extracts
        for ex in extracts:
            fields = json.loads(_answer(ex))
            assert fields == ex.reference["fields"]
            assert 2 <= len(fields) <= 4
            for key, value in fields.items():
                assert re.fullmatch(r"[a-z_]+", key)  # English keys in every language
                assert key in _user(ex)  # asked for by name
                assert isinstance(value, str) and value and value in _user(ex)


def test_translations_go_both_ways_in_the_right_scripts(examples):
    for batch in examples.values():
        directions = set()
        for ex in (e for e in batch if e.task == "translate"):
            ref = ex.reference
            source, target = ref["source_lang"], ref["target_lang"]
            directions.add((source, target))
            assert target == ex.lang and ref["text"] == _answer(ex) and ref["text"].strip()
            assert detect_language(ref["text"]) == target
            source_text = _user(ex).split("\n", 1)[1]
            assert detect_language(source_text) == source
            if target == "zh-Hant":
                assert set(ref["text"]) & TRADITIONAL_ONLY
            if target == "zh-Hans":
                assert not set(ref["text"]) & TRADITIONAL_ONLY
        assert directions == {("en", "zh-Hant"), ("zh-Hant", "en"), ("en", "zh-Hans"),
                              ("zh-Hans", "en")}  # fmt: skip


def test_explanations_copy_identifiers_from_the_document(examples):
    checked = 0
    for batch in examples.values():
        for ex in (e for e in batch if e.task == "explain"):
            assert ex.reference == {"text": _answer(ex)}
            for ident in IDENTIFIER.findall(_answer(ex)):
                assert ident in _user(ex)
                checked += 1
    assert checked > 20


def test_examples_are_short_on_average(examples):
    for batch in examples.values():
        sizes = [sum(len(m["content"]) for m in ex.messages) for ex in batch]
        assert statistics.mean(sizes) < 400
        assert sum(size > 600 for size in sizes) / len(sizes) < 0.1
        assert max(sizes) < 900


def test_output_varies_broadly(examples):
    for batch in examples.values():
        users = [_user(ex) for ex in batch]
        assert len(set(users)) > 0.97 * len(users)
        explains = [_answer(ex) for ex in batch if ex.task == "explain"]
        assert len(set(explains)) == len(explains)


def test_subsets_of_tasks_and_languages():
    only = list(generate_sft("finance", 3, 40, tasks=("classify",), languages=("zh-Hant",)))
    assert {(ex.task, ex.lang) for ex in only} == {("classify", "zh-Hant")}
    pair = list(generate_sft("logistics", 3, 80, tasks=("translate",), languages=("en", "zh-Hant")))
    assert {ex.lang for ex in pair} == {"en", "zh-Hant"}
    assert {ex.reference["source_lang"] for ex in pair} == {"en", "zh-Hant"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"domain": "hk-bank-comms"},
        {"domain": "finance", "tasks": ("chat",)},
        {"domain": "finance", "tasks": ()},
        {"domain": "finance", "languages": ("fr",)},
    ],
)
def test_rejects_unknown_domain_task_or_language(kwargs):
    with pytest.raises(ValueError):
        list(generate_sft(seed=1, examples=3, **kwargs))


def test_write_sft_jsonl_round_trip(tmp_path):
    batch = list(generate_sft("logistics", 2, 36))
    out = tmp_path / "sft" / "train.jsonl"
    assert write_sft_jsonl(batch, str(out)) == len(batch)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(batch)
    for line, ex in zip(lines, batch, strict=True):
        row = json.loads(line)
        assert set(row) == {"id", "domain", "task", "lang", "messages", "reference"}
        assert row == to_record(ex)
        assert row["id"] == ex.example_id and row["messages"] == ex.messages
    assert "\\u" not in out.read_text(encoding="utf-8")  # Chinese stays readable
    assert write_sft_jsonl([], str(tmp_path / "empty.jsonl")) == 0
    assert (tmp_path / "empty.jsonl").read_text() == ""
