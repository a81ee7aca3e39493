"""`train.cross_entropy: chunked`: a causal LM whose forward, given labels, returns the loss
of `model.loss.chunked_cross_entropy` and no logits.

Why the forward itself (an instance attribute, as Liger-Kernel patches a model class): every
caller keeps calling `model(input_ids=..., labels=...)`. The DeepSpeed engine's forward
wraps that call (its backward hooks, autocast), peft's LoRA model calls the base's
`forward` with its adapters in place in the backbone, eval calls it the same way, so train,
eval and the "base's loss at step 0" all go through one path. Nothing else about the
model changes: the class, the parameters and the state dict are the base's.

Where the chunked loss cannot reproduce the class's own forward the call falls back to it,
with one info line per model: an architecture not known to end in a plain `lm_head` matmul
(softcapping, logit scales), an LM head wrapped by LoRA, ZeRO-3 (a partitioned LM head
weight would have to be gathered outside its module's hooks), `logits_to_keep`,
`shift_labels`, tuple outputs.
"""

from __future__ import annotations

import functools
import logging
import types
from typing import Any

import torch
from transformers.modeling_outputs import CausalLMOutputWithPast

from sovtrain.model.loss import chunked_cross_entropy

log = logging.getLogger(__name__)

# architectures whose CausalLM forward is exactly `backbone -> lm_head -> ForCausalLMLoss`
# (checked against transformers 5; Gemma 2/3 softcap the logits, Cohere scales them)
CHUNKABLE = frozenset({"llama", "mistral", "qwen2", "qwen3", "gemma", "phi3", "olmo2"})
_NOTED = "_sovtrain_full_ce_noted"


def use_chunked_loss(model: torch.nn.Module) -> torch.nn.Module:
    """Give `model` (a transformers CausalLM) the chunked loss; unknown archs keep theirs."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in CHUNKABLE:
        log.info("train.cross_entropy chunked: %s is not supported, full logits", model_type)
        return model
    full = type(model).forward

    @functools.wraps(full)  # its signature: generate() and peft read the forward's
    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _forward(self, full, *args, **kwargs)

    # a method of the instance, not a closure over it: deepcopy gives the copy its own
    model.forward = types.MethodType(forward, model)
    return model


def _forward(model: Any, full: Any, *args: Any, **kwargs: Any) -> Any:
    """The chunked loss when there are labels and nothing asks for more; else `full`."""
    if args or kwargs.get("labels") is None:  # generation, or a caller we do not know
        return full(model, *args, **kwargs)
    reason = _full_because(model, kwargs)
    if reason is not None:
        _note(model, reason)
        return full(model, *args, **kwargs)
    labels = kwargs.pop("labels")
    num_items = kwargs.pop("num_items_in_batch", None)
    kwargs.pop("logits_to_keep", None)
    kwargs.pop("return_dict", None)
    backbone = getattr(model, model.base_model_prefix)
    outputs = backbone(**kwargs)
    head = model.get_output_embeddings()
    loss = chunked_cross_entropy(
        outputs.last_hidden_state, head.weight, labels, num_items, bias=head.bias
    )
    return CausalLMOutputWithPast(
        loss=loss,
        logits=None,  # never materialised: that is the point
        past_key_values=getattr(outputs, "past_key_values", None),
        hidden_states=getattr(outputs, "hidden_states", None),
        attentions=getattr(outputs, "attentions", None),
    )


def _full_because(model: Any, kwargs: dict[str, Any]) -> str | None:
    """Why this call must take the full path, or None."""
    head = model.get_output_embeddings()
    if type(head) is not torch.nn.Linear:
        return f"the LM head is a {type(head).__name__} (LoRA on lm_head?), not a Linear"
    if hasattr(head.weight, "ds_id"):
        return "ZeRO-3 partitions the LM head weight"
    if kwargs.get("logits_to_keep") not in (None, 0):
        return "logits_to_keep asks for logits"
    if kwargs.get("shift_labels") is not None:
        return "shift_labels given"
    if kwargs.get("return_dict") is False:
        return "tuple outputs asked for"
    return None


def _note(model: Any, reason: str) -> None:
    """One info line per model and reason: the run says which loss it computes."""
    noted: set[str] = model.__dict__.setdefault(_NOTED, set())
    if reason not in noted:
        noted.add(reason)
        log.info("train.cross_entropy chunked: full logits instead (%s)", reason)
