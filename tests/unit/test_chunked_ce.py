"""Chunked cross-entropy (`train.cross_entropy: chunked`): the same loss and gradients as
transformers' own on the full logits, to 1e-5 in fp32."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from transformers import AutoModelForCausalLM

from sovtrain.model.chunked_head import use_chunked_loss
from sovtrain.model.loss import chunked_cross_entropy, full_cross_entropy
from sovtrain.recipe.model import arch_config
from sovtrain.recipe.schema import ModelSection
from tests.conftest import TINY_RECIPE, run_python

TOL = {"rtol": 1e-5, "atol": 1e-5}


def _inputs(tokens: int = 37, hidden: int = 16, vocab: int = 50, rows: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(rows, tokens, hidden, generator=gen, requires_grad=True)
    w = torch.randn(vocab, hidden, generator=gen, requires_grad=True)
    labels = torch.randint(0, vocab, (rows, tokens), generator=gen)
    return h, w, labels


def _sft_labels(labels: torch.Tensor) -> torch.Tensor:
    """Some targets masked, and one row with none at all."""
    masked = labels.clone()
    masked[0, :10] = -100
    masked[1, 5::3] = -100
    masked[2] = -100
    return masked


def _both(h, w, labels, num_items=None, bias=None, chunk=8):
    """(loss, grads) of the full reference and of the chunked path."""
    results = []
    for chunked in (False, True):
        leaves = [t for t in (h, w, bias) if t is not None]
        for t in leaves:
            t.grad = None
        if chunked:
            loss = chunked_cross_entropy(h, w, labels, num_items, bias=bias, chunk_tokens=chunk)
        else:
            loss = full_cross_entropy(torch.nn.functional.linear(h, w, bias), labels, num_items)
        loss.backward()
        results.append((loss.detach(), [t.grad.clone() for t in leaves]))
    return results


@pytest.mark.parametrize("chunk", [1, 8, 37, 500])  # 111 tokens: 8 and 37 do not divide it
@pytest.mark.parametrize("sft", [False, True])
@pytest.mark.parametrize("num_items", [None, 29])
def test_loss_and_grads_match_full(chunk, sft, num_items):
    h, w, labels = _inputs()
    labels = _sft_labels(labels) if sft else labels
    items = None if num_items is None else torch.tensor(num_items)
    (full, full_grads), (chunked, chunked_grads) = _both(h, w, labels, items, chunk=chunk)
    torch.testing.assert_close(chunked, full, **TOL)
    for a, b in zip(chunked_grads, full_grads, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_bias_and_plain_int_num_items():
    h, w, labels = _inputs()
    bias = torch.randn(w.shape[0], requires_grad=True)
    (full, fg), (chunked, cg) = _both(h, w, labels, num_items=50, bias=bias, chunk=16)
    torch.testing.assert_close(chunked, full, **TOL)
    for a, b in zip(cg, fg, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_no_targets_is_nan_as_transformers():
    h, w, labels = _inputs()
    labels[:] = -100
    (full, _), (chunked, _) = _both(h, w, labels)
    assert torch.isnan(full) and torch.isnan(chunked)


def test_bf16_inputs_close_to_full():
    h, w, labels = _inputs(hidden=32, vocab=64)
    hb = h.detach().bfloat16().requires_grad_()
    wb = w.detach().bfloat16().requires_grad_()
    (full, fg), (chunked, cg) = _both(hb, wb, labels, chunk=10)
    assert chunked.dtype == torch.float32
    torch.testing.assert_close(chunked, full, rtol=1e-3, atol=1e-3)
    for a, b in zip(cg, fg, strict=True):
        assert a.dtype == torch.bfloat16
        torch.testing.assert_close(a.float(), b.float(), rtol=2e-2, atol=2e-3)


def test_no_grad_needed_computes_only_the_loss():
    h, w, labels = _inputs()
    with torch.no_grad():
        loss = chunked_cross_entropy(h, w, labels, chunk_tokens=8)
    assert not loss.requires_grad
    torch.testing.assert_close(loss, full_cross_entropy(h @ w.T, labels).detach(), **TOL)


def _tiny_llama(**overrides) -> torch.nn.Module:
    spec = copy.deepcopy(TINY_RECIPE["model"])
    spec["config"].update(overrides)
    torch.manual_seed(0)
    config = arch_config(ModelSection.model_validate(spec))
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("sft", [False, True])
def test_model_end_to_end_equals_transformers(tied, sft):
    """Every parameter's gradient, tied embeddings (one parameter, two uses) and not."""
    full = _tiny_llama(tie_word_embeddings=tied)
    chunked = use_chunked_loss(copy.deepcopy(full))
    assert (chunked.lm_head.weight is chunked.model.embed_tokens.weight) == tied
    ids = torch.randint(0, 512, (3, 40), generator=torch.Generator().manual_seed(1))
    labels = _sft_labels(ids) if sft else ids
    kwargs = {"num_items_in_batch": (labels[:, 1:] != -100).sum()} if sft else {}
    losses = []
    for model in (full, chunked):
        out = model(input_ids=ids, labels=labels, use_cache=False, **kwargs)
        out.loss.backward()
        losses.append(out.loss.detach())
    assert chunked(input_ids=ids, labels=labels, use_cache=False).logits is None
    torch.testing.assert_close(losses[1], losses[0], **TOL)
    for (name, a), b in zip(chunked.named_parameters(), full.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, **TOL, msg=name)


