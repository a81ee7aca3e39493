"""`export_hf` on real DeepSpeed checkpoints: loads offline, same logits, honest model card.

One tiny fp32 run (4 steps, checkpoints at 2 and 4) is trained once for the module; a bf16
run shares its prepared data. LoRA merging is checked both as pure functions on a tiny peft
model and end to end on a synthetic peft checkpoint built from the trained weights.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from sovtrain.core.errors import PolicyRefused, SovtrainError
from sovtrain.core.hashing import sha256_file
from sovtrain.export import export_hf, render_model_card
from sovtrain.export.hf import LoraSettings, adapter_state, build_loaded_model, merge_lora_weights
from sovtrain.model.build import build_model
from sovtrain.recipe import load_recipe
from sovtrain.recipe.schema import ModelSection
from tests.conftest import REPO, TINY_RECIPE

CARD = "synthetic-finance-bilingual"
EVAL_ROWS = [{"metric": "perplexity", "domain": "finance", "lang": "zh-Hant", "value": 87.25}]
LORA = {"r": 4, "lora_alpha": 8}


def _sovtrain(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    command = [sys.executable, "-m", "sovtrain.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def _train(tmp: Path, name: str, **train) -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"].update(name=name, output_uri=str(tmp / name))
    recipe["data"]["prepared_uri"] = str(tmp / "data")  # shared: prepared once
    recipe["data"]["sources"][0]["documents"] = 300
    recipe["tokenizer"]["fertility_report"] = False
    recipe["train"].update(max_steps=4, **train)
    recipe["checkpoint"]["interval_steps"] = 2
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    result = _sovtrain("train", str(path))
    run = tmp / name
    assert result.returncode == 0, f"{name}:\n{result.stderr[-4000:]}"
    assert (run / "checkpoints" / "step_00000004" / "manifest.json").exists()
    return run


@pytest.fixture(scope="module")
def cards_env():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOVTRAIN_CARDS_DIR", str(REPO / "data_cards"))
        yield


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def run(tmp, cards_env) -> Path:
    return _train(tmp, "tiny-export")


@pytest.fixture(scope="module")
def exported(run, tmp):
    out = tmp / "hf"
    return out, export_hf(str(run), str(out), eval_table=EVAL_ROWS)


def _recipe(run: Path):
    return load_recipe(run / "recipe.resolved.yaml").recipe


def _ids(vocab: int = 512) -> torch.Tensor:
    return torch.randint(0, vocab, (2, 48), generator=torch.Generator().manual_seed(3))


def _module_weights(step_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(step_dir / "mp_rank_00_model_states.pt", weights_only=False)["module"]


@torch.no_grad()
def _logits(model, ids: torch.Tensor | None = None) -> torch.Tensor:
    return model.eval()(input_ids=_ids() if ids is None else ids).logits


@pytest.mark.slow
def test_exported_model_loads_offline_with_the_checkpoints_logits(run, exported):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, result = exported
    model = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert len(tokenizer) == 512 and tokenizer.eos_token == "<|endoftext|>"
    recipe = _recipe(run)
    reference = build_model(recipe.model, 512, seed=0)  # fresh init, then the engine's weights
    reference.load_state_dict(_module_weights(run / "checkpoints" / "step_00000004"))
    exported_logits, reference_logits = _logits(model), _logits(reference)
    torch.testing.assert_close(exported_logits, reference_logits, atol=1e-5, rtol=0)
    untrained = build_model(recipe.model, 512, seed=recipe.run.seed)
    assert (_logits(untrained) - reference_logits).abs().max() > 1e-2  # the comparison bites
    assert result.step == 4 and result.kind == "full" and result.weights_from == "module"
    assert result.params == sum(p.numel() for p in model.parameters())
    assert result.lineage == (CARD,)


@pytest.mark.slow
def test_export_files_hashes_tokenizer_and_generation_config(exported):
    from transformers import AutoTokenizer, GenerationConfig

    out, result = exported
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "README.md"} <= set(result.files)  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == result.files
    for name in result.files:
        assert result.sha256[name] == sha256_file(out / name)
    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    chat = [{"role": "user", "content": "信用證是甚麼？"}]
    prompt = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\n信用證是甚麼？<|im_end|>\n<|im_start|>assistant\n"
    generation = GenerationConfig.from_pretrained(str(out))
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert generation.eos_token_id == [tokenizer.eos_token_id, im_end]
    assert (
        generation.pad_token_id
        == tokenizer.pad_token_id
        == tokenizer.convert_tokens_to_ids("<|pad|>")
    )
    config = json.loads((out / "config.json").read_text())
    assert config["eos_token_id"] == tokenizer.eos_token_id  # not LlamaConfig's default 2


@pytest.mark.slow
def test_model_card_front_matter_names_the_dataset_with_its_digest(exported):
    from sovtrain.governance.cards import load_card

    out, _ = exported
    text = (out / "README.md").read_text()
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    card = load_card(REPO / "data_cards" / f"{CARD}.yaml")
    assert front["datasets"] == [f"{CARD}@1"]
    (entry,) = front["sovtrain"]["datasets"]
    assert entry["ref"] == f"{CARD}@1" and entry["content_digest"] == card.digest
    assert entry["home_region"] == "hk"
    assert front["language"] == ["en", "zh-Hant", "zh-Hans"]
    assert front["license"] == "apache-2.0" and "llama" in front["tags"]
    assert front["sovtrain"]["weights_storage_regions"] == ["hk", "cn-gba", "sg"]
    assert "**hk, cn-gba, sg**" in text
    assert "- smoke tests" in text and "- any factual claim about real entities" in text
    assert "| perplexity | finance | zh-Hant | 87.25 |" in text
    assert "- tokens seen: 2,048" in text  # 4 steps x 8 sequences x 64 tokens
    assert "tokens/s" in text and "MFU" in text  # from the run's embedded MLflow store


@pytest.mark.slow
def test_checkpoint_directory_source_and_non_empty_destination(run, tmp):
    step2 = run / "checkpoints" / "step_00000002"
    result = export_hf(str(step2), str(tmp / "hf-step2"))
    assert result.step == 2
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tmp / "hf-step2"), local_files_only=True)
    reference = build_model(_recipe(run).model, 512, seed=0)
    reference.load_state_dict(_module_weights(step2))
    torch.testing.assert_close(_logits(model), _logits(reference), atol=1e-5, rtol=0)
    with pytest.raises(SovtrainError, match="not empty"):
        export_hf(str(step2), str(tmp / "hf-step2"))


@pytest.mark.slow
def test_cli_exports_and_refuses_an_unmapped_destination(run, tmp):
    ok = _sovtrain("export", str(run), str(tmp / "hf-cli"))
    assert ok.returncode == 0, ok.stderr[-3000:]
    digest = sha256_file(tmp / "hf-cli" / "model.safetensors")
    assert f"sha256(model.safetensors) = {digest}" in ok.stdout
    refused = _sovtrain("export", str(run), "s3://bucket-in-no-region/model")
    assert refused.returncode == 3, refused.stderr[-3000:]
    assert "mapped-location" in refused.stderr
    records = [json.loads(x) for x in (run / "export-audit.jsonl").read_text().splitlines()]
    assert records[-1]["result"] == "deny" and records[-1]["purpose"] == "export"


def test_cli_registers_the_export_with_its_lineage(run, tmp):
    """`--register`: a model-registry version that points at the export (no copy), carries
    the run's compliance tags and the weights' sha256, and links back to the training run."""
    from mlflow.tracking import MlflowClient

    out = tmp / "hf-registered"
    ok = _sovtrain("export", str(run), str(out), "--register", "tiny-finance")
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "registered tiny-finance version 1" in ok.stdout
    state = json.loads((run / "checkpoints" / "step_00000004" / "sovtrain_state.json").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{run / 'mlflow.db'}")
    version = client.get_model_version("tiny-finance", "1")
    assert version.source == out.resolve().as_uri()
    assert version.run_id == state["mlflow_run_id"]
    assert CARD in version.tags["compliance.datasets"]
    assert version.tags["compliance.compute_region"] == "hk"
    assert version.tags["sovtrain.export.weights_sha256"] == sha256_file(out / "model.safetensors")
    run_tags = client.get_run(state["mlflow_run_id"]).data.tags
    assert run_tags["sovtrain.registered_model"] == "tiny-finance/1"
    step2 = run / "checkpoints" / "step_00000002"
    again = _sovtrain(
        "export", str(step2), str(tmp / "hf-registered-2"), "--register", "tiny-finance"
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert client.get_model_version("tiny-finance", "2").tags["sovtrain.export.step"] == "2"


@pytest.fixture
def hk_only_cards(tmp_path, monkeypatch):
    """The finance card, re-approved with derived artifacts restricted to hk."""
    from sovtrain.governance.cards import approve

    cards = tmp_path / "cards"
    shutil.copytree(REPO / "data_cards", cards)
    path = cards / f"{CARD}.yaml"
    text = path.read_text().replace(
        "  processing_regions: [hk, cn-gba, sg]\n",
        "  processing_regions: [hk, cn-gba, sg]\n  derived_storage_regions: [hk]\n",
    )
    path.write_text(text)
    approve(path, "test reviewer", dt.date.today())
    monkeypatch.setenv("SOVTRAIN_CARDS_DIR", str(cards))
    return cards


@pytest.mark.slow
def test_residency_guard_refuses_exports_outside_the_allowed_regions(run, tmp, hk_only_cards):
    from sovtrain import storage
    from sovtrain.cli.export import guard_export

    recipe = _recipe(run)
    with pytest.raises(PolicyRefused, match="derived-storage-region"):
        guard_export(recipe, "s3://sovtrain-sg/models/tiny", "local", "tiny/export")
    guard = guard_export(recipe, str(tmp / "allowed"), "local", "tiny/export")
    try:
        with pytest.raises(PolicyRefused, match="mapped-location"):
            export_hf(str(run), "/sovtrain-unmapped-test-location/model")
    finally:
        storage.remove_guard(guard)
    card = render_model_card(
        recipe, params=1, step=4, tokens_seen=2048, lineage=[CARD, "no-such-card"],
        manifest={"vocab_size": 512}, manifest_digest="0" * 64,
    )  # fmt: skip
    assert "`no-such-card`: card not found" in card
    assert "unknown: card(s) no-such-card not found" in card
    card = render_model_card(
        recipe, params=1, step=4, tokens_seen=2048, lineage=[CARD],
        manifest={"vocab_size": 512}, manifest_digest="0" * 64,
    )  # fmt: skip
    assert yaml.safe_load(card.split("---\n")[1])["sovtrain"]["weights_storage_regions"] == ["hk"]


@pytest.mark.slow
def test_bf16_export_takes_the_fp32_master_weights(tmp, run):
    """--dtype fp32 writes the masters exactly; the default for a bf16 run is bf16, which is
    their rounding: the very weights the run's forward passes used."""
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    from safetensors.torch import load_file

    bf16 = _train(tmp, "tiny-bf16", precision="bf16")
    result = export_hf(str(bf16), str(tmp / "hf-bf16"), dtype="fp32")
    assert result.weights_from == "fp32-master" and result.dtype == "float32"
    weights = load_file(str(tmp / "hf-bf16" / "model.safetensors"))
    masters = get_fp32_state_dict_from_zero_checkpoint(str(bf16 / "checkpoints"), "step_00000004")
    module = _module_weights(bf16 / "checkpoints" / "step_00000004")
    for name, tensor in weights.items():
        assert tensor.dtype == torch.float32
        assert torch.equal(tensor, masters[name]), name
        assert torch.equal(tensor.bfloat16(), module[name]), name  # bf16 copies round from them
    assert any(not torch.equal(t, t.bfloat16().float()) for t in weights.values())
    default = export_hf(str(bf16), str(tmp / "hf-bf16-default"))
    assert default.dtype == "bfloat16"
    for name, tensor in load_file(str(tmp / "hf-bf16-default" / "model.safetensors")).items():
        assert torch.equal(tensor, module[name]), name
    config = json.loads((tmp / "hf-bf16-default" / "config.json").read_text())
    assert config["dtype"] == config["torch_dtype"] == "bfloat16"


