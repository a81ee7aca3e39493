"""Export's writing half without a training run: a base's config kept key for key through
sharded, cast weights; special ids read off any tokenizer and chat template; bad options.

The base here is a tiny *untrained* Qwen2 saved by transformers (seconds to make), standing in
for an open-weight base whose config `build_config` returns; the trained foreign base and
the end-to-end fine-tune-then-export path live with the fine-tuning tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from sovtrain.core.errors import SovtrainError
from sovtrain.export.tokenizer_out import apply_config_ids, end_of_turn_id, generation_ids
from sovtrain.export.weights_out import build_loaded_model, export_dtype, parse_size, write_model
from tests import foreign_base as fb

QWEN = {**fb.CONFIG, "rope_theta": 500000.0, "max_window_layers": 1, "rms_norm_eps": 1e-5}
ENDS_WITH_EOS = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}{% endfor %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    """Byte-level BPE with Qwen-style specials at the top ids and no bos."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=fb.train_tokenizer(fb.texts(40)),
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=fb.SPECIALS[1:],
    )
    fast.chat_template = fb.CHAT_TEMPLATE
    return fast


@pytest.fixture(scope="module")
def base(tmp_path_factory, tokenizer) -> Path:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=None, **QWEN)  # fmt: skip
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("base") / "qwen2"
    Qwen2ForCausalLM(config).save_pretrained(out)
    return out


def _export(base: Path, out: Path, tokenizer, monkeypatch, dtype, shard: int) -> None:
    """What export_hf does after consolidation, with build_config returning the base's
    config (its contract for `model.init_from` HF directories)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, GenerationConfig

    monkeypatch.setattr(
        "sovtrain.model.build.build_config", lambda *_: AutoConfig.from_pretrained(base)
    )
    state = load_file(str(base / "model.safetensors"))
    model = build_loaded_model(None, len(tokenizer), state)
    apply_config_ids(model.config, tokenizer)
    model.generation_config = GenerationConfig(**generation_ids(tokenizer, model.config))
    write_model(model, out, dtype, shard)


@torch.no_grad()
def _logits(path: Path) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval()
    ids = torch.randint(0, 2000, (2, 24), generator=torch.Generator().manual_seed(1))
    return model(input_ids=ids).logits


def test_base_config_survives_sharded_bf16_export(base, tokenizer, tmp_path, monkeypatch):
    _export(base, tmp_path / "fp32", tokenizer, monkeypatch, torch.float32, 100_000)
    _export(base, tmp_path / "bf16", tokenizer, monkeypatch, torch.bfloat16, 10**9)
    before = json.loads((base / "config.json").read_text())
    after = json.loads((tmp_path / "fp32" / "config.json").read_text())
    assert after["model_type"] == "qwen2" and after["architectures"] == ["Qwen2ForCausalLM"]
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {"pad_token_id", "torch_dtype"}  # pad filled in from the tokenizer
    assert after["pad_token_id"] == tokenizer.pad_token_id and after["bos_token_id"] is None
    assert len(list((tmp_path / "fp32").glob("model-0000*-of-*.safetensors"))) > 1
    assert (tmp_path / "fp32" / "model.safetensors.index.json").exists()
    torch.testing.assert_close(_logits(tmp_path / "fp32"), _logits(base), atol=0, rtol=0)
    bf16 = json.loads((tmp_path / "bf16" / "config.json").read_text())
    assert bf16["dtype"] == bf16["torch_dtype"] == "bfloat16"
    generation = json.loads((tmp_path / "bf16" / "generation_config.json").read_text())
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert generation["eos_token_id"] == [tokenizer.eos_token_id, im_end]


def test_end_of_turn_comes_from_the_chat_template(tokenizer):
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert end_of_turn_id(tokenizer) == im_end
    plain = _with_template(tokenizer, ENDS_WITH_EOS)
    assert generation_ids(plain)["eos_token_id"] == [tokenizer.eos_token_id]
    assert generation_ids(_with_template(tokenizer, None))["eos_token_id"] == [
        tokenizer.eos_token_id
    ]
    broken = _with_template(tokenizer, "{{ raise_exception('system first') }}")
    assert end_of_turn_id(broken) is None
    assert generation_ids(tokenizer, SimpleNamespace(bos_token_id=7))["bos_token_id"] == 7


def _with_template(tokenizer, template: str | None):
    """A copy with another template, so the module's tokenizer stays as it is."""
    import copy

    clone = copy.deepcopy(tokenizer)
    clone.chat_template = template
    return clone


def test_config_ids_keep_what_the_tokenizer_does_not_override(tokenizer):
    eos = tokenizer.eos_token_id
    llama3 = SimpleNamespace(bos_token_id=1, eos_token_id=[5, eos, 9], pad_token_id=None)
    apply_config_ids(llama3, tokenizer)
    assert llama3.bos_token_id == 1  # the tokenizer has no bos: the base's stays
    assert llama3.eos_token_id == [5, eos, 9] and llama3.pad_token_id == tokenizer.pad_token_id
    scratch = SimpleNamespace(bos_token_id=1, eos_token_id=2, pad_token_id=None)
    apply_config_ids(scratch, tokenizer)
    assert scratch.eos_token_id == eos  # not LlamaConfig's default


def test_sizes_and_dtypes():
    assert parse_size("5GB") == 5 * 10**9 and parse_size("500MB") == 5 * 10**8
    assert parse_size("200KB") == 200_000 and parse_size("2GiB") == 2**31
    assert parse_size(1000) == 1000
    for bad in ("", "5XB", "-1GB", "0", "GB", "five"):
        with pytest.raises(SovtrainError, match="--max-shard-size"):
            parse_size(bad)
    assert export_dtype(None, "bf16") == torch.bfloat16
    assert export_dtype("auto", "fp16") == export_dtype("auto", "fp32") == torch.float32
    assert export_dtype("fp32", "bf16") == torch.float32
    assert export_dtype("BF16", "fp32") == torch.bfloat16
    with pytest.raises(SovtrainError, match="--dtype"):
        export_dtype("fp16", "bf16")


@pytest.mark.parametrize(
    ("flag", "value"), [("--max-shard-size", "5XB"), ("--max-shard-size", "0"), ("--dtype", "fp8")]
)
def test_cli_refuses_bad_export_options_in_one_line(tmp_path, flag, value):
    command = [sys.executable, "-m", "sovtrain.cli", "export", str(tmp_path / "no-run"),
               str(tmp_path / "out"), flag, value]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and value in lines[0], result.stderr
    assert not (tmp_path / "out").exists()
