"""The lean base loader (`sovtrain.model.load`) gives the model transformers would, in the
training precision, with one copy of the weights; mismatches fail with the one-line error.

Correctness only; the memory it saves is measured by bench/base_load_rss.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM

from sovtrain.core.errors import SovtrainError
from sovtrain.model.converters import apply_lora
from sovtrain.model.init import resolve_base
from sovtrain.model.load import DictSource, empty_model, load_base, materialise
from tests.conftest import REPO

IDS = torch.tensor([[5, 17, 300, 2999, 42, 7, 7, 1000], [1, 2, 3, 4, 5, 6, 7, 8]])


def lean(base: Path, precision: str = "fp32", config=None):
    config = config or AutoConfig.from_pretrained(base)
    return load_base(resolve_base(str(base)), config, precision=precision, attn="sdpa",
                     where=str(base))  # fmt: skip


def logits(model, ids=IDS) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(input_ids=ids).logits


@pytest.fixture(scope="module")
def tied_base(tmp_path_factory) -> Path:
    """A tiny Qwen2 with tied embeddings (the shipped file has no lm_head.weight)."""
    out = tmp_path_factory.mktemp("tied") / "base"
    torch.manual_seed(3)
    config = Qwen2Config(vocab_size=500, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=True)  # fmt: skip
    Qwen2ForCausalLM(config).save_pretrained(out, max_shard_size="40KB")
    return out


def test_fp32_load_gives_transformers_logits(foreign_base):
    model = lean(foreign_base)
    reference = AutoModelForCausalLM.from_pretrained(foreign_base, dtype=torch.float32)
    assert torch.equal(logits(model), logits(reference))
    assert not [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]


def test_bf16_load_keeps_bf16_params_and_fp32_rotary(foreign_base):
    model = lean(foreign_base, "bf16")
    reference = AutoModelForCausalLM.from_pretrained(foreign_base, dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    ref = reference.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())
    inv = model.model.rotary_emb.inv_freq
    assert inv.dtype == torch.float32
    assert torch.equal(inv, reference.model.rotary_emb.inv_freq)


def test_tied_embeddings_stay_tied(tied_base):
    index = json.loads((tied_base / "model.safetensors.index.json").read_text())
    assert "lm_head.weight" not in index["weight_map"]
    model = lean(tied_base)
    assert model.lm_head.weight is model.model.embed_tokens.weight
    reference = AutoModelForCausalLM.from_pretrained(tied_base, dtype=torch.float32)
    ids = IDS.clamp(max=499)
    assert torch.equal(logits(model, ids), logits(reference, ids))


def _edited_copy(base: Path, tmp: Path, edit) -> Path:
    """`base` copied to `tmp` with `edit(state)` applied to the shard holding q_proj."""
    out = tmp / "edited"
    shutil.copytree(base, out)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    name = index["weight_map"]["model.layers.0.self_attn.q_proj.weight"]
    state = load_file(out / name)
    edit(state)
    save_file(state, out / name, metadata={"format": "pt"})
    return out


def test_missing_tensor_is_named(foreign_base, tmp_path):
    base = _edited_copy(foreign_base, tmp_path,
                        lambda s: s.pop("model.layers.0.self_attn.q_proj.weight"))  # fmt: skip
    with pytest.raises(SovtrainError, match=r"missing \['model\.layers\.0\.self_attn\.q_proj"):
        lean(base)


def test_wrong_shape_is_named(foreign_base, tmp_path):
    key = "model.layers.0.self_attn.q_proj.weight"

    def shrink(state):
        state[key] = state[key][:32].contiguous()

    wrong = r"q_proj\.weight: base \(32, 64\) vs recipe \(64, 64\)"
    with pytest.raises(SovtrainError, match=wrong):
        lean(_edited_copy(foreign_base, tmp_path, shrink))
    config = AutoConfig.from_pretrained(foreign_base)
    config.vocab_size += 8  # a recipe vocabulary that is not the base's
    with pytest.raises(SovtrainError, match=r"embed_tokens\.weight: base"):
        lean(foreign_base, config=config)


def test_consolidated_dict_loads_and_is_consumed(foreign_base):
    """The sovtrain-checkpoint path: each tensor leaves the dict as it goes in."""
    reference = AutoModelForCausalLM.from_pretrained(foreign_base, dtype=torch.float32)
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    source = DictSource(state)
    model = materialise(empty_model(reference.config, torch.float32, "sdpa"), source, "run")
    assert not state
    assert torch.equal(logits(model), logits(reference))


def test_lora_on_a_lean_model_trains_only_adapters(foreign_base):
    class Lora:
        r, alpha, dropout, target_modules = 4, 8.0, 0.0, ["q_proj", "v_proj"]

    model = apply_lora(lean(foreign_base, "bf16"), Lora)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    model(input_ids=IDS, labels=IDS).loss.backward()


ZERO3 = textwrap.dedent(
    """
    import sys, torch, deepspeed
    from transformers import AutoConfig, AutoModelForCausalLM
    from sovtrain.model.converters import apply_lora
    from sovtrain.model.init import resolve_base
    from sovtrain.model.load import load_base
    from sovtrain.distributed.context import init_distributed

    base, tied, out = sys.argv[1:4]
    ctx = init_distributed()
    ds = {"train_micro_batch_size_per_gpu": 2, "gradient_accumulation_steps": 1,
          "train_batch_size": 2, "zero_optimization": {"stage": 3},
          "bf16": {"enabled": False}, "steps_per_print": 10**9}

    def load(path):
        return load_base(resolve_base(path), AutoConfig.from_pretrained(path), precision="fp32",
                         attn="sdpa", where=path, rank=ctx.rank, ds_config=ds)

    tied_model = load(tied)
    assert tied_model.lm_head.weight is tied_model.model.embed_tokens.weight
    model = load(base)
    assert all(hasattr(p, "ds_id") and p.numel() == 0 for p in model.parameters())
    reference = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    assert torch.equal(model.model.rotary_emb.inv_freq, reference.model.rotary_emb.inv_freq)
    with deepspeed.zero.GatheredParameters(list(model.parameters())):
        mine = {k: v.clone() for k, v in model.state_dict().items()}
    assert all(torch.equal(mine[k], v) for k, v in reference.state_dict().items())

    class Lora:
        r, alpha, dropout, target_modules = 4, 8.0, 0.0, ["q_proj", "v_proj"]

    model = apply_lora(model, Lora)
    params = [p for p in model.parameters() if p.requires_grad]
    engine, *_ = deepspeed.initialize(model=model, optimizer=torch.optim.AdamW(params, lr=1e-2),
                                      config=ds)
    ids = torch.randint(0, 3000, (2, 16), generator=torch.Generator().manual_seed(0))
    first = engine(input_ids=ids, labels=ids).loss
    assert abs(float(first) - float(reference(input_ids=ids, labels=ids).loss)) < 1e-4
    engine.backward(first)
    engine.step()
    engine.save_checkpoint(out, tag="s1")
    engine.load_checkpoint(out, tag="s1")
    print("ZERO3-OK", float(first))
    """
)


def test_zero3_loads_partitioned_and_trains_with_lora(foreign_base, tied_base, tmp_path):
    launcher = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
    env = {k: v for k, v in os.environ.items() if k not in launcher}  # a world of one
    env["DS_ACCELERATOR"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", ZERO3, str(foreign_base), str(tied_base), str(tmp_path / "ck")],
        capture_output=True, text=True, timeout=240, env=env, cwd=REPO,
    )  # fmt: skip
    assert "ZERO3-OK" in result.stdout, result.stderr[-3000:]
