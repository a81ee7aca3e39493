"""Chat formatting for fine-tuning: the tokenizer's template, token ids plus a loss mask, and
packing.

The template is the base tokenizer's own `chat_template` when it has one (its ids and turn
markers are what the base learned); only a base without one gets ours (`CHAT_TEMPLATE`,
ChatML-style with `<|im_start|>` / `<|im_end|>`). It is stored with the tokenizer, so
`apply_chat_template` at eval / inference renders the exact strings training saw.

`encode_chat` works for any template: it renders the whole conversation once, finds each
assistant turn's characters by rendering prefixes (the text before turn i with a generation
prompt, the text through turn i), tokenizes the whole text with offsets and trains only the
tokens inside assistant turns: the content and the end-of-turn marker the template puts after
it (so the model learns to stop), never the formatting whitespace after that marker.

Packing puts several short examples in one `seq_len` row. Each example's position ids start
again at 0; transformers reads restarting position ids (with no attention mask) as packed
sequences and builds a block-diagonal causal mask, so no token attends across examples, and
the mask makes sure no example's first token is a target of the previous one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sovtrain.core.errors import DataError

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


def render_chat(messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    """What CHAT_TEMPLATE renders, without jinja (tests, and bases that use our template)."""
    text = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
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


def chat_tokenizer(tokenizer: Any) -> Any:
    """A transformers tokenizer with a chat template: a bare `tokenizers.Tokenizer` (our own
    BPE) is wrapped and given CHAT_TEMPLATE; a transformers one must already have one."""
    if getattr(tokenizer, "apply_chat_template", None) is None:
        from transformers import PreTrainedTokenizerFast

        tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokenizer)
        tokenizer.chat_template = CHAT_TEMPLATE
    if not tokenizer.chat_template:
        raise ValueError("the tokenizer has no chat_template")
    return tokenizer


def encode_chat(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """(token ids, loss mask) for a conversation, rendered with the tokenizer's template.

    The ids are those of the rendered text tokenized in one piece, as `apply_chat_template(
    tokenize=True)` would give (so a sentencepiece base gets no stray word-start markers at
    turn boundaries); a token is trained when its characters overlap an assistant span.
    """
    fast = chat_tokenizer(tokenizer)
    text = _render(fast, messages)
    spans = assistant_spans(fast, messages, text)
    encoding = fast.backend_tokenizer.encode(text, add_special_tokens=False)
    mask = [int(_trained(start, end, spans)) for start, end in encoding.offsets]
    return list(encoding.ids), mask


def _trained(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """A token is trained when its characters overlap an assistant span (a byte-level token
    holding part of one character shares that character's offsets)."""
    if end == start:  # zero-width (e.g. a prepended word-start marker): where it sits
        return any(s <= start < e for s, e in spans)
    return any(start < e and end > s for s, e in spans)


def assistant_spans(fast: Any, messages: list[dict[str, str]], text: str) -> list[tuple[int, int]]:
    """[start, end) characters of each assistant turn in `text`: from the end of the
    generation prompt before it to the end of its end-of-turn marker (trailing whitespace
    excluded). Needs a template that renders a conversation as the concatenation of its
    turns; one that rewrites earlier turns (or adds text only once a turn follows) cannot be
    masked this way, and is refused rather than trained on the wrong tokens."""
    spans = []
    for index, turn in enumerate(messages):
        if turn["role"] != "assistant":
            continue
        before = _render(fast, messages[:index], add_generation_prompt=True)
        through = _render(fast, messages[: index + 1])
        if not (
            text.startswith(before) and text.startswith(through) and through.startswith(before)
        ):
            raise DataError(
                f"the chat template renders turn {index + 1} differently once later turns "
                "follow (it does not render conversations turn by turn): cannot tell which "
                "tokens are the assistant's"
            )
        spans.append((len(before), len(through.rstrip())))
    return spans


def _render(fast: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    from jinja2 import TemplateError

    try:
        return fast.apply_chat_template(messages, tokenize=False,
                                        add_generation_prompt=add_generation_prompt)  # fmt: skip
    except TemplateError as err:  # the template's own raise_exception(), or a bad template
        raise DataError(f"the tokenizer's chat template fails on a conversation: {err}") from None


def stop_token_ids(fast: Any) -> list[int]:
    """Ids that end an answer: the template's end-of-turn marker (what follows an assistant
    turn's content when rendered) and the tokenizer's EOS, for `generate(eos_token_id=...)`."""
    fast = chat_tokenizer(fast)
    marker = "\u2063sovtrain-answer\u2063"
    messages = [{"role": "user", "content": "?"}, {"role": "assistant", "content": marker}]
    text = _render(fast, messages)
    after = text[text.index(marker) + len(marker) :].strip() if marker in text else ""
    ids = fast.backend_tokenizer.encode(after, add_special_tokens=False).ids[:1] if after else []
    if fast.eos_token_id is not None:
        ids.append(int(fast.eos_token_id))
    return list(dict.fromkeys(ids))


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
