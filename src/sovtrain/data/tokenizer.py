"""Byte-level BPE tokenizer trained on the run's own corpus (no hub download).

Byte-level means every string round-trips exactly, whatever its script or emoji. The tokenizer
is saved in Hugging Face format so `AutoTokenizer.from_pretrained(dir)` loads it, and its
digest (sha256 of tokenizer.json) pins which shards it produced.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from sovtrain import storage
from sovtrain.hashing import sha256_file

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"
_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def train_bpe(texts: Iterable[str], vocab_size: int, special_tokens: list[str]) -> Tokenizer:
    """Train a byte-level BPE with the special tokens at the lowest ids."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def save_hf(tokenizer: Tokenizer, uri: str, special_tokens: list[str]) -> str:
    """Save as a Hugging Face tokenizer directory at `uri`; return its digest."""
    from transformers import PreTrainedTokenizerFast

    extra = [t for t in special_tokens if t not in (EOS_TOKEN, PAD_TOKEN)]
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS_TOKEN,
        bos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN if PAD_TOKEN in special_tokens else EOS_TOKEN,
        additional_special_tokens=extra,
    )
    with tempfile.TemporaryDirectory() as tmp:
        fast.save_pretrained(tmp)
        storage.put_dir(Path(tmp), uri, purpose="tokenizer")
        return sha256_file(Path(tmp) / "tokenizer.json")


def load_hf(uri: str):  # -> PreTrainedTokenizerFast
    """Load the tokenizer directory at `uri` (fetched through storage when remote)."""
    from transformers import AutoTokenizer

    with storage.local_dir(uri, purpose="tokenizer") as local:
        return AutoTokenizer.from_pretrained(str(local))


def tokenizer_digest(uri: str) -> str:
    data = storage.read_bytes(storage.join(uri, "tokenizer.json"), purpose="tokenizer")
    return hashlib.sha256(data).hexdigest()