@pytest.mark.slow
def test_sharded_export_has_an_index_and_the_unsharded_logits(run, exported, tmp):
    from transformers import AutoModelForCausalLM

    out = tmp / "hf-sharded"
    result = export_hf(str(run), str(out), max_shard_size="200KB")
    shards = [f for f in result.files if f.startswith("model-")]
    assert len(shards) > 1 and "model.safetensors" not in result.files
    assert result.weights_files == shards
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"].values()) == set(shards)
    assert "lm_head.weight" not in index["weight_map"]  # tied: stored once, as transformers does
    listing = "".join(f"{result.sha256[s]}  {s}\n" for s in shards)
    assert result.weights_sha256 == hashlib.sha256(listing.encode()).hexdigest()
    sharded = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    whole = AutoModelForCausalLM.from_pretrained(str(exported[0]), local_files_only=True)
    assert torch.equal(_logits(sharded), _logits(whole))


@pytest.mark.slow
def test_dtype_flag_writes_that_dtype_and_says_so_in_config(run, exported, tmp):
    from safetensors.torch import load_file

    fp32 = json.loads((exported[0] / "config.json").read_text())
    assert exported[1].dtype == fp32["dtype"] == fp32["torch_dtype"] == "float32"  # fp32 run
    result = export_hf(str(run), str(tmp / "hf-as-bf16"), dtype="bf16")
    config = json.loads((tmp / "hf-as-bf16" / "config.json").read_text())
    assert result.dtype == config["dtype"] == config["torch_dtype"] == "bfloat16"
    reference = load_file(str(exported[0] / "model.safetensors"))
    for name, tensor in load_file(str(tmp / "hf-as-bf16" / "model.safetensors")).items():
        assert tensor.dtype == torch.bfloat16 and torch.equal(tensor, reference[name].bfloat16())


