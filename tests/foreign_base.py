"""A base model that sovtrain did not make, built the way a user's open-weight base is.

A tiny Qwen2 with its own byte-level BPE (special tokens at the *top* of the vocabulary, the
way Qwen's are, so no id agrees with a sovtrain tokenizer's), a Qwen-style chat template
with a default system prompt, bf16-free fp32 weights saved as several safetensors shards with
an index, trained for a few hundred steps with plain PyTorch + transformers on generated
bilingual finance text. Nothing here imports sovtrain's model, data or train code: the
point is a base from outside.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

import sovtrain_synth as synth  # text generator only (no tokenizer, no model code)

VOCAB = 3000
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CONFIG = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
    "tie_word_embeddings": False,
    "rope_theta": 10000.0,
}
PROBES = [
    "The bank's net interest margin widened to 1.8% in Hong Kong.",
    "滙豐控股公佈中期業績，股息維持不變。",
    "港口吞吐量按年上升百分之五。",
    "客户经理建议分散投资以控制风险。",
]


def texts(count: int, seed: int = 0) -> list[str]:
    docs = synth.generate("finance", seed, count, ["en", "zh-Hant", "zh-Hans"])
    return [d.text for d in docs]


def train_tokenizer(corpus: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB - len(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    tokenizer.add_special_tokens(SPECIALS)  # appended: the highest ids, as in Qwen
    return tokenizer


def build(out: Path, steps: int = 300, seq_len: int = 64, seed: int = 0) -> Path:
    """Train and save the base at `out` (an HF directory); returns `out`."""
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    corpus = texts(400, seed)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=train_tokenizer(corpus),
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS[1:],
    )
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(fast), eos_token_id=fast.eos_token_id,
                         bos_token_id=None, **CONFIG)  # fmt: skip
    model = Qwen2ForCausalLM(config)
    ids = torch.tensor(
        [i for text in corpus for i in fast(text)["input_ids"] + [fast.eos_token_id]]
    )
    rows = ids[: len(ids) // seq_len * seq_len].view(-1, seq_len)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = rows[torch.randint(len(rows), (16,), generator=generator)]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, max_shard_size="200KB")  # several shards + an index
    fast.save_pretrained(out)
    assert len(list(out.glob("model-*.safetensors"))) > 1, "expected a sharded base"
    return out


def heldout_loss(base: Path, rows: list[list[int]]) -> float:
    """Mean next-token loss of the base over `rows`, counted by transformers itself."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for row in rows:
            batch = torch.tensor([row])
            loss = model(input_ids=batch, labels=batch).loss
            total += float(loss) * (len(row) - 1)
            count += len(row) - 1
    return total / count


def describe(base: Path) -> dict:
    """What a test compares against: vocabulary size and the ids of the probe strings."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    return {
        "vocab": len(tok),
        "probes": [tok(p)["input_ids"] for p in PROBES],
        "chat_template": tok.chat_template,
        "config": json.loads((base / "config.json").read_text()),
        "ln_vocab": math.log(len(tok)),
    }
