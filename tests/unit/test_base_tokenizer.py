"""Recipes with `model.init_from` tokenize with the base's tokenizer, unchanged.

Against `foreign_base` (a Qwen2 that sovtrain did not make: its own BPE, special tokens at
the top ids, a Qwen-style chat template with a default system prompt): pre-training shards
decode to the input text with the base's tokenizer, the copy next to the shards gives the
base's ids, fine-tuning keeps the base's template and trains exactly the assistant's tokens.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sovtrain.core.errors import DataError
from sovtrain.data import shards
from sovtrain.data.chat import CHAT_TEMPLATE, encode_chat
from sovtrain.data.loader import PackedDataset
from sovtrain.data.prepare import prepare, prepare_key
from sovtrain.data.tokenizer import base_digest
from sovtrain.recipe import load_recipe
from tests import foreign_base as fb
from tests.conftest import TINY_RECIPE, write_recipe

# cleaning that leaves the synthetic text byte for byte as written, so decoded shards can be
# compared with the input (NFKC would turn full-width punctuation into ASCII)
VERBATIM = {"nfkc": False, "normalize_whitespace": False, "near_dup": {"enabled": False},
            "pii": {"action": "keep"}, "min_chars": 1, "min_text_ratio": 0.0}  # fmt: skip
CHATS = [
    [{"role": "user", "content": "Classify: 貨物在葵涌碼頭被海關扣查。"},
     {"role": "assistant", "content": "customs-hold"}],
    [{"role": "system", "content": "你是一位雙語金融助理。"},
     {"role": "user", "content": "Translate: letter of credit"},
     {"role": "assistant", "content": "信用證"}],
    [{"role": "user", "content": "What is HIBOR?"},
     {"role": "assistant", "content": "The Hong Kong interbank offered rate."},
     {"role": "user", "content": "用中文說"},
     {"role": "assistant", "content": "香港銀行同業拆息。"}],
]  # fmt: skip


def _recipe(tmp: Path, base: Path, sources: list[dict], **sections: Any):
    """The tiny recipe on `base`: model is only init_from, no tokenizer section."""
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp / "run")
    recipe["model"] = {"init_from": str(base)}
    del recipe["tokenizer"]
    recipe["data"].update(sources=sources, cleaning=VERBATIM, heldout_fraction=0.2)
    for name, values in sections.items():
        recipe.setdefault(name, {}).update(values)
    return load_recipe(write_recipe(tmp / "recipe.yaml", recipe)).recipe


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _documents(shard_uri: str, split: str, eos: int) -> list[list[int]]:
    """Every whole document in the split's token stream, bucket by bucket (the stream starts
    at a document and its tail past the last EOS may be cut)."""
    dataset = PackedDataset(shard_uri, split)
    docs: list[list[int]] = []
    for start, end in dataset.buckets.values():
        stream = dataset.rows(np.arange(start, end)).reshape(-1).tolist()
        cuts = [i for i, token in enumerate(stream) if token == eos]
        docs += [stream[a + 1 : b] for a, b in zip([-1, *cuts[:-1]], cuts, strict=True)]
    return docs


def _auto(path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


@pytest.fixture(scope="module")
def pretrained(foreign_base, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cpt")
    texts = fb.texts(120, seed=3)
    source = {"kind": "files", "name": "fin", "domain": "finance",
              "card": "synthetic-finance-bilingual",
              "uri": str(_jsonl(tmp / "docs.jsonl", [{"text": t} for t in texts]))}  # fmt: skip
    recipe = _recipe(tmp, foreign_base, [source])
    return recipe, prepare(recipe, show_progress=False), texts


def test_pretraining_shards_are_the_base_tokenizers_ids(foreign_base, pretrained):
    _, prepared, texts = pretrained
    base = _auto(foreign_base)
    manifest = prepared.manifest
    assert manifest["eos_id"] == base.eos_token_id == base.convert_tokens_to_ids("<|endoftext|>")
    assert manifest["vocab_size"] == len(base) and manifest["fertility"] == {}
    docs = _documents(prepared.shards_uri, "train", base.eos_token_id)
    assert len(docs) > 50
    decoded = [base.decode(ids) for ids in docs]
    assert set(decoded) <= set(texts)  # every document decodes to an input text exactly
    assert all(base(text)["input_ids"] == ids for text, ids in zip(decoded, docs, strict=True))


def test_the_copied_tokenizer_is_the_base_tokenizer(foreign_base, pretrained):
    _, prepared, _ = pretrained
    described = fb.describe(foreign_base)
    copied, base = _auto(prepared.tokenizer_uri), _auto(foreign_base)
    assert [copied(p)["input_ids"] for p in fb.PROBES] == described["probes"]
    assert len(copied) == described["vocab"] and copied.get_vocab() == base.get_vocab()
    assert copied.eos_token == base.eos_token == "<|endoftext|>"
    assert copied.all_special_tokens == base.all_special_tokens
    assert copied.chat_template == described["chat_template"]  # kept, even when pre-training


def test_a_different_base_never_reuses_the_shards(foreign_base, pretrained, tmp_path):
    recipe, prepared, _ = pretrained
    assert prepare(recipe, show_progress=False).reused
    other = tmp_path / "other-base"
    shutil.copytree(foreign_base, other)
    (other / "chat_template.jinja").write_text(CHAT_TEMPLATE)  # same ids, another template
    assert base_digest(str(other)) != base_digest(str(foreign_base))
    assert prepared.manifest["prepare_key"] == prepare_key(recipe, base_digest(str(foreign_base)))
    assert prepare_key(recipe, base_digest(str(other))) != prepared.manifest["prepare_key"]


def test_a_base_without_eos_is_refused(foreign_base, tmp_path):
    from sovtrain.data.tokenizer import base_eos_id, load_hf

    fast = load_hf(str(foreign_base))
    fast.eos_token = None
    with pytest.raises(DataError, match=r"the base tokenizer at .* has no eos_token"):
        base_eos_id(fast, str(foreign_base))


# --- fine-tuning ----------------------------------------------------------------------------


def _sft(tmp: Path, base: Path):
    rows = [{"id": f"ex{i}", "messages": CHATS[i % len(CHATS)]} for i in range(60)]
    source = {"kind": "chat-files", "name": "chats", "domain": "finance",
              "card": "synthetic-finance-bilingual",
              "uri": str(_jsonl(tmp / "chats.jsonl", rows))}  # fmt: skip
    recipe = _recipe(tmp, base, [source], finetune={"packing": False, "eval_examples": 2},
                     train={"seq_len": 128})  # fmt: skip
    return prepare(recipe, show_progress=False)


def _rows(prepared) -> list[tuple[list[int], list[int]]]:
    """(ids, mask) of each unpacked row, padding cut off where positions restart."""
    dataset = PackedDataset(prepared.shards_uri, "train")
    out = []
    for row in dataset.rows(np.arange(len(dataset))):
        ids, mask, pos = row.reshape(3, -1).tolist()
        length = next((i for i in range(1, len(pos)) if pos[i] == 0), len(pos))
        out.append((ids[:length], mask[:length]))
    return out


def _trained_runs(ids: list[int], mask: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i, (token, m) in enumerate(zip(ids, mask, strict=True)):
        if m and (i == 0 or not mask[i - 1]):
            runs.append([])
        if m:
            runs[-1].append(token)
    return runs


def test_finetuning_keeps_the_base_template_and_masks_its_turns(foreign_base, tmp_path):
    prepared = _sft(tmp_path, foreign_base)
    base, copied = _auto(foreign_base), _auto(prepared.tokenizer_uri)
    assert copied.chat_template == base.chat_template == fb.CHAT_TEMPLATE
    assert prepared.manifest["chat_template"] == "base"
    rows = _rows(prepared)
    assert len(rows) > 20
    by_text = {base.apply_chat_template(c, tokenize=False): c for c in CHATS}
    for ids, mask in rows:
        text = base.decode(ids)
        chat = by_text[text]  # the base's own rendering (default system prompt included)
        assert ids == base(text, add_special_tokens=False)["input_ids"]
        expected = [t["content"] + "<|im_end|>" for t in chat if t["role"] == "assistant"]
        assert [base.decode(run) for run in _trained_runs(ids, mask)] == expected


def test_a_base_without_a_template_gets_chatml(foreign_base, tmp_path):
    bare = tmp_path / "bare-base"
    shutil.copytree(foreign_base, bare)
    (bare / "chat_template.jinja").unlink()
    assert not _auto(bare).chat_template
    prepared = _sft(tmp_path, bare)
    copied = _auto(prepared.tokenizer_uri)
    assert copied.chat_template == CHAT_TEMPLATE and prepared.manifest["chat_template"] == "chatml"
    for ids, mask in _rows(prepared):
        assert copied.decode(ids).startswith("<|im_start|>")  # no default system prompt
        runs = [copied.decode(run) for run in _trained_runs(ids, mask)]
        assert runs and all(run.endswith("<|im_end|>") for run in runs)


def test_a_base_without_template_or_chatml_tokens_is_refused(tmp_path):
    from sovtrain.data.sft import _copy_tokenizer

    base = _wordlevel_base(tmp_path / "plain", 300)
    with pytest.raises(DataError, match=r"no chat template and no <\|im_start\|> special token"):
        _copy_tokenizer(str(base), str(tmp_path / "tok"), ())


def test_general_path_matches_chatml_encoding_on_our_template():
    """With CHAT_TEMPLATE the template-driven encoding is the turn-by-turn one: ids equal
    the pieces tokenized one by one, the mask is the assistant content + <|im_end|>."""
    from sovtrain.data.chat import render_chat
    from sovtrain.data.tokenizer import train_bpe

    specials = ["<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"]
    tok = train_bpe([render_chat(c) for c in CHATS] * 40, 600, specials)
    for chat in CHATS:
        ids, mask = encode_chat(tok, chat)
        pieces = [p for t in chat for p in (f"<|im_start|>{t['role']}\n", t["content"],
                                            "<|im_end|>\n")]  # fmt: skip
        assert ids == [i for p in pieces for i in tok.encode(p, add_special_tokens=False).ids]
        runs = [tok.decode(r, skip_special_tokens=False) for r in _trained_runs(ids, mask)]
        assert runs == [t["content"] + "<|im_end|>" for t in chat if t["role"] == "assistant"]


# --- vocabularies above 65,536 ids --------------------------------------------------------


def _wordlevel_base(path: Path, vocab: int) -> Path:
    """An HF directory with a word-level tokenizer of `vocab` ids, EOS the highest."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {f"w{i}": i for i in range(vocab - 2)}
    words.update({"<unk>": vocab - 2, "<eos>": vocab - 1})
    core = Tokenizer(models.WordLevel(words, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="<eos>")
    path.mkdir(parents=True)
    fast.save_pretrained(path)
    # config.json only marks an HF directory for resolve_base; no model_type, since
    # transformers maps e.g. qwen2 to Qwen2Tokenizer, which would rebuild it as a BPE
    (path / "config.json").write_text(json.dumps({"vocab_size": vocab}))
    return path


def test_150k_vocabulary_round_trips_as_uint32(tmp_path):
    vocab = 150_000
    base = _wordlevel_base(tmp_path / "big-base", vocab)
    rng = np.random.default_rng(0)
    docs = [" ".join(f"w{i}" for i in rng.integers(60_000, vocab - 2, 12)) for _ in range(300)]
    source = {"kind": "files", "name": "words", "domain": "finance",
              "card": "synthetic-finance-bilingual",
              "uri": str(_jsonl(tmp_path / "docs.jsonl", [{"text": d} for d in docs]))}  # fmt: skip
    prepared = prepare(_recipe(tmp_path, base, [source]), show_progress=False)
    manifest = prepared.manifest
    assert manifest["dtype"] == "<u4" == shards.token_dtype(vocab).str
    assert shards.token_dtype(65_536).str == "<u2"
    assert manifest["eos_id"] == vocab - 1
    found = _documents(prepared.shards_uri, "train", vocab - 1)
    assert len(found) > 100 and max(max(d) for d in found) > 65_535
    copied = _auto(prepared.tokenizer_uri)
    assert {" ".join(copied.convert_ids_to_tokens(d)) for d in found} <= set(docs)


def test_eval_prompts_and_stops_follow_the_tokenizers_template(foreign_base):
    """`sovtrain eval` asks with the saved tokenizer's template and stops at its end-of-turn
    marker (here <|im_end|>) or EOS."""
    import torch
    from transformers import AutoModelForCausalLM

    from sovtrain.data.chat import stop_token_ids
    from sovtrain.eval.runner import generate

    base = _auto(foreign_base)
    stop = stop_token_ids(base)
    assert stop == [base.convert_tokens_to_ids("<|im_end|>"), base.eos_token_id]
    model = AutoModelForCausalLM.from_pretrained(str(foreign_base), dtype=torch.float32).eval()
    prompt = CHATS[0][:-1]
    answer = generate(model, base, prompt, stop, max_new_tokens=4)
    rendered = base.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    ids = torch.tensor([base(rendered, add_special_tokens=False)["input_ids"]])
    out = model.generate(input_ids=ids, max_new_tokens=4, do_sample=False, eos_token_id=stop,
                         pad_token_id=base.pad_token_id)  # fmt: skip
    assert answer == base.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()
