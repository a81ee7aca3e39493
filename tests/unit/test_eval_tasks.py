"""The local lm-eval tasks: the shipped hkfin_mc set, the four external benchmarks read from a
data directory in their published layouts, the DataErrors a bad file gives, and what lm-eval
does with them. No model, no network: a scripted LM stands in where scoring runs."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import pytest
from lm_eval import simple_evaluate
from lm_eval.api.model import LM
from lm_eval.tasks import TaskManager

from sovtrain import storage
from sovtrain.core.errors import DataError
from sovtrain.eval.tasks import TASKS_DIR, loaders

LETTERS = ["A", "B", "C", "D"]
LANGS = {"en": "en", "zh_hant": "zh-Hant-HK", "zh_hans": "zh-Hans-CN"}
DATA = TASKS_DIR / "data"


def _manager(**metadata: Any) -> TaskManager:
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)


def _task(name: str, **metadata: Any) -> Any:
    return _manager(**metadata).load([name])["tasks"][name]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="lm_eval")


# --- the shipped set -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_shipped_task_loads_with_gold_indices(lang: str):
    task = _task(f"hkfin_mc_{lang}", pretrained="ignored", dtype="bfloat16")
    docs = list(task.test_docs())
    rows = _csv(DATA / f"hkfin_mc_{lang}_test.csv")
    assert len(docs) == len(rows) == 40
    assert [task.doc_to_target(d) for d in docs] == [LETTERS.index(r["answer"]) for r in rows]
    assert [task.doc_to_choice(d) for d in docs[:1]] == [LETTERS]
    assert len(list(task.fewshot_docs())) == 5
    meta = task.config.metadata
    assert (meta["lang"], meta["domain"], meta["card"]) == (
        LANGS[lang],
        "finance-logistics",
        "hkfin-mc-eval@1",
    )
    assert task.config.num_fewshot is None  # unset: 0 by default, and --num-fewshot applies


def test_shipped_languages_are_parallel_and_balanced():
    for split, size in (("test", 40), ("dev", 5)):
        per_lang = {lang: _csv(DATA / f"hkfin_mc_{lang}_{split}.csv") for lang in LANGS}
        keys = {lang: [(r["id"], r["answer"], r["domain"]) for r in rows] for lang, rows in
                per_lang.items()}  # fmt: skip
        assert keys["en"] == keys["zh_hant"] == keys["zh_hans"] and len(keys["en"]) == size
        for rows in per_lang.values():
            assert len({r["question"] for r in rows}) == size  # no repeated question
            assert all(len({r[x] for x in LETTERS}) == 4 for r in rows)  # four distinct options
    test = _csv(DATA / "hkfin_mc_en_test.csv")
    assert sorted(r["answer"] for r in test) == sorted(LETTERS * 10)
    assert sorted(r["domain"] for r in test) == ["finance"] * 20 + ["logistics"] * 20


def test_simplified_file_is_simplified_chinese():
    opencc = pytest.importorskip("opencc")
    to_simplified = opencc.OpenCC("t2s")
    for split in ("test", "dev"):
        for row in _csv(DATA / f"hkfin_mc_zh_hans_{split}.csv"):
            for field in ["question", *LETTERS]:
                # 赤鱲角 keeps 鱲, as mainland texts write the airport (not OpenCC's rare 𫚭)
                simplified = to_simplified.convert(row[field]).replace("𫚭", "鱲")
                assert simplified == row[field], (row["id"], field)


def test_group_resolves_to_the_three_languages():
    loaded = _manager().load(["hkfin_mc"])
    assert loaded["group_map"] == {"hkfin_mc": ["hkfin_mc_en", "hkfin_mc_zh_hant",
                                                "hkfin_mc_zh_hans"]}  # fmt: skip
    assert sorted(loaded["tasks"]) == ["hkfin_mc_en", "hkfin_mc_zh_hans", "hkfin_mc_zh_hant"]


PROMPTS = {
    "en": "The following are multiple choice questions (with answers) about finance and "
    "logistics in Hong Kong.\n\nQuestion: Which institution is Hong Kong's central banking "
    "institution, responsible for currency stability and the supervision of banks?\n"
    "A. The Securities and Futures Commission\nB. The Insurance Authority\n"
    "C. The Mandatory Provident Fund Schemes Authority\nD. The Hong Kong Monetary Authority\n"
    "Answer:",
    "zh_hant": "以下是關於香港金融及物流的單項選擇題，請選出其中的正確答案。\n\n"
    "哪個機構是香港的中央銀行機構，負責維持貨幣穩定及監管銀行？\nA. 證券及期貨事務監察委員會\n"
    "B. 保險業監管局\nC. 強制性公積金計劃管理局\nD. 香港金融管理局\n答案：",
    "zh_hans": "以下是关于香港金融及物流的单项选择题，请选出其中的正确答案。\n\n"
    "哪个机构是香港的中央银行机构，负责维持货币稳定及监管银行？\nA. 证券及期货事务监察委员会\n"
    "B. 保险业监管局\nC. 强制性公积金计划管理局\nD. 香港金融管理局\n答案：",
}


@pytest.mark.parametrize("lang", LANGS)
def test_prompt_of_first_doc(lang: str):
    task = _task(f"hkfin_mc_{lang}")
    doc = next(iter(task.test_docs()))
    assert task.fewshot_context(doc, 0) == PROMPTS[lang]
    shot = task.fewshot_context(doc, 1)  # the first dev question, answered, then the doc
    first_dev = _csv(DATA / f"hkfin_mc_{lang}_dev.csv")[0]
    assert first_dev["question"] in shot and shot.endswith(PROMPTS[lang].split("\n\n", 1)[1])
    assert task.doc_to_target(doc) == 3 and task.config.target_delimiter == " "


def test_reads_go_through_the_storage_door():
    seen: list[storage.Access] = []
    storage.add_guard(seen.append)
    try:
        loaders.hkfin_en()
    finally:
        storage.remove_guard(seen.append)
    assert {a.purpose for a in seen} == {"eval-data"}
    assert {Path(a.uri).name for a in seen if a.action == "read"} == {
        "hkfin_mc_en_test.csv",
        "hkfin_mc_en_dev.csv",
    }


# --- external benchmarks in their published layouts -----------------------------------------

CEVAL_HEAD = ["id", "question", "A", "B", "C", "D", "answer", "explanation"]
CMMLU_HEAD = ["", "Question", "A", "B", "C", "D", "Answer"]
SUBJECTS = {
    "ceval": ["accountant", "law"],
    "fineval": ["auditing", "finance"],
    "cmmlu": ["agronomy", "economics"],
    "financeiq": ["税务师", "银行从业资格"],  # FinanceIQ names its files in Chinese
}


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def _mc(n: int, subject: str, letter: str, suffix: str = "") -> list[str]:
    return [f"{subject}{suffix}-{n}：下列哪项正确？", "甲", "乙", "丙", "丁", letter]


def _published(root: Path, name: str) -> None:
    """Two subjects per benchmark: 3 scored rows and 2 dev rows each, in the real layout."""
    for subject in SUBJECTS[name]:
        if name in ("ceval", "fineval"):
            base = root / name
            for split, n in (("dev", 2), ("val", 3)):
                rows = [[str(i), *_mc(i, subject, "ABCD"[i % 4], split), "解析"] for i in range(n)]
                _write(base / split / f"{subject}_{split}.csv", CEVAL_HEAD, rows)
            test_rows = [[str(i), *_mc(i, subject, "")[:5]] for i in range(4)]
            _write(base / "test" / f"{subject}_test.csv", CEVAL_HEAD[:6], test_rows)
        else:
            base = root / name / ("data" if name == "financeiq" else "")
            for split, n in (("dev", 2), ("test", 3)):
                rows = [[str(i), *_mc(i, subject, "ABCD"[i % 4], split)] for i in range(n)]
                _write(base / split / f"{subject}.csv", CMMLU_HEAD, rows)


@pytest.mark.parametrize("name", ["ceval", "cmmlu", "financeiq", "fineval"])
def test_external_benchmark_loads_every_subject(name: str, tmp_path: Path):
    _published(tmp_path, name)
    task = _task(f"{name}_local", data_dir=str(tmp_path), pretrained="x")
    docs = list(task.test_docs())
    assert len(docs) == 6 and len({d["subject"] for d in docs}) == 2
    scored = "val" if name in ("ceval", "fineval") else "test"
    assert all(scored in d["question"] for d in docs)
    assert [task.doc_to_target(d) for d in docs] == [0, 1, 2, 0, 1, 2]
    dev = list(task.fewshot_docs())
    assert len(dev) == 4 and all("dev" in d["question"] for d in dev)
    shot = task.fewshot_context(docs[0], 2)
    assert (
        shot.startswith("以下是单项选择题，请选出其中的正确答案。\n\n")
        and shot.count("答案：") == 3
    )
    assert task.config.metadata["lang"] == "zh"


def test_data_dir_from_environment_and_any_column_case(tmp_path: Path, monkeypatch):
    base = tmp_path / "cmmlu"
    _write(base / "test" / "arts.csv", ["Unnamed: 0", "QUESTION", "a", "b", "c", "d", "ANSWER"],
           [["0", "问题", "1", "2", "3", "4", "b"]])  # fmt: skip
    _write(base / "dev" / "arts.csv", CMMLU_HEAD, [["0", "例题", "1", "2", "3", "4", "D"]])
    monkeypatch.setenv("SOVTRAIN_EVAL_DATA", str(tmp_path))
    data = loaders.cmmlu(version=1.0, pretrained="x")
    assert data["test"][0] == {"question": "问题", "A": "1", "B": "2", "C": "3", "D": "4",
                               "answer": "B", "subject": "arts"}  # fmt: skip
    assert data["dev"][0]["answer"] == "D"


# --- errors ----------------------------------------------------------------------------------


def _error(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(DataError) as err:
        fn(*args, **kwargs)
    return str(err.value)


def test_missing_data_dir_says_how_to_supply_it(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SOVTRAIN_EVAL_DATA", raising=False)
    text = _error(loaders.ceval)
    assert text.startswith("ceval_local: no benchmark data directory given")
    assert "data_dir" in text and "SOVTRAIN_EVAL_DATA" in text and "val/<subject>_val.csv" in text
    text = _error(loaders.fineval, data_dir=str(tmp_path))
    assert f"fineval_local: no fineval data at {tmp_path}/fineval (metadata data_dir)" in text


def test_missing_split_and_missing_file(tmp_path: Path):
    _published(tmp_path, "ceval")
    (tmp_path / "ceval" / "dev" / "law_dev.csv").unlink()
    text = _error(loaders.ceval, data_dir=str(tmp_path))
    assert text.startswith(f"{tmp_path}/ceval/dev/law_dev.csv: file not found")
    for path in (tmp_path / "ceval" / "val").iterdir():
        path.unlink()
    assert "no <subject>_val.csv files in" in _error(loaders.ceval, data_dir=str(tmp_path))
    (tmp_path / "ceval" / "val").rmdir()
    assert "no val/ split directory under" in _error(loaders.ceval, data_dir=str(tmp_path))


BAD_CSVS = {
    "missing column": ("id,question,A,B,C,D\n1,q,a,b,c,d\n",
                       "line 1: missing column 'answer' (found: id, question, A, B, C, D;"),
    "bad answer": ("id,question,A,B,C,D,answer\n1,q,a,b,c,d,A\n2,\"two\nlines\",a,b,c,d,B\n"
                   "3,q3,a,b,c,d,E\n", "line 5: answer 'E' is not one of A, B, C, D"),
    "empty question": ("question,A,B,C,D,answer\n q ,a,b,c,d,C\n  ,a,b,c,d,D\n",
                       "line 3: question is empty"),
    "field count": ("question,A,B,C,D,answer\nq,a,b,c,d\n", "line 2: 5 fields where the header"),
    "no rows": ("question,A,B,C,D,answer\n\n", ": no rows (expected at least one question"),
    "empty file": ("", ": empty file (expected a header row"),
    "duplicate column": ("Question,question,A,B,C,D,answer\n", "line 1: column 'question' appears"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_CSVS)
def test_malformed_file_names_file_line_and_field(case: str, tmp_path: Path):
    body, expected = BAD_CSVS[case]
    path = tmp_path / "val" / "accountant_val.csv"
    path.parent.mkdir()
    path.write_text(body, encoding="utf-8")
    text = _error(loaders.read_mc_csv, str(path))
    assert text.startswith(str(path)) and expected in text


def test_undecodable_file(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"question,A,B,C,D,answer\n" + "问".encode("gb18030"))
    assert "not UTF-8 text" in _error(loaders.read_mc_csv, str(path))


# --- what lm-eval does with a loader's DataError ---------------------------------------------


class ScriptedLM(LM):
    """Answers every question 'A' (log-likelihood 0 for ' A', -1 otherwise)."""

    def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
        return [(0.0 if r.args[1].strip() == "A" else -1.0, False) for r in requests]

    def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
        raise NotImplementedError

    def generate_until(self, requests: list[Any]) -> list[str]:
        raise NotImplementedError


def test_lm_eval_propagates_the_data_error(tmp_path: Path, monkeypatch):
    """Neither TaskManager.load nor simple_evaluate swallows it: the DataError itself comes
    out (no log-and-skip), so the runner's exit code 2 applies."""
    monkeypatch.delenv("SOVTRAIN_EVAL_DATA", raising=False)
    with pytest.raises(DataError, match="cmmlu_local: no benchmark data directory given"):
        _manager().load(["hkfin_mc_en", "cmmlu_local"])
    with pytest.raises(DataError, match=f"no ceval data at {tmp_path}/ceval"):
        simple_evaluate(model=ScriptedLM(), tasks=["ceval_local"], bootstrap_iters=0,
                        task_manager=_manager(data_dir=str(tmp_path)))  # fmt: skip


