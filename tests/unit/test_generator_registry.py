"""The generators are a plugin: the trainer imports and runs without `sovtrain_synth`, a recipe
that needs a generated source then fails with a clear message, and the registry gives the data
layer exactly what the generator package produces."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sovtrain_synth as synth
from sovtrain.core.errors import DataError
from sovtrain.core.generators import Registry, generators
from sovtrain.data.sources import read_source
from sovtrain.recipe.schema import SyntheticSource
from sovtrain_synth.instructions import generate_sft
from tests.conftest import REPO

# Runs each `sovtrain ...` argv in one interpreter (torch is imported once), with the
# generator package blocked before anything is imported, as if it were not installed.
WITHOUT_GENERATORS = textwrap.dedent(
    """
    import json, sys
    sys.modules["sovtrain_synth"] = None  # `import sovtrain_synth` now raises ImportError
    import sovtrain.train.session, sovtrain.data.prepare, sovtrain.recipe, sovtrain.cli.app
    from sovtrain.cli.app import main

    for argv in json.loads(sys.argv[1]):
        sys.argv = ["sovtrain", *argv]
        try:
            main()
        except SystemExit as stop:
            print(f"@@exit {stop.code}", flush=True)
    """
)


def _run_without_generators(*commands: list[str], cwd: Path) -> list[tuple[int, str]]:
    """(exit code, output) per command: what it printed on stdout and stderr."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_GENERATORS, json.dumps(list(commands))],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
        env={"PYTHONPATH": str(REPO), "COLUMNS": "400", "PATH": "/usr/bin:/bin",
             "HOME": str(cwd), "DS_ACCELERATOR": "cpu", "MLFLOW_LOGGING_LEVEL": "WARNING"},
    )  # fmt: skip
    assert "Traceback" not in done.stdout, done.stdout
    results: list[tuple[int, str]] = []
    printed: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith("@@exit "):
            results.append((int(line.removeprefix("@@exit ")), "\n".join(printed)))
            printed = []
        else:
            printed.append(line)
    assert len(results) == len(commands), done.stdout
    return results


def test_trainer_imports_and_refuses_generated_sources_without_the_generators(tmp_path):
    pretrain, chat = REPO / "recipes/pretrain/finance-smoke.yaml", REPO / "recipes/finetune"
    for folder in ("base", "pretrain"):  # the smoke recipe reading files: `extends` still works
        (tmp_path / folder).mkdir()
    (tmp_path / "base/smoke.yaml").write_bytes((REPO / "recipes/base/smoke.yaml").read_bytes())
    files = tmp_path / "pretrain/files.yaml"
    smoke = pretrain.read_text().replace("kind: synthetic", "kind: files")
    files.write_text(smoke.replace("documents: 2000", "uri: docs.jsonl"))
    results = _run_without_generators(
        ["recipe", "validate", str(pretrain)],
        ["recipe", "validate", str(chat / "finance-sft-smoke.yaml")],
        ["data", "generate", "finance", str(tmp_path / "out"), "--documents", "3"],
        ["recipe", "validate", str(files)],
        cwd=tmp_path,
    )
    (synthetic, out1), (synthetic_chat, out2), (generate, out3), (plain, out4) = results
    assert synthetic == synthetic_chat == generate == 2, results
    assert "kind synthetic needs a generator package" in out1, out1
    assert "kind synthetic-chat needs a generator package" in out2, out2
    for out in (out1, out2, out3):
        assert "sovtrain_synth is not installed" in out, out
    assert plain == 0 and "ok" in out4, out4  # a recipe of files needs no generator


def test_registry_lists_the_generator_packages_corpora_and_kits():
    corpora = generators.corpora()
    assert list(corpora) == list(synth.CORPORA)  # same order: the CLI lists them
    for name, spec in synth.CORPORA.items():
        assert (corpora[name].domain, corpora[name].languages) == (spec.domain, spec.languages)
    assert sorted(generators.chat_kits()) == ["finance", "logistics"]
    assert generators.generator_version() == synth.GENERATOR_VERSION
    assert generators.unavailable() == ()


def test_generated_sources_read_through_the_registry_are_the_generators_output():
    source = SyntheticSource(name="s", domain="finance", corpus="hk-bank-comms", documents=12)
    got = [(r.doc_id, r.domain, r.text) for r in read_source(source, 3)]
    direct = synth.generate("hk-bank-comms", 3, 12, list(source.languages))
    assert got == [(d.doc_id, d.domain, d.text) for d in direct]
    kit = generators.chat_kit("logistics")
    tasks, langs = ("classify", "translate"), ("en", "zh-Hans")
    assert list(kit.generate(4, 20, tasks, langs)) == list(
        generate_sft("logistics", 4, 20, tasks, langs)
    )


def _plugin(root: Path, name: str, body: str) -> str:
    (root / f"{name}.py").write_text(textwrap.dedent(body))
    return name


def test_a_plugin_registers_corpora_and_a_missing_package_is_reported(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    tiny = _plugin(tmp_path, "tiny_generators", """
        from sovtrain.core.generators import Corpus

        def register(registry):
            registry.add_version("tiny", 9)
            registry.add_corpus(Corpus("tiny", "healthcare", ("en",), lambda *_: iter(())))
        """)  # fmt: skip
    plugins = Registry((tiny, "not_installed_generators.plugin"))
    assert list(plugins.corpora()) == ["tiny"] and plugins.corpora()["tiny"].domain == "healthcare"
    assert plugins.generator_version() == 9
    assert plugins.unavailable() == ("not_installed_generators",)
    with pytest.raises(DataError, match="no generated corpus 'finance'"):
        plugins.corpus("finance")
    with pytest.raises(DataError, match="not_installed_generators is not installed"):
        plugins.chat_kit("finance")


def test_a_broken_plugin_is_an_error_not_a_missing_one(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = _plugin(tmp_path, "broken_generators", "import no_such_module_here\n")
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"):
        Registry((broken,)).corpora()
    twice = _plugin(tmp_path, "twice_generators", """
        from sovtrain.core.generators import Corpus

        def register(registry):
            for _ in range(2):
                registry.add_corpus(Corpus("dup", "finance", ("en",), lambda *_: iter(())))
        """)  # fmt: skip
    with pytest.raises(ValueError, match="corpus 'dup' is registered twice"):
        Registry((twice,)).corpora()
