"""Tokenizers: a byte-level BPE trained on the run's own corpus (no hub download), or the
base model's, unchanged, when the recipe has `model.init_from`.

Byte-level means every string round-trips exactly, whatever its script or emoji. The tokenizer
is saved in Hugging Face format so `AutoTokenizer.from_pretrained(dir)` loads it, and its
digest (sha256 of tokenizer.json) pins which shards it produced.

A base's tokenizer is never retrained or extended: its ids are what the base's embeddings
mean, so a new vocabulary would silently turn the base into a random-init model.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.core.hashing import sha256_file

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"
_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# Everything that decides a base tokenizer's ids, special tokens and chat template.
BASE_FILES = (
    *_FILES, "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model",
    "spiece.model", "vocab.txt", "chat_template.jinja", "chat_template.json",
)  # fmt: skip


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


def base_digest(uri: str) -> str:
    """sha256 over the base's tokenizer files (name and bytes): part of the prepared-data
    key, so shards made with one base are never reused for another, nor after the base's
    vocabulary, special tokens or chat template change."""
    present = set(storage.listdir(uri, purpose="tokenizer"))
    names = [name for name in BASE_FILES if name in present]
    if not any(name in present for name in ("tokenizer.json", "tokenizer_config.json")):
        raise DataError(
            f"model.init_from: no tokenizer at {uri} (no tokenizer.json or tokenizer_config."
            "json): save the base's tokenizer next to it (AutoTokenizer.save_pretrained)"
        )
    digest = hashlib.sha256()
    for name in names:
        data = storage.read_bytes(storage.join(uri, name), purpose="tokenizer")
        digest.update(f"{name}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


def copy_base(
    fast: Any, uri: str, lineage: tuple[str, ...], chat_template: str | None = None
) -> str:
    """Save the base tokenizer `fast` (from `load_hf(base)`) at `uri` with its ids, special
    tokens and chat template as they are; `chat_template` is set only when the base has
    none (fine-tuning needs one). Returns the digest of the saved tokenizer.json."""
    if chat_template is not None and not fast.chat_template:
        fast.chat_template = chat_template
    with tempfile.TemporaryDirectory() as tmp:
        fast.save_pretrained(tmp)
        storage.put_dir(Path(tmp), uri, purpose="tokenizer", lineage=lineage)
        return sha256_file(Path(tmp) / "tokenizer.json")


def base_eos_id(fast: Any, uri: str) -> int:
    """The base's own end-of-text id, which ends every packed document: pre-training on
    documents joined by another token would teach the base a boundary it never uses."""
    if fast.eos_token is None or fast.eos_token_id is None:
        raise DataError(
            f"the base tokenizer at {uri} has no eos_token (tokenizer_config.json): packed "
            "documents need one to end them; set the base's eos_token"
        )
    return int(fast.eos_token_id)
