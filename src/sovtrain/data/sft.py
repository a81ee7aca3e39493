"""`data prepare` for fine-tuning recipes: chat examples -> packed [ids, mask, position] rows.

The tokenizer is the base model's, copied next to the shards unchanged: same ids, same special
tokens, and its own chat template when it has one (only a base without one gets ours,
`chat.CHAT_TEMPLATE`), so ids mean what the base learned and eval / export render prompts the
way training did. Held-out examples (by example id) become the
`heldout` split for eval loss, and a per-task sample of them is kept as `sft_eval.jsonl`
(messages + reference answers) for the task metrics of `sovtrain eval`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.core.generators import generators
from sovtrain.data import deid, shards, tokenizer
from sovtrain.data.chat import (
    CHANNELS,
    CHAT_TEMPLATE,
    IM_END,
    IM_START,
    RowPacker,
    encode_chat,
    validate_messages,
)
from sovtrain.data.prepared import PreparedData, merge_counts, prepared_locations, reusable_manifest
from sovtrain.data.sources import BadRow, check_card_domains, expand, json_row
from sovtrain.data.spool import is_heldout
from sovtrain.recipe.schema import ChatFilesSource, Recipe, SyntheticChatSource

log = logging.getLogger(__name__)
FORMAT_VERSION = 2  # 2: masks from the tokenizer's own template (the base's, or ChatML)
EVAL_FILE = "sft_eval.jsonl"


@dataclass(frozen=True)
class ChatRecord:
    example_id: str
    source: str
    domain: str
    task: str
    lang: str
    messages: list[dict[str, str]]
    reference: dict[str, Any]


def read_chat_source(
    source: SyntheticChatSource | ChatFilesSource, seed: int
) -> Iterator[ChatRecord]:
    if isinstance(source, SyntheticChatSource):
        kit = generators.chat_kit(source.domain)
        examples = kit.generate(seed, source.examples, tuple(source.tasks), tuple(source.languages))
        for ex in examples:
            yield ChatRecord(ex.example_id, source.name, ex.domain, ex.task, ex.lang,
                             ex.messages, ex.reference)  # fmt: skip
        return
    count = 0
    for uri in expand(source.uri):
        with storage.open_uri(uri, "rb", purpose="raw-data", lineage=(source.card,)) as handle:
            for number, line in enumerate(handle):
                if not line.strip():
                    continue
                if source.max_examples is not None and count >= source.max_examples:
                    return
                row = json_row(line, uri, number)
                where = f"{uri} line {number + 1}"
                if isinstance(row, BadRow):  # bad bytes or JSON: named, never a traceback
                    raise DataError(f"data.sources {source.name!r}: {where}: {row.problem}")
                try:
                    messages = validate_messages(row.get(source.messages_field), where)
                except ValueError as err:
                    raise DataError(str(err)) from None
                count += 1
                yield ChatRecord(str(row.get("id", f"{source.name}:{number}")), source.name,
                                 source.domain, str(row.get("task", "chat")),
                                 str(row.get("lang", "und")), messages,
                                 row.get("reference", {}))  # fmt: skip


def sft_key(recipe: Recipe, tokenizer_digest: str) -> str:
    """Digest of every input that changes the chat shards; `tokenizer_digest` is the base
    tokenizer's (`tokenizer.base_digest`: vocabulary, special tokens and chat template)."""
    material = {
        "format": FORMAT_VERSION,
        "seed": recipe.run.seed,
        "seq_len": recipe.train.seq_len,
        "data": recipe.data.model_dump(mode="json", exclude={"prepared_uri", "workers"}),
        "finetune": recipe.finetune.model_dump(mode="json") if recipe.finetune else None,
        "tokenizer": tokenizer_digest,
        "template": CHAT_TEMPLATE,
        "inputs": {  # an edited input file means a rebuild
            s.name: [storage.fingerprint(u, purpose="raw-data") for u in expand(s.uri)]
            for s in recipe.data.sources
            if isinstance(s, ChatFilesSource)
        },
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def prepare_sft(
    recipe: Recipe, base_tokenizer_uri: str, show_progress: bool = True,
    base_lineage: tuple[str, ...] = (),
):  # fmt: skip
    """Build (or reuse) the chat shards and the copy of the base tokenizer they use.

    `base_lineage`: the cards the base was trained on; its tokenizer copy derives from them
    (a run's tokenizer was trained on its data), so its write carries them."""
    assert recipe.finetune is not None
    check_card_domains(recipe.data.sources)
    tok_uri, shard_uri = prepared_locations(recipe)
    key = sft_key(recipe, tokenizer.base_digest(base_tokenizer_uri))
    existing = reusable_manifest(shard_uri, key)
    if existing is not None:
        log.info("prepared chat data at %s is up to date", shard_uri)
        return PreparedData(tok_uri, shard_uri, existing, shards.manifest_digest(shard_uri), True)
    lineage = tuple(sorted({source.card for source in recipe.data.sources}))
    fast, tok_digest = _copy_tokenizer(base_tokenizer_uri, tok_uri,
                                       tuple(sorted({*lineage, *base_lineage})))  # fmt: skip
    pad_id = _pad_id(fast)
    vocab_size = fast.backend_tokenizer.get_vocab_size()
    dtype = shards.token_dtype(vocab_size)
    slots = _Slots(shard_uri, recipe, pad_id, dtype, lineage)
    eval_rows: list[dict[str, Any]] = []
    per_task: dict[str, int] = {}
    for source in recipe.data.sources:
        for record in read_chat_source(source, recipe.run.seed):  # type: ignore[arg-type]
            heldout = is_heldout(record.example_id, recipe.data.heldout_fraction)
            if heldout and per_task.get(record.task, 0) < recipe.finetune.eval_examples:
                per_task[record.task] = per_task.get(record.task, 0) + 1
                eval_rows.append(record.__dict__)
            ids, mask = _encode(fast, record)
            slots.add("heldout" if heldout else "train", record, ids, mask)
    writers, truncated = slots.close()
    storage.write_text_atomic(
        storage.join(recipe.data.prepared_uri, EVAL_FILE),
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in eval_rows),
        purpose="shards", lineage=lineage,
    )  # fmt: skip
    manifest = {
        "prepare_key": key,
        "format": f"chat-{FORMAT_VERSION}",
        "seq_len": recipe.train.seq_len,
        "channels": CHANNELS,
        "dtype": dtype.str,
        "vocab_size": vocab_size,
        "pad_id": pad_id,
        "tokenizer_digest": tok_digest,
        "chat_template": "base" if fast.chat_template != CHAT_TEMPLATE else "chatml",
        "sources": [source.model_dump(mode="json") for source in recipe.data.sources],
        "truncated_examples": truncated,
        "shards": [s for slot in sorted(writers) for s in writers[slot].close()],
    }
    manifest["counts"] = merge_counts(writers)
    for split in shards.SPLITS:
        if shards.summarize(manifest["shards"], split) == 0:
            raise DataError(f"the {split} split has no chat rows: add examples or raise "
                            "data.heldout_fraction")  # fmt: skip
    manifest["deidentification"] = deid.scan_shards(  # channel 0 decoded, as prepare does
        shard_uri, manifest, tokenizer.load_hf(tok_uri), recipe.data.cleaning.pii.action,
        show_progress,
    )  # fmt: skip
    digest = shards.write_manifest(shard_uri, manifest, lineage)
    return PreparedData(tok_uri, shard_uri, manifest, digest, False)


