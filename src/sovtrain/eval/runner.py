"""`sovtrain eval`: held-out perplexity by domain x language, and task metrics by generation.

Runs on one process against a verified checkpoint (a run directory means its newest one):
  - perplexity on the run's own held-out shards, per `domain/language` bucket (pre-training
    text rows, or fine-tuning chat rows with loss on assistant tokens only);
  - for fine-tuning runs, the held-out chat examples kept at prepare time (`sft_eval.jsonl`):
    greedy answers scored by task (classification accuracy, extraction exact match / F1,
    translation chrF; explanations get chrF against the reference as a rough signal).
Results go to the run's MLflow run (same run id as training) and to `<output>/eval/`.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sovtrain import storage
from sovtrain.data.chat import stop_token_ids
from sovtrain.data.loader import PackedDataset
from sovtrain.eval import metrics
from sovtrain.model.build import build_model
from sovtrain.model.chunked_head import use_chunked_loss
from sovtrain.model.converters import apply_lora
from sovtrain.model.init import load_into
from sovtrain.model.weights import consolidate

log = logging.getLogger(__name__)
MAX_NEW_TOKENS = 96


@dataclass
class EvalResult:
    rows: list[dict[str, Any]] = field(default_factory=list)  # {metric, domain, lang, value, n}
    samples: list[dict[str, str]] = field(default_factory=list)

    def add(self, metric: str, domain: str, lang: str, value: float, n: int) -> None:
        self.rows.append({"metric": metric, "domain": domain, "lang": lang,
                          "value": round(float(value), 4), "n": n})  # fmt: skip

    def mlflow_metrics(self) -> dict[str, float]:
        return {f"eval/{r['metric']}/{r['domain']}/{r['lang']}": r["value"] for r in self.rows}


def load_checkpoint_model(recipe: Any, step_uri: str, vocab_size: int) -> torch.nn.Module:
    """The trained model (LoRA-wrapped when the recipe used adapters), in eval mode."""
    model: torch.nn.Module = build_model(recipe.model, vocab_size, recipe.run.seed)
    if recipe.train.cross_entropy == "chunked":  # the loss training computed, the same way
        model = use_chunked_loss(model)
    if recipe.finetune is not None and recipe.finetune.lora is not None:
        model = apply_lora(model, recipe.finetune.lora)
    with storage.local_dir(step_uri, purpose="checkpoint") as local:
        weights, _ = consolidate(local, recipe.train.weights_precision, recipe.deepspeed.zero_stage)
        load_into(model, weights, step_uri)
    return model.float().eval()


@torch.no_grad()
def heldout_perplexity(
    model: torch.nn.Module, shards_uri: str, result: EvalResult, max_rows: int = 64, batch: int = 8
) -> None:
    dataset = PackedDataset(shards_uri, "heldout")
    for bucket, (start, end) in sorted(dataset.buckets.items()):
        domain, lang = bucket.split("/", 1)
        indices = np.arange(start, min(end, start + max_rows))
        total = count = 0.0
        for first in range(0, len(indices), batch):
            rows = torch.from_numpy(dataset.rows(indices[first : first + batch]))
            loss, tokens = _loss(model, rows, dataset.channels)
            total += loss * tokens
            count += tokens
        if count:
            mean = total / count
            result.add("loss", domain, lang, mean, len(indices))
            result.add("perplexity", domain, lang, metrics.perplexity(mean), len(indices))


def _loss(model: torch.nn.Module, rows: torch.Tensor, channels: int) -> tuple[float, float]:
    if channels == 1:
        out = model(input_ids=rows, labels=rows, use_cache=False)
        return out.loss.item(), float(rows.numel())
    view = rows.view(rows.shape[0], channels, -1)
    ids, mask, pos = view[:, 0], view[:, 1], view[:, 2]
    labels = ids.masked_fill(mask == 0, -100)
    out = model(input_ids=ids, labels=labels, position_ids=pos, use_cache=False)
    targets = float((labels[:, 1:] != -100).sum())
    return (out.loss.item() if targets else 0.0), targets


@torch.no_grad()
def task_metrics(model: torch.nn.Module, tokenizer: Any, examples: list[dict],
                 result: EvalResult) -> None:  # fmt: skip
    """Greedy answers to held-out instructions, scored by task, per domain x language.
    Answers stop at the template's end-of-turn marker (or EOS), whichever base it is."""
    stop = stop_token_ids(tokenizer)
    scored: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for example in examples:
        answer = generate(model, tokenizer, example["messages"][:-1], stop)
        ref = example.get("reference", {})
        key = (example["domain"], example["lang"])
        task = example["task"]
        if task == "classify":
            scored[("accuracy", *key)].append(metrics.exact_match(answer, ref.get("label", "")))
        elif task == "extract":
            scores = metrics.extraction_scores(answer, ref.get("fields", {}))
            scored[("extract_em", *key)].append(scores["exact_match"])
            scored[("extract_f1", *key)].append(scores["f1"])
        elif task in ("translate", "explain"):
            target = ref.get("text", example["messages"][-1]["content"])
            scored[(f"{task}_chrf", *key)].append(metrics.chrf([answer], [target]))
        if len(result.samples) < 8:
            result.samples.append({"task": task, "lang": example["lang"], "answer": answer})
    for (name, domain, lang), values in sorted(scored.items()):
        result.add(name, domain, lang, sum(values) / len(values), len(values))


