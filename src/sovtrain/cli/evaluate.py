"""`sovtrain eval` and `sovtrain ask`: measure a trained model, and talk to an exported one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sovtrain.cli.options import ClusterOpt, default_cluster

console = Console()


def eval_command(
    source: Annotated[
        str, typer.Argument(help="A recipe, a run directory, a checkpoint or an exported model.")
    ],
    tasks: Annotated[
        str,
        typer.Option(
            help="lm-evaluation-harness tasks, comma-separated (e.g. hkfin_mc, ceval_local): "
            "run them instead of the perplexity / task-metric eval. Shipped tasks: "
            "`sovtrain eval --list-tasks`."
        ),
    ] = "",
    include_path: Annotated[
        list[str] | None,
        typer.Option(help="More lm-eval task YAML directories (after the shipped ones)."),
    ] = None,
    limit: Annotated[
        float | None,
        typer.Option(help="Documents per task (a fraction below 1), as lm_eval --limit."),
    ] = None,
    num_fewshot: Annotated[
        int | None, typer.Option(help="Few-shot examples (from each task's dev split).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="lm-eval batch size.", min=1)] = 1,
    data_dir: Annotated[
        str,
        typer.Option(
            help="Where the external benchmarks' files are (<dir>/ceval, cmmlu, financeiq, "
            "fineval); default $SOVTRAIN_EVAL_DATA."
        ),
    ] = "",
    out: Annotated[
        str, typer.Option(help="Results directory (default <output_uri>/eval/harness/step_X).")
    ] = "",
    list_tasks: Annotated[
        bool, typer.Option("--list-tasks", help="List the shipped lm-eval tasks and exit.")
    ] = False,
    no_mlflow: Annotated[
        bool, typer.Option("--no-mlflow", help="Do not log to the run's MLflow run.")
    ] = False,
    cluster: ClusterOpt = "",
) -> None:
    """Evaluate a model. Default: held-out perplexity by domain x language, and for
    fine-tuned runs task metrics (classification accuracy, extraction exact match / F1,
    translation chrF). With --tasks: lm-evaluation-harness tasks on local files, the numbers
    `lm_eval` reports for the same model. Either way logged to the training run's MLflow run
    at the evaluated step, and written under <output_uri>/eval/."""
    if list_tasks:
        _list_tasks()
        return
    if source.endswith((".yaml", ".yml")):
        from sovtrain.governance.admission import enforce
        from sovtrain.recipe import load_recipe

        recipe = load_recipe(Path(source)).recipe
        enforce(recipe, cluster or default_cluster(), f"{recipe.run.name}/eval")
    if tasks:
        from sovtrain.eval.harness import HarnessSpec, lm_eval_limit

        spec = HarnessSpec(
            tasks=tuple(t.strip() for t in tasks.split(",") if t.strip()),
            include_path=tuple(include_path or ()), limit=lm_eval_limit(limit),
            num_fewshot=num_fewshot, batch_size=batch_size, data_dir=data_dir or None,
        )  # fmt: skip
        _harness(source, spec, out or None, not no_mlflow)
        return
    from sovtrain.eval.runner import evaluate

    report = evaluate(source, log_to_mlflow=not no_mlflow)
    table = Table(title=f"{report.run_name} at step {report.step}")
    for column in ("metric", "domain", "language", "value", "n"):
        table.add_column(column, justify="right" if column in ("value", "n") else "left")
    for row in report.result.rows:
        table.add_row(row["metric"], row["domain"], row["lang"], f"{row['value']:.4g}",
                      str(row["n"]))  # fmt: skip
    console.print(table)
    for sample in report.result.samples[:4]:
        typer.echo(f"[{sample['task']}/{sample['lang']}] {sample['answer'][:160]}")
    typer.echo(f"written to {report.output_uri}/eval/ (eval.json, eval.md)")


def _harness(source: str, spec: Any, out_uri: str | None, log_to_mlflow: bool) -> None:
    """Run the tasks, show the table, file the rows in an export's model card."""
    from sovtrain.eval.harness_source import evaluate_harness

    report = evaluate_harness(source, spec, out_uri=out_uri, log_to_mlflow=log_to_mlflow)
    target = report.target
    table = Table(title=f"lm-eval on {target.label} (step {target.step})")
    for column in ("task / metric", "language", "value", "n", "shots"):
        table.add_column(column, justify="left" if column != "value" else "right")
    for row in report.card_rows:
        table.add_row(row["metric"], row["lang"], str(row["value"]), str(row["n"]),
                      str(row.get("num_fewshot", "")))  # fmt: skip
    console.print(table)
    typer.echo(f"lm-eval results: {report.results_uri}")
    if report.logged_to:
        typer.echo(f"MLflow run {report.logged_to}: eval/harness/<task>/<metric> at step "
                   f"{target.step}")  # fmt: skip
    if target.export_uri is not None:
        from sovtrain.export.model_card import add_eval_rows

        add_eval_rows(target.export_uri, report.card_rows, target.lineage)
        typer.echo(f"model card updated: {target.export_uri}/README.md (Evaluation)")


def _list_tasks() -> None:
    from sovtrain.eval.tasks import TASKS_DIR

    names = sorted(p.stem for p in TASKS_DIR.glob("*.yaml") if not p.stem.startswith("_"))
    typer.echo(f"shipped lm-eval tasks ({TASKS_DIR}):")
    for name in names:
        typer.echo(f"  {name}")


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
