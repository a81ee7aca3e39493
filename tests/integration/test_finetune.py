"""Fine-tuning end to end on CPU: a tiny pre-training run, then SFT (full and LoRA) from it.

Proves `model.init_from` on a pre-training run produced here, loss on the held-out chat set
going down, LoRA leaving the base weights untouched, and `sovtrain eval` on the result.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY_RECIPE, write_recipe
from tests.integration.test_train_end_to_end import sovtrain

pytestmark = pytest.mark.slow
LABELS = ["customs-hold", "damage", "delay", "cleared"]
PHRASES = {
    "customs-hold": ["held by customs at Kwai Tsing", "海關扣查貨物", "customs inspection ordered"],
    "damage": ["cartons crushed on arrival", "貨物受損", "water damage found in container"],
    "delay": ["vessel delayed by typhoon", "船期延誤", "berth congestion delays discharge"],
    "cleared": ["released by customs", "已清關", "customs clearance completed"],
}


def _chat_jsonl(path: Path, n: int) -> Path:
    rng = random.Random(5)
    lines = []
    for i in range(n):
        label = rng.choice(LABELS)
        text = f"Shipment {rng.randint(100, 999)}: {rng.choice(PHRASES[label])}."
        messages = [
            {"role": "system", "content": "You are a logistics assistant."},
            {"role": "user", "content": f"Classify: {text}"},
            {"role": "assistant", "content": label},
        ]
        lines.append(json.dumps({"id": f"ex{i}", "task": "classify", "lang": "en",
                                 "messages": messages,
                                 "reference": {"label": label, "labels": LABELS}}))  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def _sft_recipe(tmp: Path, name: str, base: Path, **finetune) -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"].update(name=name, output_uri=str(tmp / name))
    recipe["model"] = {"init_from": str(base)}  # the base gives architecture and tokenizer
    del recipe["tokenizer"]
    recipe["data"] = {
        "sources": [
            {
                "kind": "chat-files",
                "name": "chats",
                "domain": "logistics",
                "card": "synthetic-logistics-bilingual",
                "uri": str(tmp / "chats.jsonl"),
            }
        ],
        "heldout_fraction": 0.1,
        "shard_sequences": 64,
    }
    recipe["finetune"] = {"eval_examples": 8, **finetune}
    recipe["train"].update(max_steps=16, eval_interval=8, seq_len=128)
    recipe["train"]["optimizer"] = {"lr": 3e-3, "warmup_steps": 2}
    recipe["checkpoint"]["interval_steps"] = 8
    return write_recipe(tmp / f"{name}.yaml", recipe)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("ft")
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"].update(name="base", output_uri=str(tmp / "base"))
    recipe["train"]["max_steps"] = 8
    result = sovtrain("train", str(write_recipe(tmp / "base.yaml", recipe)))
    assert result.returncode == 0, result.stderr[-3000:]
    _chat_jsonl(tmp / "chats.jsonl", 600)
    return {"tmp": tmp, "run": tmp / "base"}


def test_sft_from_a_pretraining_run_lowers_heldout_loss(base):
    path = _sft_recipe(base["tmp"], "sft", base["run"])
    result = sovtrain("train", str(path), "--nproc", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    row = next(x for x in result.stdout.splitlines() if x.strip().startswith("eval loss"))
    # "eval loss  3.4720 (base, step 0) -> 2.9100 (step 16)"
    before, after = (float(part.split()[0]) for part in row.split("eval loss", 1)[1].split("->"))
    assert after < before, result.stdout
    evaluated = sovtrain("eval", str(base["tmp"] / "sft"))
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    report = json.loads((base["tmp"] / "sft" / "eval" / "eval.json").read_text())
    metrics = {r["metric"] for r in report["rows"]}
    assert {"loss", "perplexity", "accuracy"} <= metrics


def test_lora_changes_only_adapters_and_keeps_the_base(base):
    path = _sft_recipe(base["tmp"], "lora", base["run"], lora={"r": 4, "alpha": 8, "dropout": 0.0})
    result = sovtrain("train", str(path))
    assert result.returncode == 0, result.stderr[-4000:]

    def module_state(run: Path) -> dict[str, torch.Tensor]:
        latest = (run / "checkpoints" / "latest").read_text().strip()
        file = run / "checkpoints" / latest / "mp_rank_00_model_states.pt"
        return torch.load(file, weights_only=False)["module"]

    before, after = module_state(base["run"]), module_state(base["tmp"] / "lora")
    adapters = [k for k in after if "lora_" in k]
    assert adapters
    for key, value in after.items():
        if "lora_" in key:
            continue
        plain = key.replace("base_model.model.", "").replace(".base_layer", "")
        assert torch.equal(value, before[plain]), key  # the base weights did not move


def test_init_from_a_mismatched_base_is_a_clear_error(base):
    path = _sft_recipe(base["tmp"], "bad", base["run"])
    result = sovtrain("train", str(path), "--set", "model.config.hidden_size=96")
    assert result.returncode == 2, result.stderr[-3000:]
    message = " ".join(result.stderr.split())
    assert "model.config.hidden_size: 96 would change the base's tensor shapes" in message
    assert "(the base has 64)" in message and "Traceback" not in result.stderr