class _Slots:
    """One packer + shard writer per (split, domain/language), counting what each row holds."""

    def __init__(self, uri: str, recipe: Recipe, pad_id: int, dtype, lineage) -> None:
        self.uri, self.recipe, self.pad_id, self.dtype, self.lineage = (
            uri, recipe, pad_id, dtype, lineage,
        )  # fmt: skip
        self.writers: dict[tuple[str, str], shards.ShardWriter] = {}
        self.packers: dict[tuple[str, str], RowPacker] = {}
        self.pending: dict[tuple[str, str], dict[str, Any]] = {}  # what an open row holds

    def add(self, split: str, record: ChatRecord, ids: list[int], mask: list[int]) -> None:
        slot = (split, f"{record.domain}/{record.lang}")
        if slot not in self.writers:
            seq_len = self.recipe.train.seq_len
            self.writers[slot] = shards.ShardWriter(
                self.uri, split, slot[1], seq_len * CHANNELS, self.dtype,
                self.recipe.data.shard_sequences, self.lineage,
            )  # fmt: skip
            packing = self.recipe.finetune.packing if self.recipe.finetune else True
            self.packers[slot] = RowPacker(seq_len, self.pad_id, packing)
        self._emit(slot, self.packers[slot].add(ids, mask))
        held = self.pending.setdefault(slot, {"source": record.source, "count": 0, "tokens": 0})
        held["count"] += 1
        held["tokens"] += sum(mask[: self.recipe.train.seq_len])  # trained tokens

    def _emit(self, slot: tuple[str, str], rows: Iterator) -> None:
        for row in rows:
            held = self.pending.pop(slot)
            lang = slot[1].split("/", 1)[1]
            self.writers[slot].add_row(row, held["source"], lang, held["count"], held["tokens"])

    def close(self) -> tuple[dict[tuple[str, str], shards.ShardWriter], int]:
        for slot, packer in self.packers.items():
            self._emit(slot, packer.close())
        truncated = sum(p.truncated for p in self.packers.values())
        dropped = sum(p.dropped for p in self.packers.values())
        if dropped:
            log.warning("%d example(s) longer than train.seq_len lost their whole answer: "
                        "dropped (raise train.seq_len)", dropped)  # fmt: skip
        return self.writers, truncated


def _copy_tokenizer(base_uri: str, tok_uri: str, lineage: tuple[str, ...]) -> tuple[Any, str]:
    """The base tokenizer, saved next to the shards with its own chat template, or with ours
    when it has none (then it needs our turn markers as special tokens, or every turn would
    be spelled out in ordinary sub-word pieces). Returns it and its tokenizer.json digest."""
    fast = tokenizer.load_hf(base_uri)
    if not fast.chat_template:
        for token in (IM_START, IM_END):
            if fast.convert_tokens_to_ids(token) in (None, fast.unk_token_id):
                raise DataError(
                    f"the base tokenizer at {base_uri} has no chat template and no {token} "
                    "special token, which our chat format (ChatML) needs: use a base with a "
                    "chat template, or pre-train with tokenizer.special_tokens including it"
                )
    return fast, tokenizer.copy_base(fast, tok_uri, lineage, chat_template=CHAT_TEMPLATE)


def _pad_id(fast: Any) -> int:
    """Padding only fills a row's tail (never trained, never attended across), so any real
    id works: the tokenizer's pad token, else its EOS, else 0."""
    for candidate in (fast.pad_token_id, fast.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def _encode(fast: Any, record: ChatRecord) -> tuple[list[int], list[int]]:
    """encode_chat, with a failing template named by the example it failed on."""
    try:
        return encode_chat(fast, record.messages)
    except DataError as err:
        raise DataError(f"data.sources {record.source!r} example {record.example_id}: {err}"
                        ) from None  # fmt: skip