# ----------------------------------------------------------------------------- LoRA
def _tiny_peft(seed: int = 0, base_state: dict | None = None):
    from peft import LoraConfig, get_peft_model

    section = ModelSection.model_validate(TINY_RECIPE["model"])
    base = build_model(section, 512, seed)
    if base_state is not None:
        base.load_state_dict(base_state)
    config = LoraConfig(r=LORA["r"], lora_alpha=LORA["lora_alpha"], lora_dropout=0.0,
                        target_modules=["q_proj", "v_proj", "down_proj"])  # fmt: skip
    model = get_peft_model(base, config)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:  # peft initialises B to zero: merging would prove nothing
                param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
    return section, model.eval()


def test_merged_lora_weights_give_the_peft_models_logits():
    section, peft_model = _tiny_peft()
    merged = merge_lora_weights(peft_model.state_dict(), LoraSettings(LORA["r"], 8.0))
    assert not any("lora" in k or "base_layer" in k for k in merged)
    plain = build_loaded_model(section, 512, merged)
    torch.testing.assert_close(_logits(plain), _logits(peft_model), atol=1e-5, rtol=0)
    base_only = build_loaded_model(section, 512, {
        k.removeprefix("base_model.model.").replace(".base_layer.", "."): v
        for k, v in peft_model.state_dict().items() if "lora_" not in k
    })  # fmt: skip
    assert (_logits(base_only) - _logits(peft_model)).abs().max() > 1e-3


