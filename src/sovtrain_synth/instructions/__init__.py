"""Deterministic synthetic instruction-tuning (SFT) chats for a bilingual finance / logistics
assistant: explain, classify, extract and translate, in English, Traditional and Simplified
Chinese.

Why synthetic and templated: the answers must be *checkable*. Classification answers are a
label from a fixed set of English slugs (the same in every language, so scoring is exact
match); extraction answers are JSON whose values occur verbatim in the document (exact match
and field F1 need no normalisation of dates or amounts); translation references are the
generator's own parallel renderings; explanations restate the document's facts. A model that
gets these right has learnt the format and the facts, not the style of one annotator.

Everything derives from `(domain, seed)` through `random.Random(f"sft:{domain}:{seed}")`
(never the global generator or `hash()`), so the same call yields identical examples on any
machine. Task and language are dealt in shuffled blocks of every (task, language) pair, so
even a few hundred examples cover every combination evenly. Documents in the prompts carry
`SYNTHETIC_MARKER`; every company, person, account and number in them is fictional.

Examples are short (system prompt, one user turn, one answer: a few hundred characters) so
that they fit 256-token training sequences.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sovtrain import storage
from sovtrain_synth import LANGS, SYNTHETIC_MARKER
from sovtrain_synth.instructions.common import LANG_COLUMN, DomainKit
from sovtrain_synth.instructions.fin_tasks import FINANCE
from sovtrain_synth.instructions.log_tasks import LOGISTICS
from sovtrain_synth.lexicon.common import Triple, pick

ALL_TASKS = ("explain", "classify", "extract", "translate")
KITS: dict[str, DomainKit] = {"finance": FINANCE, "logistics": LOGISTICS}

SYSTEM: dict[str, list[Triple]] = {
    "finance": [
        ("You are a bilingual finance assistant.", "你是一位雙語金融助理。",
         "你是一位双语金融助理。"),
        ("You are a helpful assistant for banking and trade finance.",
         "你是協助處理銀行及貿易融資事務的助理。", "你是协助处理银行及贸易融资业务的助理。"),
    ],
    "logistics": [
        ("You are a bilingual logistics assistant.", "你是一位雙語物流助理。",
         "你是一位双语物流助理。"),
        ("You are a helpful assistant for shipping and customs matters.",
         "你是協助處理航運及報關事務的助理。", "你是协助处理航运及报关事务的助理。"),
    ],
}  # fmt: skip
EXPLAIN_ASK: list[Triple] = [
    ("Explain the following in two or three sentences.", "請用兩三句話解釋以下內容。",
     "请用两三句话解释以下内容。"),
    ("What does this mean? Please explain briefly.", "這是甚麼意思？請簡單說明。",
     "这是什么意思？请简单说明。"),
    ("Summarise this for a client in 2-3 sentences.", "請用兩至三句向客戶說明以下內容。",
     "请用两到三句话向客户说明以下内容。"),
]  # fmt: skip
CLASSIFY_ASK: list[Triple] = [
    ("Classify this message as one of: {labels}. Reply with the label only.",
     "請把以下訊息歸入其中一類：{labels}。只需回覆類別標籤。",
     "请把以下消息归入其中一类：{labels}。只需回复类别标签。"),
    ("Which category fits this message? Options: {labels}. Answer with one label.",
     "這則訊息屬於哪一類？選項：{labels}。請只回答一個標籤。",
     "这条消息属于哪一类？选项：{labels}。请只回答一个标签。"),
]  # fmt: skip
EXTRACT_ASK: list[Triple] = [
    ("Extract these fields as JSON: {keys}. Copy each value exactly as written.",
     "請擷取以下欄位，以JSON回覆：{keys}。數值須與原文完全相同。",
     "请提取以下字段，以JSON回复：{keys}。数值须与原文完全一致。"),
    ("Return a JSON object with the keys {keys}, values copied verbatim from the document.",
     "請以JSON物件列出{keys}，數值照錄原文。", "请以JSON对象列出{keys}，数值照录原文。"),
]  # fmt: skip
# Asked in the answer's (target) language, which is what the user expects back.
TRANSLATE_ASK: dict[str, list[str]] = {
    "en": ["Translate into English:", "Translate the following into English.",
           "Please translate this {source} text into English."],
    "zh-Hant": ["請譯成繁體中文：", "請將以下內容翻譯成繁體中文。", "翻譯成中文（繁體）："],
    "zh-Hans": ["请译成简体中文：", "请将以下内容翻译成简体中文。", "翻译成中文（简体）："],
}  # fmt: skip
SOURCE_NAME = {"zh-Hant": "Traditional Chinese", "zh-Hans": "Simplified Chinese"}


@dataclass(frozen=True)
class ChatExample:
    """One chat for fine-tuning or evaluation, with the gold data its answer is scored on.

    `lang` is the language of the assistant's answer (for translation, the target language).
    `reference` by task: classify `{"label", "labels"}`, extract `{"fields"}`, translate
    `{"text", "source_lang", "target_lang"}`, explain `{"text"}`.
    """

    example_id: str
    domain: str
    task: str
    lang: str
    messages: list[dict[str, str]]
    reference: dict[str, Any]


def _check(domain: str, tasks: tuple[str, ...], languages: tuple[str, ...]) -> None:
    if domain not in KITS:
        raise ValueError(f"unknown SFT domain {domain!r}; expected one of {sorted(KITS)}")
    bad_tasks = [t for t in tasks if t not in ALL_TASKS]
    if not tasks or bad_tasks:
        raise ValueError(f"tasks must be a non-empty subset of {ALL_TASKS}, got {tasks}")
    bad_langs = [lang for lang in languages if lang not in LANGS]
    if not languages or bad_langs:
        raise ValueError(f"languages must be a non-empty subset of {LANGS}, got {languages}")


def generate_sft(
    domain: str,
    seed: int,
    examples: int,
    tasks: tuple[str, ...] = ALL_TASKS,
    languages: tuple[str, ...] = LANGS,
) -> Iterator[ChatExample]:
    """Yield `examples` chats for `domain`, identical for the same arguments on any machine.

    (task, language) pairs are dealt from shuffled blocks holding every pair once, so the
    mix is balanced at any length rather than only in expectation.
    """
    tasks, languages = tuple(dict.fromkeys(tasks)), tuple(dict.fromkeys(languages))
    _check(domain, tasks, languages)
    kit = KITS[domain]
    rng = random.Random(f"sft:{domain}:{seed}")
    pairs = [(task, lang) for task in tasks for lang in languages]
    block: list[tuple[str, str]] = []
    for number in range(examples):
        if not block:
            block = rng.sample(pairs, len(pairs))
        task, lang = block.pop()
        user, answer, reference = _BUILDERS[task](rng, kit, lang, languages)
        system = pick(rng, SYSTEM[domain])[LANG_COLUMN[lang]]
        yield ChatExample(
            example_id=f"sft-{domain}-{seed}-{number:07d}",
            domain=domain,
            task=task,
            lang=lang,
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": user},
                {"role": "assistant", "content": answer},
            ],
            reference=reference,
        )


Built = tuple[str, str, dict[str, Any]]  # (user message, assistant answer, reference)


def _ask_about(rng: random.Random, ask: str, document: str) -> str:
    """The instruction before the (marked) document, or now and then after it."""
    marked = f"{SYNTHETIC_MARKER} {document}"
    return f"{marked}\n\n{ask}" if rng.random() < 0.2 else f"{ask}\n\n{marked}"


def _explain(rng: random.Random, kit: DomainKit, lang: str, _langs: tuple[str, ...]) -> Built:
    col = LANG_COLUMN[lang]
    item = kit.explain(rng)
    answer = item.answer[col]
    return (
        _ask_about(rng, pick(rng, EXPLAIN_ASK)[col], item.document[col]),
        answer,
        {"text": answer},
    )


def _classify(rng: random.Random, kit: DomainKit, lang: str, _langs: tuple[str, ...]) -> Built:
    col = LANG_COLUMN[lang]
    item = kit.classify(rng)
    shown = ", ".join(rng.sample(kit.labels, len(kit.labels)))
    ask = pick(rng, CLASSIFY_ASK)[col].format(labels=shown)
    reference = {"label": item.label, "labels": list(kit.labels)}
    return _ask_about(rng, ask, item.message[col]), item.label, reference


def _extract(rng: random.Random, kit: DomainKit, lang: str, _langs: tuple[str, ...]) -> Built:
    col = LANG_COLUMN[lang]
    item = kit.extract(rng)
    fields = {key: value[col] for key, value in item.fields}
    ask = pick(rng, EXTRACT_ASK)[col].format(keys=", ".join(fields))
    answer = json.dumps(fields, ensure_ascii=False)
    return _ask_about(rng, ask, item.document[col]), answer, {"fields": fields}


def _translate(rng: random.Random, kit: DomainKit, lang: str, langs: tuple[str, ...]) -> Built:
    """EN -> zh (Traditional or Simplified) or zh -> EN; the source is a requested language
    where possible, so an EN + zh-Hant run translates between exactly those two."""
    if lang == "en":
        sources = [x for x in langs if x != "en"] or ["zh-Hant", "zh-Hans"]
        source = pick(rng, sources)
    else:
        source = "en"
    text = kit.clause(rng)
    ask = pick(rng, TRANSLATE_ASK[lang]).format(source=SOURCE_NAME.get(source, "English"))
    target = text[LANG_COLUMN[lang]]
    user = f"{ask}\n{text[LANG_COLUMN[source]]}"
    return user, target, {"text": target, "source_lang": source, "target_lang": lang}


_BUILDERS = {
    "explain": _explain,
    "classify": _classify,
    "extract": _extract,
    "translate": _translate,
}


def to_record(example: ChatExample) -> dict[str, Any]:
    """The JSON-lines form read by `chat-files` sources and `sovtrain eval`."""
    return {
        "id": example.example_id,
        "domain": example.domain,
        "task": example.task,
        "lang": example.lang,
        "messages": example.messages,
        "reference": example.reference,
    }


def write_sft_jsonl(
    examples: Iterable[ChatExample], out_uri: str, lineage: tuple[str, ...] = ()
) -> int:
    """Write one JSON object per line through `sovtrain.storage` (atomically, as raw data,
    so residency guards see it); returns the number of examples written."""
    rows = [json.dumps(to_record(ex), ensure_ascii=False) for ex in examples]
    text = "\n".join(rows) + ("\n" if rows else "")
    storage.write_text_atomic(out_uri, text, purpose="raw-data", lineage=lineage)
    return len(rows)