def test_the_runner_checks_task_data_before_any_model(tmp_path: Path):
    """`sovtrain.eval.harness.check_tasks` loads every task (and so its data) up front:
    lm-eval itself would build the model first."""
    from sovtrain.eval.harness import HarnessSpec, check_tasks

    spec = HarnessSpec(tasks=("hkfin_mc", "financeiq_local"), data_dir=str(tmp_path))
    with pytest.raises(DataError, match="financeiq_local: no financeiq data"):
        check_tasks(spec)
    _published(tmp_path, "financeiq")
    check_tasks(spec)


def test_scores_and_num_fewshot_override():
    """End to end with a scripted LM; `--num-fewshot` reaches the task (the YAML leaves
    num_fewshot unset: lm-eval ignores the override for a task whose YAML says 0)."""
    kwargs: dict[str, Any] = {"model": ScriptedLM(), "tasks": ["hkfin_mc"], "bootstrap_iters": 0}
    results = simple_evaluate(task_manager=_manager(), **kwargs)
    assert results is not None
    share_a = sum(r["answer"] == "A" for r in _csv(DATA / "hkfin_mc_en_test.csv")) / 40
    for lang in LANGS:
        assert results["results"][f"hkfin_mc_{lang}"]["acc,none"] == pytest.approx(share_a)
        assert results["n-shot"][f"hkfin_mc_{lang}"] == 0
    assert results["results"]["hkfin_mc"]["acc,none"] == pytest.approx(share_a)
    results = simple_evaluate(task_manager=_manager(), num_fewshot=3, limit=2, **kwargs)
    assert results is not None and results["n-shot"]["hkfin_mc_en"] == 3