def test_lora_settings_scale_and_adapter_keys():
    assert LoraSettings(4, 8.0).scale == 2.0
    assert LoraSettings(4, 8.0, use_rslora=True).scale == 4.0
    _, peft_model = _tiny_peft()
    keys = sorted(adapter_state(peft_model.state_dict()))
    assert keys[0] == "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"
    assert len(keys) == 2 * 3 * 2  # A and B, three modules, two layers


@pytest.mark.slow
def test_lora_checkpoint_exports_merged_or_as_a_peft_adapter(run, tmp):
    """A peft model's state in a (synthetic) DeepSpeed checkpoint of the trained run."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    trained = _module_weights(run / "checkpoints" / "step_00000004")
    section, peft_model = _tiny_peft(base_state=trained)
    step = run / "checkpoints" / "step_00000099"
    shutil.copytree(run / "checkpoints" / "step_00000004", step)
    torch.save({"module": peft_model.state_dict()}, step / "mp_rank_00_model_states.pt")
    files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in step.iterdir() if p.name != "manifest.json"}  # fmt: skip
    (step / "manifest.json").write_text(json.dumps({"step": 99, "files": files}))
    try:
        merged = export_hf(str(step), str(tmp / "hf-merged"), adapter_config=LORA)
        assert merged.kind == "merged"
        model = AutoModelForCausalLM.from_pretrained(str(tmp / "hf-merged"), local_files_only=True)
        torch.testing.assert_close(_logits(model), _logits(peft_model), atol=1e-5, rtol=0)
        adapter = export_hf(str(step), str(tmp / "hf-adapter"), merge_lora=False,
                            adapter_config=LORA)  # fmt: skip
        assert adapter.kind == "adapter"
        assert {"adapter_model.safetensors", "adapter_config.json"} <= set(adapter.files)
        assert "model.safetensors" not in adapter.files
        base = build_loaded_model(section, 512, trained)
        loaded = PeftModel.from_pretrained(base, str(tmp / "hf-adapter"))
        torch.testing.assert_close(_logits(loaded), _logits(peft_model), atol=1e-5, rtol=0)
        with pytest.raises(SovtrainError, match="r and alpha"):
            export_hf(str(step), str(tmp / "hf-no-config"))
    finally:
        shutil.rmtree(step)  # keep "newest verified" pointing at the real checkpoint