def generate(model: Any, tokenizer: Any, messages: list[dict], stop: list[int],
             max_new_tokens: int = MAX_NEW_TOKENS) -> str:  # fmt: skip
    """Greedy answer; the prompt is rendered by the tokenizer's own chat template (the one
    saved with the prepared data), so eval asks exactly the way training taught. `model` is a
    transformers (or peft) model: `generate` is theirs, not `nn.Module`'s."""
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (stop or [0])[0]
    out = model.generate(input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False,
                         eos_token_id=stop, pad_token_id=pad)  # fmt: skip
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()


def read_eval_examples(prepared_uri: str) -> list[dict]:
    from sovtrain.data.sft import EVAL_FILE

    uri = storage.join(prepared_uri, EVAL_FILE)
    if not storage.exists(uri, purpose="shards"):
        return []
    text = storage.read_text(uri, purpose="shards")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def markdown_table(result: EvalResult) -> str:
    lines = ["| metric | domain | language | value | n |", "|---|---|---|---|---|"]
    for r in result.rows:
        value = "inf" if math.isinf(r["value"]) else f"{r['value']:.4g}"
        lines.append(f"| {r['metric']} | {r['domain']} | {r['lang']} | {value} | {r['n']} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class EvalReport:
    result: EvalResult
    run_name: str
    step: int
    output_uri: str
    mlflow_run_id: str | None


def evaluate(source: str, log_to_mlflow: bool = True) -> EvalReport:
    """Evaluate a recipe's run, a run directory or a checkpoint directory."""
    from sovtrain.data.shards import read_manifest
    from sovtrain.data.tokenizer import load_hf
    from sovtrain.train.resume import resolve_base_weights

    if source.endswith((".yaml", ".yml")):
        from sovtrain.recipe import load_recipe

        source = load_recipe(source).recipe.run.output_uri
    base = resolve_base_weights(source)  # a run directory: its newest verified checkpoint
    if base.recipe is None:
        raise ValueError(f"{source}: evaluate a sovtrain run or checkpoint, not an HF directory")
    recipe, weights_uri = base.recipe, base.weights_uri
    assert weights_uri is not None  # resolve_base_weights always picks one
    state = json.loads(storage.read_text(storage.join(weights_uri, "sovtrain_state.json"),
                                         purpose="checkpoint"))  # fmt: skip
    shards_uri = storage.join(recipe.data.prepared_uri, "shards")
    manifest = read_manifest(shards_uri)
    model = load_checkpoint_model(recipe, weights_uri, manifest["vocab_size"])
    result = EvalResult()
    log.info("held-out perplexity by domain x language (%s)", shards_uri)
    heldout_perplexity(model, shards_uri, result)
    examples = read_eval_examples(recipe.data.prepared_uri)
    if examples:
        log.info("task metrics on %d held-out instructions", len(examples))
        tokenizer = load_hf(storage.join(recipe.data.prepared_uri, "tokenizer"))
        task_metrics(model, tokenizer, examples, result)
    out = storage.join(recipe.run.output_uri, "eval")
    payload = {"step": state["step"], "rows": result.rows, "samples": result.samples}
    text = json.dumps(payload, indent=2, ensure_ascii=False)
    storage.write_text_atomic(storage.join(out, "eval.json"), text, purpose="artifact",
                              lineage=base.lineage)  # fmt: skip
    storage.write_text_atomic(storage.join(out, "eval.md"), markdown_table(result),
                              purpose="artifact", lineage=base.lineage)  # fmt: skip
    run_id = state.get("mlflow_run_id")
    if log_to_mlflow and run_id and recipe.tracking.enabled:
        _log(recipe, run_id, state["step"], result)
    return EvalReport(result, recipe.run.name, state["step"], recipe.run.output_uri, run_id)


def _log(recipe: Any, run_id: str, step: int, result: EvalResult) -> None:
    """Into the training run itself: one run per model, eval next to its loss curve.
    Non-finite values (a perplexity that overflowed) stay in eval.json only."""
    from sovtrain.tracking import run_tracking_uri
    from sovtrain.tracking.runs import log_eval

    finite = {k: v for k, v in result.mlflow_metrics().items() if math.isfinite(v)}
    log_eval(run_tracking_uri(recipe), run_id, step, finite, markdown_table(result))