def test_without_labels_the_model_is_unchanged():
    full = _tiny_llama()
    chunked = use_chunked_loss(copy.deepcopy(full))
    ids = torch.randint(0, 512, (2, 12))
    torch.testing.assert_close(chunked(input_ids=ids).logits, full(input_ids=ids).logits)
    assert chunked.state_dict().keys() == full.state_dict().keys()
    assert type(chunked) is type(full)


def test_lora_adapters_still_train_and_lm_head_lora_falls_back(caplog):
    from peft import LoraConfig, get_peft_model

    full = _tiny_llama(tie_word_embeddings=False)
    ids = torch.randint(0, 512, (2, 24), generator=torch.Generator().manual_seed(2))
    for targets in (["q_proj", "v_proj"], ["q_proj", "lm_head"]):
        grads = []
        for chunk in (False, True):
            base = copy.deepcopy(full)
            base = use_chunked_loss(base) if chunk else base
            torch.manual_seed(3)
            config = LoraConfig(r=4, lora_alpha=8, target_modules=targets, task_type="CAUSAL_LM")
            model = get_peft_model(base, config)
            with caplog.at_level(logging.INFO, logger="sovtrain.model.chunked_head"):
                model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
            grads.append({n: p.grad for n, p in model.named_parameters() if p.requires_grad})
        assert grads[0].keys() == grads[1].keys() and any("lora_B" in n for n in grads[1])
        for name in grads[0]:
            torch.testing.assert_close(grads[1][name], grads[0][name], **TOL, msg=name)
    assert "LoRA on lm_head" in caplog.text


def test_unknown_arch_keeps_its_own_loss(caplog):
    model = torch.nn.Linear(2, 2)
    with caplog.at_level(logging.INFO, logger="sovtrain.model.chunked_head"):
        assert use_chunked_loss(model) is model
    assert "forward" not in model.__dict__ and "not supported" in caplog.text


ENGINE_CHILD = """
import logging, sys, torch
logging.basicConfig(level=logging.INFO)
from sovtrain.recipe import load_recipe
from sovtrain.distributed.context import init_distributed
from sovtrain.train.session import build_engine

ctx = init_distributed()
ids = torch.randint(0, 512, (4, 64), generator=torch.Generator().manual_seed(5))
stage = int(sys.argv[2])
for mode in ("full", "chunked"):
    overrides = [f"train.cross_entropy={mode}", f"deepspeed.zero_stage={stage}"]
    engine, _ = build_engine(load_recipe(sys.argv[1], overrides), ctx, vocab_size=512)
    losses = []
    for _ in range(2):  # the second loss is after one optimizer step
        out = engine(input_ids=ids, labels=ids, use_cache=False)
        # ZeRO-3 partitions the LM head: chunked falls back to the full logits
        assert (out.logits is None) == (mode == "chunked" and stage < 3), mode
        loss = out.loss
        engine.backward(loss)
        engine.step()
        losses.append(f"{loss.item():.7f}")
    print(mode, *losses)
"""


@pytest.mark.parametrize("stage", [2, 3])
def test_engine_step_equals_full(tiny_recipe, stage):
    """A real DeepSpeed engine: the chunked loss flows through its forward/backward and the
    step after it lands where the full path's does (ZeRO-3: the full path, one info line)."""
    result = run_python(ENGINE_CHILD, str(tiny_recipe), str(stage))
    if stage == 3:
        assert "full logits instead (ZeRO-3" in result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    full, chunked = (list(map(float, lines[m].split())) for m in ("full", "chunked"))
    assert chunked == pytest.approx(full, rel=1e-5, abs=1e-6)


def test_fp16_grads_survive_the_loss_scale():
    """fp16: the per-token gradients (about 1/tokens) are kept in fp32 until `backward`
    applies the loss scale, so they come out as the fp32 reference's, in fp16."""
    h, w, labels = _inputs(tokens=200, hidden=16, vocab=64)
    full_cross_entropy(h @ w.T, labels).backward()
    reference = [h.grad, w.grad]
    h16 = h.detach().half().requires_grad_()
    w16 = w.detach().half().requires_grad_()
    (chunked_cross_entropy(h16, w16, labels, chunk_tokens=64) * 1024).backward()
    for got, want in zip((h16.grad, w16.grad), reference, strict=True):
        assert got.dtype == torch.float16
        torch.testing.assert_close(got.float() / 1024, want, rtol=1e-2, atol=1e-5)
