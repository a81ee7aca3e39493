"""Bad input becomes one clear error line (exit 2, no traceback) and nothing is written.

Each test writes the bad file for real and runs the real CLI entry point (`sovtrain.cli.main`,
in-process for speed; the alias bomb also through a subprocess). Console width is widened so
"one line" is the message's own shape, not rich's wrapping at 80 columns.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

import sovtrain_synth as synth
from sovtrain import storage
from sovtrain.core.errors import DataError, RecipeError
from sovtrain.recipe import load_recipe
from tests.conftest import REPO, TINY_RECIPE

CARD = "synthetic-finance-bilingual"
BOMB = "".join(
    f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
    for i in range(9)
)  # 9 ** 9 = 387 million leaves once expanded
CHAIN = "x:\n  k0: &k0 [1]\n" + "".join(f"  k{i}: &k{i} [*k{i - 1}]\n" for i in range(1, 80))


@pytest.fixture(autouse=True)
def _no_leftover_guards():
    """`data prepare` installs the residency guard process-wide: drop it after each test."""
    storage.clear_guards()
    yield
    storage.clear_guards()


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys, *args: str) -> tuple[int, str]:
    """`sovtrain ARGS` through the real entry point; (exit code, stdout + stderr)."""
    from sovtrain.cli import app as cli

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(cli, "_setup_logging", lambda: None)
    monkeypatch.setattr(cli.console, "width", 10_000)
    monkeypatch.setattr(sys, "argv", ["sovtrain", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def error_line(code: int, output: str) -> str:
    """The single `error: ...` line of a bad-input exit."""
    assert code == 2, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def recipe_file(tmp_path: Path, edit=None, extra: str = "") -> Path:
    recipe = copy.deepcopy(TINY_RECIPE)
    recipe["run"]["output_uri"] = str(tmp_path / "run")
    if edit is not None:
        edit(recipe)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False) + extra)
    return path


# --- bounded YAML -------------------------------------------------------------------------


def test_alias_bomb_is_refused_fast_with_bounded_memory(tmp_path):
    path = recipe_file(tmp_path, extra="x:\n" + BOMB)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 20e6, (elapsed, peak)
    assert str(err.value) == (
        f"{path}: refused to load the recipe: aliases expand the document to more than "
        "200,000 nodes (an alias bomb?)"
    )


def test_alias_bomb_through_the_installed_cli(tmp_path):
    path = recipe_file(tmp_path, extra="x:\n" + BOMB)
    result = subprocess.run(
        [str(REPO / ".venv/bin/sovtrain"), "recipe", "validate", str(path)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**os.environ, "COLUMNS": "1000"},
    )  # fmt: skip
    line = error_line(result.returncode, result.stdout + result.stderr)
    assert str(path) in line and "alias bomb" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("x: &a [*a]\n", ": recursive alias"),
        ("x: " + "[" * 80 + "]" * 80 + "\n", "nested deeper than 64 levels"),
        (CHAIN, "aliases nest the document deeper than 64 levels"),
        ("x: [" + ", ".join(["*k"] * 1001) + "]\nk: &k 1\n", "undefined alias"),
    ],
)
def test_recursive_deep_or_aliased_yaml_is_one_error_line(
    tmp_path, monkeypatch, capsys, extra, expected
):
    path = recipe_file(tmp_path, extra=extra)
    line = error_line(*run_cli(monkeypatch, capsys, "recipe", "validate", str(path)))
    assert str(path) in line and expected in line


def test_more_than_a_thousand_aliases_are_refused(tmp_path):
    path = recipe_file(tmp_path, extra="k: &k 1\nx: [" + ", ".join(["*k"] * 1001) + "]\n")
    with pytest.raises(RecipeError, match=r"line \d+: more than 1,000 aliases"):
        load_recipe(path)


def test_oversized_recipe_is_refused_naming_file_and_size(tmp_path, monkeypatch, capsys):
    path = recipe_file(tmp_path, extra="# padding\n" * 200_000)
    size = path.stat().st_size
    started = time.perf_counter()
    line = error_line(*run_cli(monkeypatch, capsys, "recipe", "validate", str(path)))
    assert time.perf_counter() - started < 1
    assert line == (
        f"error: {path}: the recipe is {size:,} bytes, over the 1,048,576-byte limit for YAML "
        "files (SOVTRAIN_YAML_MAX_BYTES)"
    )
    monkeypatch.setenv("SOVTRAIN_YAML_MAX_BYTES", str(4 << 20))
    assert load_recipe(path).recipe.run.name == "tiny"


def test_references_that_double_at_every_level_are_refused(tmp_path):
    names = [f"l{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]
    chain = {names[0]: "ab" * 32}
    chain.update({names[i]: f"${{x.{names[i - 1]}}}${{x.{names[i - 1]}}}" for i in range(1, 40)})

    def edit(recipe: dict[str, Any]) -> None:
        recipe["x"] = chain
        recipe["run"]["output_uri"] = f"${{x.{names[-1]}}}"

    started = time.perf_counter()
    with pytest.raises(RecipeError, match="references expand past 65,536 characters"):
        load_recipe(recipe_file(tmp_path, edit))
    assert time.perf_counter() - started < 0.5


def test_an_override_value_is_bounded_too(tmp_path, monkeypatch, capsys):
    path = recipe_file(tmp_path)
    bomb = "{" + ", ".join(BOMB.strip().replace("\n  ", "\n").splitlines()) + "}"
    line = error_line(
        *run_cli(monkeypatch, capsys, "recipe", "validate", str(path), "--set", f"x={bomb}")
    )
    assert "override x: refused to load the value" in line and "alias bomb" in line


# --- numbers, batches, paths --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("train.optimizer.lr", "1e400", "train.optimizer.lr: Input should be a finite number"),
        ("train.optimizer.lr", ".inf", "train.optimizer.lr: Input should be a finite number"),
        ("train.optimizer.lr", "1e39", "train.optimizer.lr: must be in (0, 1]"),
        ("train.optimizer.lr", "2.0", "train.optimizer.lr: must be in (0, 1]"),
        ("train.grad_clip", ".nan", "train.grad_clip: Input should be a finite number"),
        ("model.config.rope_theta", ".inf", "model.config: rope_theta: must be a finite"),
    ],
)
def test_numbers_must_be_finite_and_lr_sane(tmp_path, monkeypatch, capsys, field, text, expected):
    path = recipe_file(tmp_path)
    for args in (["--set", f"{field}={text}"],):
        line = error_line(*run_cli(monkeypatch, capsys, "recipe", "validate", str(path), *args))
        assert f"{path}: {expected}" in line
    assert not (tmp_path / "run").exists()


def test_lr_written_in_the_file_as_1e400(tmp_path, monkeypatch, capsys):
    path = recipe_file(tmp_path, lambda r: r["train"]["optimizer"].update(lr="LR"))
    path.write_text(path.read_text().replace("lr: LR", "lr: 1e400"))
    line = error_line(*run_cli(monkeypatch, capsys, "recipe", "validate", str(path)))
    assert line.endswith("train.optimizer.lr: Input should be a finite number (got '1e400')")


def test_micro_batch_must_divide_the_global_batch_at_validation(tmp_path, monkeypatch, capsys):
    path = recipe_file(tmp_path, lambda r: r["train"].update(micro_batch=64))
    expected = (
        f"error: {path}: train: the global batch (global_batch_sequences 8) must be a positive "
        "multiple of micro_batch (64): each optimizer step runs whole micro batches on every rank"
    )
    for command in (["recipe", "validate"], ["train"]):
        line = error_line(*run_cli(monkeypatch, capsys, *command, str(path)))
        assert line == expected
    assert not (tmp_path / "run").exists()


def test_world_size_split_is_a_recipe_error():
    recipe = load_recipe(REPO / "recipes/pretrain/finance-smoke.yaml").recipe
    with pytest.raises(RecipeError, match="not divisible by micro_batch") as err:
        recipe.train.grad_accumulation(3)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\u2028"])
@pytest.mark.parametrize(
    "field",
    ["run.output_uri", "data.prepared_uri", "model.init_from", "tracking.uri", "source.uri"],
)
def test_control_characters_in_paths_and_uris(tmp_path, monkeypatch, capsys, field, char):
    value = f"{tmp_path}/out{char}"

    def edit(recipe: dict[str, Any]) -> None:
        if field == "source.uri":
            recipe["data"]["sources"].append(
                {"kind": "files", "name": "f", "domain": "finance", "card": CARD, "uri": value}
            )
            return
        section, key = field.split(".")
        recipe[section][key] = value

    path = recipe_file(tmp_path, edit)
    line = error_line(*run_cli(monkeypatch, capsys, "recipe", "validate", str(path)))
    where = "data.sources.1.files.uri" if field == "source.uri" else field
    assert f"{path}: {where}: contains control character U+{ord(char):04X}" in line
    assert not (tmp_path / "run").exists()


# --- data sources -------------------------------------------------------------------------


def corpus_lines(documents: int = 100) -> list[bytes]:
    docs = synth.generate("finance", 3, documents, ["en", "zh-Hant", "zh-Hans"])
    return [json.dumps({"text": d.text, "desk": "fx"}, ensure_ascii=False).encode() for d in docs]


def files_recipe(tmp_path: Path, raw: bytes, **source: Any) -> Path:
    (tmp_path / "raw.jsonl").write_bytes(raw)
    spec = {"kind": "files", "name": "desks", "domain": "finance", "card": CARD,
            "uri": str(tmp_path / "raw.jsonl"), **source}  # fmt: skip

    def edit(recipe: dict[str, Any]) -> None:
        recipe["data"]["sources"] = [spec]
        recipe["tokenizer"]["fertility_report"] = False

    return recipe_file(tmp_path, edit)


def assert_nothing_prepared(tmp_path: Path) -> None:
    """No tokenizer, no shards, no manifest (the audit log of the admitted reads remains)."""
    data = tmp_path / "run" / "data"
    assert not (data / "tokenizer").exists() and not (data / "shards").exists()


def test_invalid_utf8_row_names_source_file_and_line(tmp_path, monkeypatch, capsys):
    lines = corpus_lines(5)
    lines.insert(2, b'{"text": "bad \xff byte"}')
    path = files_recipe(tmp_path, b"\n".join(lines) + b"\n")
    line = error_line(*run_cli(monkeypatch, capsys, "data", "prepare", str(path)))
    assert line == (
        f"error: data.sources 'desks': {tmp_path / 'raw.jsonl'} line 3: not valid UTF-8 "
        "(byte 0xff at column 15: invalid start byte) (on_bad_rows: skip would skip such rows)"
    )
    assert_nothing_prepared(tmp_path)


def test_last_line_cut_inside_a_chinese_character(tmp_path, monkeypatch, capsys):
    lines = corpus_lines(5)
    cut = '{"text": "港元存款'.encode()[:-1]  # the last character loses its final byte
    path = files_recipe(tmp_path, b"\n".join([*lines, cut]))
    line = error_line(*run_cli(monkeypatch, capsys, "data", "prepare", str(path)))
    assert f"raw.jsonl line {len(lines) + 1}: not valid UTF-8" in line
    assert "end of data; the file ends inside a multi-byte character: truncated?)" in line
    assert_nothing_prepared(tmp_path)


def test_bad_text_blocks_and_surrogate_escapes_are_bad_rows(tmp_path):
    from sovtrain.data.sources import read_source
    from sovtrain.recipe.schema import FilesSource

    (tmp_path / "a.txt").write_bytes("first\n\nsecond \xff\nstill\n\nthird".encode("latin-1"))
    (tmp_path / "b.jsonl").write_text('{"text": "ok"}\n{"text": "lone \\ud800"}\n')
    text = FilesSource(name="t", domain="finance", card="c", uri=str(tmp_path / "a.txt"),
                       format="text")  # fmt: skip
    with pytest.raises(DataError, match=r"a\.txt line 3: not valid UTF-8"):
        list(read_source(text, 0))
    counts: dict[str, Any] = {}
    skipping = text.model_copy(update={"on_bad_rows": "skip"})
    assert [r.text for r in read_source(skipping, 0, counts)] == ["first", "third"]
    assert counts == {"rows": 3, "filtered": 0, "bad_rows": 1}
    jsonl = FilesSource(name="j", domain="finance", card="c", uri=str(tmp_path / "b.jsonl"))
    with pytest.raises(DataError, match="line 2: field 'text' holds an unpaired UTF-16"):
        list(read_source(jsonl, 0))


def test_on_bad_rows_skip_counts_them_in_the_manifest(tmp_path):
    from sovtrain.data.prepare import prepare

    lines = corpus_lines(200)
    lines[10:10] = [b'{"text": "bad \xff"}', b"not json", b"[1, 2]", b'{"body": "no text"}']
    path = files_recipe(tmp_path, b"\n".join(lines) + b"\n", on_bad_rows="skip")
    prepared = prepare(load_recipe(path).recipe, show_progress=False)
    counts = prepared.manifest["source_rows"]["desks"]
    assert counts["rows"] == len(lines) and counts["bad_rows"] == 4
    assert counts["documents"] > 0


# --- empty corpora ------------------------------------------------------------------------


def test_filters_that_remove_every_row_fail_before_the_tokenizer(tmp_path, monkeypatch, capsys):
    lines = corpus_lines(20)
    filters = [{"field": "desk", "op": "in", "value": ["fx", "rates"]},
               {"field": "desk", "op": "!=", "value": "fx"}]  # fmt: skip
    path = files_recipe(tmp_path, b"\n".join(lines) + b"\n", filters=filters)
    line = error_line(*run_cli(monkeypatch, capsys, "data", "prepare", str(path)))
    assert line == (
        f"error: no documents to train on (no tokenizer or shards written): data.sources 'desks' "
        f"({tmp_path / 'raw.jsonl'}): 60 rows read, 60 removed by row filters (desk in "
        "['fx', 'rates']: 0, desk != 'fx': 60), 0 bad rows skipped, 0 removed by "
        "data.cleaning, 0 documents left"
    )
    assert_nothing_prepared(tmp_path)


def test_an_empty_file_and_a_source_left_empty_among_others(tmp_path, monkeypatch, capsys):
    path = files_recipe(tmp_path, b"")
    line = error_line(*run_cli(monkeypatch, capsys, "data", "prepare", str(path)))
    assert "no documents to train on" in line and "'desks'" in line and "0 rows read" in line
    recipe = yaml.safe_load(path.read_text())
    recipe["data"]["sources"].insert(0, {"kind": "synthetic", "name": "fin", "documents": 200})
    recipe["data"]["cleaning"] = {"min_chars": 200}
    (tmp_path / "raw.jsonl").write_bytes(b'{"text": "too short to keep"}\n')
    path.write_text(yaml.safe_dump(recipe))
    line = error_line(*run_cli(monkeypatch, capsys, "data", "prepare", str(path)))
    assert line.startswith(
        "error: 1 source(s) yielded no documents (no tokenizer or shards written): "
    )
    assert "data.sources 'desks'" in line and "'fin'" not in line
    assert "1 rows read" in line and "1 removed by data.cleaning (length: 1)" in line
    assert_nothing_prepared(tmp_path)


# --- slurm --------------------------------------------------------------------------------


def test_render_to_a_file_creates_the_log_directory(tmp_path, monkeypatch, capsys):
    recipe = str(REPO / "recipes/pretrain/finance-smoke.yaml")
    monkeypatch.setenv("SOVTRAIN_CLUSTERS_DIR", str(REPO / "slurm/clusters"))
    script = tmp_path / "job.sbatch"
    from sovtrain.cli import app as cli

    monkeypatch.setattr(cli, "_setup_logging", lambda: None)
    monkeypatch.setattr(sys, "argv", ["sovtrain", "slurm", "render", recipe, "--cluster",
                                      "local-ci", "-o", str(script)])  # fmt: skip
    monkeypatch.chdir(tmp_path)  # the submit directory: relative log_dir lands here
    with pytest.raises(SystemExit) as exited:
        cli.main()
    output = " ".join(capsys.readouterr().out.split())
    assert exited.value.code == 0
    logs = tmp_path / "slurm-logs"
    assert logs.is_dir() and f"#SBATCH --output={logs}/%x-%j.out" in script.read_text()
    assert f"created the log directory {logs} (sbatch does not)" in output


def test_a_split_left_empty_fails_before_the_tokenizer(tmp_path, monkeypatch, capsys):
    def edit(recipe: dict[str, Any]) -> None:
        recipe["data"]["sources"][0]["documents"] = 10
        recipe["data"]["heldout_fraction"] = 0.0001

    path = recipe_file(tmp_path, edit)
    line = error_line(*run_cli(monkeypatch, capsys, "data", "prepare", str(path)))
    assert line.startswith("error: the heldout split got none of the ")
    assert "data.heldout_fraction 0.0001" in line
    assert_nothing_prepared(tmp_path)


def test_chat_files_with_bad_bytes_name_the_source_file_and_line(tmp_path):
    from sovtrain.core.errors import DataError
    from sovtrain.data.sft import read_chat_source
    from sovtrain.recipe.schema import ChatFilesSource

    good = {"messages": [{"role": "user", "content": "問"}, {"role": "assistant", "content": "答"}]}
    path = tmp_path / "chat.jsonl"
    line = json.dumps(good, ensure_ascii=False).encode()
    cut = line.rindex("答".encode()) + 1  # inside the last Chinese character
    path.write_bytes(line + b"\n" + line[:cut])
    source = ChatFilesSource(
        name="desk", kind="chat-files", domain="finance", uri=str(path), card="x"
    )
    with pytest.raises(DataError, match=r"'desk': .*chat.jsonl line 2: not valid UTF-8"):
        list(read_chat_source(source, seed=0))
