"""Chat formatting for fine-tuning: one template, token ids plus a loss mask, and packing.

The template is ChatML-style with our special tokens (`<|im_start|>`, `<|im_end|>`); it is
stored with the tokenizer (`chat_template`) so `apply_chat_template` at inference renders the
exact strings training saw. `encode_chat` tokenizes turn by turn, so it knows which tokens
are the assistant's: only those (and the `<|im_end|>` that closes each assistant turn, so
the model learns to stop) carry loss.

Packing puts several short examples in one `seq_len` row. Each example's position ids start
again at 0; transformers reads restarting position ids (with no attention mask) as packed
sequences and builds a block-diagonal causal mask, so no token attends across examples, and
the mask makes sure no example's first token is a target of the previous one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
ROLES = ("system", "user", "assistant")
# Jinja for transformers' apply_chat_template: byte-for-byte what render_chat produces.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CHANNELS = 3  # a packed row stores token ids, loss mask and position ids


def render_turn(role: str, content: str) -> tuple[str, str, str]:
    """(prefix, content, suffix) of one turn; only an assistant's content+suffix is trained."""
    return f"{IM_START}{role}\n", content, f"{IM_END}\n"


def render_chat(messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    text = "".join("".join(render_turn(m["role"], m["content"])) for m in messages)
    return text + (f"{IM_START}assistant\n" if add_generation_prompt else "")


def validate_messages(messages: object, where: str) -> list[dict[str, str]]:
    """A list of {role, content} turns ending with the assistant's; else ValueError."""
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{where}: messages must be a non-empty list")
    for turn in messages:
        if not isinstance(turn, dict) or turn.get("role") not in ROLES:
            raise ValueError(f"{where}: each message needs a role in {ROLES}")
        if not isinstance(turn.get("content"), str):
            raise ValueError(f"{where}: each message needs a string content")
    if messages[-1]["role"] != "assistant":
        raise ValueError(f"{where}: the last message must be the assistant's answer")
    return messages


def encode_chat(tokenizer, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """(token ids, loss mask) for a conversation, with a `tokenizers.Tokenizer`."""
    ids: list[int] = []
    mask: list[int] = []
    for turn in messages:
        prefix, content, suffix = render_turn(turn["role"], turn["content"])
        trained = 1 if turn["role"] == "assistant" else 0
        for piece, weight in ((prefix, 0), (content, trained), (suffix, trained)):
            piece_ids = tokenizer.encode(piece, add_special_tokens=False).ids
            ids.extend(piece_ids)
            mask.extend([weight] * len(piece_ids))
    # the "\n" after <|im_end|> is formatting, not something to predict
    if mask and messages[-1]["role"] == "assistant":
        mask[-1] = 0
    return ids, mask


@dataclass
class RowPacker:
    """Greedy first-fit-in-order packing of examples into fixed rows of [ids, mask, pos]."""

    seq_len: int
    pad_id: int
    pack: bool = True
    truncated: int = 0
    dropped: int = 0
    _ids: list[int] = field(default_factory=list)
    _mask: list[int] = field(default_factory=list)
    _pos: list[int] = field(default_factory=list)

    def add(self, ids: list[int], mask: list[int]) -> Iterator[np.ndarray]:
        """Add one example; yield every row it completes."""
        if len(ids) > self.seq_len:
            ids, mask = ids[: self.seq_len], mask[: self.seq_len]
            self.truncated += 1
            if not any(mask):  # the answer was cut off entirely: nothing to learn from it
                self.dropped += 1
                return
        if self._ids and (not self.pack or len(self._ids) + len(ids) > self.seq_len):
            yield self._flush()
        self._ids += ids
        self._mask += mask
        self._pos += list(range(len(ids)))

    def close(self) -> Iterator[np.ndarray]:
        if self._ids:
            yield self._flush()

    def _flush(self) -> np.ndarray:
        pad = self.seq_len - len(self._ids)
        row = np.zeros((CHANNELS, self.seq_len), dtype=np.int64)
        row[0] = self._ids + [self.pad_id] * pad
        row[1] = self._mask + [0] * pad
        row[2] = self._pos + list(range(pad))  # padding is one more "example", never trained
        self._ids, self._mask, self._pos = [], [], []
        return row
