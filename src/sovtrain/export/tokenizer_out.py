"""The exported tokenizer and the special ids that config.json and generation_config.json
take from it.

Why the tokenizer next to the prepared shards: it is the one the data was tokenized with,
so its ids are the ids the weights learned. For a run from an open-weight base that is the
base's own tokenizer, chat template included, and it is shipped unchanged; a sovtrain-made
tokenizer without a template gets the ChatML template training used.

Why the end-of-turn token is read off the chat template: a chat model stops at the token
that closes an assistant turn (`<|im_end|>` for ChatML, `<|eot_id|>` for Llama 3,
`<end_of_turn>` for Gemma), which is often not the tokenizer's eos. Rendering a probe
conversation and looking at what follows the assistant's text finds it for any template.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sovtrain import storage

log = logging.getLogger(__name__)
_PURPOSE = "export"
_PROBE = "sovtrainprobe"  # assistant content that no template rewrites or merges
_IDS = ("bos_token_id", "eos_token_id", "pad_token_id")


def export_tokenizer(tok_uri: str, out: Path, scratch: Path, lineage: tuple[str, ...]) -> Any:
    """Copy the run's tokenizer into `out`, giving it the ChatML template training used if it
    has none (a base's own template is kept as it is)."""
    from transformers import AutoTokenizer

    from sovtrain.data.chat import CHAT_TEMPLATE, IM_END, IM_START

    raw = scratch / "tokenizer"
    storage.get_dir(tok_uri, raw, purpose=_PURPOSE, lineage=lineage)
    tokenizer = AutoTokenizer.from_pretrained(str(raw))
    if not tokenizer.chat_template and {IM_START, IM_END} <= set(tokenizer.get_vocab()):
        tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(out))
    return tokenizer


def end_of_turn_id(tokenizer: Any) -> int | None:
    """The special token the chat template puts right after an assistant's text, if any."""
    if not tokenizer.chat_template:
        return None
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": _PROBE}]
    try:
        text = tokenizer.apply_chat_template(chat, tokenize=False)
    except Exception as err:  # jinja raises several types; templates may raise_exception
        log.info("chat template does not render a probe conversation (%s)", err)
        return None
    if not isinstance(text, str) or _PROBE not in text:
        return None
    tail = text.split(_PROBE, 1)[1].lstrip()
    ids = tokenizer(tail, add_special_tokens=False)["input_ids"] if tail else []
    return ids[0] if ids and _is_special(tokenizer, ids[0]) else None


def _is_special(tokenizer: Any, token_id: int) -> bool:
    if token_id in set(tokenizer.all_special_ids):
        return True
    added = tokenizer.added_tokens_decoder.get(token_id)
    return bool(added is not None and added.special)


def generation_ids(tokenizer: Any, config: Any = None) -> dict[str, Any]:
    """bos/eos/pad for generation: the tokenizer's eos, then the end-of-turn token so chat
    generation stops at the end of the assistant's turn; pad falls back to the eos, bos to
    the config's (Qwen-style tokenizers declare none)."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    turn = end_of_turn_id(tokenizer)
    if turn is not None and turn not in eos:
        eos.append(turn)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos or [None])[0]
    bos = tokenizer.bos_token_id
    if bos is None:
        bos = getattr(config, "bos_token_id", None)
    return {"bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad}


def apply_config_ids(config: Any, tokenizer: Any) -> None:
    """Set config.json's bos/eos/pad from the tokenizer where it has them, else keep the
    config's own (a base's bos stays when its tokenizer declares none); an eos list that
    already holds the tokenizer's eos (Llama 3 style) is kept whole."""
    for name in _IDS:
        value = getattr(tokenizer, name)
        if value is None:
            continue
        current = getattr(config, name, None)
        if name == "eos_token_id" and isinstance(current, list) and value in current:
            continue
        setattr(config, name, value)
