"""`sovtrain eval` and `sovtrain ask`: measure a trained model, and talk to an exported one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sovtrain.cli.options import ClusterOpt, default_cluster

out = Console()


def eval_command(
    source: Annotated[str, typer.Argument(help="A recipe, a run directory or a checkpoint.")],
    no_mlflow: Annotated[
        bool, typer.Option("--no-mlflow", help="Do not log to the run's MLflow run.")
    ] = False,
    cluster: ClusterOpt = "",
) -> None:
    """Held-out perplexity by domain x language; for fine-tuned runs also task metrics
    (classification accuracy, extraction exact match / F1, translation chrF). Logged to the
    same MLflow run as training and written to <output>/eval/."""
    from sovtrain.eval.runner import evaluate

    if source.endswith((".yaml", ".yml")):
        from sovtrain.governance.admission import enforce
        from sovtrain.recipe import load_recipe

        recipe = load_recipe(Path(source)).recipe
        enforce(recipe, cluster or default_cluster(), f"{recipe.run.name}/eval")
    report = evaluate(source, log_to_mlflow=not no_mlflow)
    table = Table(title=f"{report.run_name} at step {report.step}")
    for column in ("metric", "domain", "language", "value", "n"):
        table.add_column(column, justify="right" if column in ("value", "n") else "left")
    for row in report.result.rows:
        table.add_row(row["metric"], row["domain"], row["lang"], f"{row['value']:.4g}",
                      str(row["n"]))  # fmt: skip
    out.print(table)
    for sample in report.result.samples[:4]:
        typer.echo(f"[{sample['task']}/{sample['lang']}] {sample['answer'][:160]}")
    typer.echo(f"written to {report.output_uri}/eval/ (eval.json, eval.md)")


def ask_command(
    model_dir: Annotated[Path, typer.Argument(help="An exported Hugging Face model directory.")],
    question: Annotated[str, typer.Argument(help="What to ask (any language).")],
    system: Annotated[
        str,
        typer.Option(
            help="System message, as in training. The generated SFT sets write it in the "
            "answer's language, so a small model answers in the language of this message."
        ),
    ] = "",
    max_new_tokens: Annotated[int, typer.Option(help="Answer length limit.")] = 96,
) -> None:
    """Answer one question with an exported model, through its own chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    messages = [{"role": "system", "content": system}] * bool(system)
    messages.append({"role": "user", "content": question})
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = torch.tensor([tokenizer.encode(prompt, add_special_tokens=False)])
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    with torch.no_grad():
        answer = model.generate(input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False,
                                eos_token_id=stop, pad_token_id=stop)  # fmt: skip
    typer.echo(f"Q: {question}")
    typer.echo(
        f"A: {str(tokenizer.decode(answer[0, ids.shape[1] :], skip_special_tokens=True)).strip()}"
    )
