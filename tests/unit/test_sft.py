"""Fine-tuning mechanics on hand-built examples: loss masking, packing without leakage, LoRA."""

from __future__ import annotations

import math

import pytest
import torch

from sovtrain.data.chat import CHAT_TEMPLATE, RowPacker, encode_chat, render_chat
from sovtrain.data.tokenizer import train_bpe
from sovtrain.model.build import build_model
from sovtrain.model.converters import apply_lora
from sovtrain.recipe.schema import LoraSection, ModelSection

SPECIALS = ["<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"]
CHAT = [
    {"role": "system", "content": "You are a bilingual finance assistant."},
    {"role": "user", "content": "Classify: 貨物在葵涌碼頭被海關扣查。"},
    {"role": "assistant", "content": "customs-hold"},
]
OTHER = [
    {"role": "user", "content": "Translate: letter of credit"},
    {"role": "assistant", "content": "信用證"},
]


@pytest.fixture(scope="module")
def tok():
    texts = [render_chat(CHAT), render_chat(OTHER), "The quick brown fox 恒生指數 信用證"] * 50
    return train_bpe(texts, 400, SPECIALS)


@pytest.fixture(scope="module")
def model():
    section = ModelSection(arch="llama", config={
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 64, "vocab_size": 400,
        "max_position_embeddings": 128,
    })  # fmt: skip
    return build_model(section, 400, seed=3).eval()


def test_only_assistant_tokens_carry_loss(tok, model):
    ids, mask = encode_chat(tok, CHAT)
    assert tok.decode([i for i, m in zip(ids, mask, strict=True) if m], skip_special_tokens=False
                      ) == "customs-hold<|im_end|>"  # fmt: skip
    assert tok.decode(ids, skip_special_tokens=False) == render_chat(CHAT)
    # the loss the trainer computes (labels = ids where mask, else -100) equals a
    # hand-computed cross entropy over exactly the assistant positions
    inputs = torch.tensor([ids])
    labels = inputs.masked_fill(torch.tensor([mask]) == 0, -100)
    with torch.no_grad():
        out = model(input_ids=inputs, labels=labels, use_cache=False)
        logp = torch.log_softmax(out.logits[0].float(), dim=-1)
    targets = [t for t in range(1, len(ids)) if mask[t]]
    manual = -sum(logp[t - 1, ids[t]].item() for t in targets) / len(targets)
    assert math.isclose(out.loss.item(), manual, rel_tol=1e-5)


def test_chat_template_renders_what_training_saw(tok):
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    assert fast.apply_chat_template(CHAT, tokenize=False) == render_chat(CHAT)
    prompt = fast.apply_chat_template(CHAT[:-1], tokenize=False, add_generation_prompt=True)
    assert prompt == render_chat(CHAT[:-1], add_generation_prompt=True)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_example_sees_nothing_of_its_neighbour(tok, model, attn):
    model.config._attn_implementation = attn
    first, second = encode_chat(tok, CHAT), encode_chat(tok, OTHER)
    packer = RowPacker(seq_len=len(first[0]) + len(second[0]) + 5, pad_id=1)
    assert not list(packer.add(*first)) and not list(packer.add(*second))
    (row,) = list(packer.close())
    ids, mask, pos = (torch.from_numpy(row[i]).unsqueeze(0) for i in range(3))
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=pos, use_cache=False).logits[0]
        alone = model(input_ids=torch.tensor([second[0]]), use_cache=False).logits[0]
    start = len(first[0])
    assert torch.allclose(packed[start : start + len(second[0])], alone, atol=1e-5)
    assert int(mask[0, start]) == 0  # the next example's first token is never a target
    # the same row without restarting positions would leak: the test can fail
    with torch.no_grad():
        leaky = model(input_ids=ids, use_cache=False).logits[0]
    assert not torch.allclose(leaky[start : start + len(second[0])], alone, atol=1e-3)


def test_lora_trains_only_adapter_weights(model):
    import copy

    from sovtrain.recipe.schema import OptimizerSection
    from sovtrain.train.optim import build_optimizer

    peft_model = apply_lora(copy.deepcopy(model).train(), LoraSection(r=4, alpha=8, dropout=0.0))
    before = {k: v.clone() for k, v in peft_model.state_dict().items()}
    optimizer = build_optimizer(peft_model, OptimizerSection(lr=1e-2), torch.device("cpu"))
    ids = torch.randint(4, 400, (2, 16))
    for _ in range(2):
        peft_model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    changed = {k for k, v in peft_model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all("lora_" in k for k in changed)
    assert any("lora_A" in k for k in changed) and any("lora_B" in k for k in changed)
