"""The eval runner, reports and `tia eval` command.

Most tests here run `tia eval` against `ScriptedAssistant`, a fake that returns canned
`Answer`s: they test the runner, the metrics/report arithmetic and the CLI contract
(files, exit codes, --compare), not the assistant. The metrics in report.json are
checked against a count made by hand from the canned answers below. The last test
(marked slow) runs the real `tia eval` end to end on the real model and corpus.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.answer import Answer, Citation, Passage
from evals import commands
from evals.commands import eval_command, ragas_import
from evals.dataset import load_dataset
from evals.metrics import compute_metrics
from evals.runner import EvalError, read_answers, run_records
from knowledge.errors import AnswerError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMALL = FIXTURES / "eval_small.jsonl"
CVL = "/corpus/004_a4a221ff72913230.txt"
GE = "/corpus/000_1b396a36e8a233e6.txt"
OTHER = "/corpus/002_20f9fc35e5466faa.txt"


def cite(n: int, source: str, quote: str = "q") -> Citation:
    return Citation(n=n, source=source, doc_id="d", title="Titre", date=None, page=None, quote=quote, start=0, end=1, score=1.0)


def passage(rank: int, source: str) -> Passage:
    return Passage(rank=rank, chunk_id=f"c{rank}", doc_id="d", source=source, title="t", date=None, page=None,
                   start=0, end=1, text=f"texte {rank} de {source}", score=1.0 / rank)


def ans(text: str, citations=(), passages=(), abstained: bool = False, total: float = 1.0) -> Answer:
    return Answer(question="", text=text, citations=list(citations), abstained=abstained, language="fr",
                  timings={"retrieve": total / 2, "total": total}, passages=list(passages))


# Canned answers for tests/fixtures/eval_small.jsonl, keyed by question.
# Hand count (answerable: s-count, s-list, s-en, s-followup, s-abstain; unanswerable: s-oos-1, s-oos-2):
#   facts found   s-count 1/1, s-list 1/2, s-en 0/1 ("15" only in a mark and in "2015"), s-followup 1/1, s-abstain 0/1
#   citations     s-count 1 of 1 match, s-list 1 of 2, s-en 0 of 1, s-followup 2 of 2, s-abstain none
#   1st relevant  s-count rank 2, s-list 1, s-en none, s-followup 1, s-abstain 1
#   abstained     s-abstain (answerable), s-oos-1 (unanswerable); s-oos-2 answered
#   passed        s-count, s-followup, s-oos-1
#   total ms      10, 20, 30, 40 (the first turn's 1000 is not scored), 60, 5, 50
CANNED: dict[str, Answer] = {
    "Combien de territoires du CVL sont lauréats de la phase 2 ?": ans(
        "Douze territoires sont lauréats [1].", [cite(1, CVL)], [passage(1, OTHER), passage(2, CVL)], total=10),
    "Quels territoires du Grand Est avaient signé leur propre protocole ?": ans(
        "Sud-Alsace avait signé [1]. Voir aussi [2].", [cite(1, GE), cite(2, OTHER)], [passage(1, GE)], total=20),
    "How many industrial territories does Grand Est have?": ans(
        "Grand Est adopted a plan in 2015 [15].", [cite(15, OTHER)], [passage(1, OTHER), passage(2, OTHER)], total=30),
    "Quels territoires du Grand Est ont signé leur propre protocole ?": ans(
        "Sud-Alsace et Bazancourt-Pomacle [1].", [cite(1, GE)], [passage(1, GE)], total=1000),
    "Et combien de territoires compte la région ?": ans(
        "La région compte quinze territoires [1][2].", [cite(1, GE), cite(2, GE)], [passage(1, GE)], total=40),
    "Combien de Territoires d'industrie compte la France fin 2019 ?": ans(
        "Je n'ai pas trouvé la réponse.", [], [passage(1, GE)], abstained=True, total=60),
    "Quel est le prix du gazole à Lyon ?": ans("Je n'ai pas trouvé la réponse.", abstained=True, total=5),
    "What is the weather like in Paris?": ans("It is <b>sunny</b> [1].", [cite(1, OTHER, "<script>alert(1)</script>")],
                                             [passage(1, OTHER)], total=50),
}
HAND_COUNT = {
    "pass_rate": 3 / 7,
    "fact_recall": (1 + 0.5 + 0 + 1 + 0) / 5,
    "all_facts": 2 / 5,
    "fact_recall_fr": (1 + 0.5 + 1 + 0) / 4,
    "fact_recall_en": 0.0,
    "fact_recall_gap": 0.625,
    "citation_hit": 3 / 5,
    "citation_precision": (1 + 1 + 0 + 2 + 0) / (1 + 2 + 1 + 2 + 0),
    "abstention_accuracy": 1 / 2,
    "false_abstention": 1 / 5,
    "hit@1": 3 / 5,
    "hit@3": 4 / 5,
    "hit@5": 4 / 5,
    "mrr": (1 / 2 + 1 + 0 + 1 + 1) / 5,
    # Lengths of the 5 non-abstained answers, marks removed: 19 ("It is <b>sunny</b>."), 32 (s-count),
    # 33 (s-en), 35 (s-list), 36 (s-followup); p90 is the 5th of 5 by nearest rank.
    "length_median": len("Grand Est adopted a plan in 2015."),
    "length_p90": len("La région compte quinze territoires."),
    "length_max": len("La région compte quinze territoires."),
    "latency_total_p50": 30,  # of 5, 10, 20, 30, 40, 50, 60
    "latency_total_p95": 60,  # nearest rank: the 7th of 7
    "latency_total_max": 60,
}


class ScriptedAssistant:
    """A fake with the Assistant's `answer`/`warm_up` signature; records what it was asked."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Any]] = []

    def warm_up(self) -> None:
        self.calls.append(("warm_up", None))

    def answer(self, question: str, history=None, filters=None, k=None) -> Answer:
        self.calls.append((question, {"history": history, "k": k}))
        canned = self.answers[question]
        return Answer.from_dict({**canned.to_dict(), "question": question})


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedAssistant:
    fake = ScriptedAssistant(CANNED)
    monkeypatch.setattr(commands, "build_assistant", lambda ctx: fake)
    return fake


def invoke(command, args: list[str]):
    return CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)


def run_eval(out: Path, *extra: object):
    return invoke(eval_command, [SMALL, "--out", out, "--quiet", *extra])


# -- runner -----------------------------------------------------------------------------
def test_runner_warms_up_then_asks_turns_with_history(scripted: ScriptedAssistant) -> None:
    records = load_dataset(SMALL)
    runs = run_records(scripted, records, k=5)
    assert scripted.calls[0] == ("warm_up", None)
    asked = [q for q, _ in scripted.calls[1:]]
    assert asked == [q for r in records for q in r.turns]
    followup = next(r for r in runs if r.record.id == "s-followup")
    first, second = [c for c in scripted.calls if c[0] in followup.record.turns]
    assert first[1] == {"history": None, "k": 5}
    assert second[1]["history"] == [
        {"role": "user", "content": "Quels territoires du Grand Est ont signé leur propre protocole ?"},
        {"role": "assistant", "content": "Sud-Alsace et Bazancourt-Pomacle [1]."},
    ]
    assert followup.answer.text == "La région compte quinze territoires [1][2]."  # the last answer is scored
    assert [a.text for a in followup.earlier] == ["Sud-Alsace et Bazancourt-Pomacle [1]."]


def test_runner_names_the_record_when_the_assistant_fails() -> None:
    class Failing(ScriptedAssistant):
        def answer(self, question: str, history=None, filters=None, k=None) -> Answer:
            raise AnswerError("the LLM endpoint did not answer")

    with pytest.raises(EvalError, match=r"record 's-count' \(.*eval_small.jsonl:2\): the LLM endpoint did not answer"):
        run_records(Failing({}), load_dataset(SMALL))


# -- tia eval: files and hand-counted metrics --------------------------------------------
def test_eval_writes_four_files_and_metrics_match_the_hand_count(scripted, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_eval(out)
    assert result.exit_code == 0, result.output
    for name in ("answers.jsonl", "report.json", "report.md", "report.html"):
        assert (out / name).is_file(), name
        assert f"wrote {out / name}" in result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for name, expected in HAND_COUNT.items():
        assert report["metrics"][name] == pytest.approx(expected), name
    assert report["counts"] == {"records": 7, "answerable": 5, "unanswerable": 2, "passed": 3, "fr": 5, "en": 2}
    assert report["by_tag"]["number"]["n"] == 2 and report["by_tag"]["number"]["fact_recall"] == pytest.approx(0.5)
    assert report["by_lang"]["en"]["abstention_accuracy"] == 0.0
    assert report["config"]["tia_version"] and report["config"]["records"] == 7
    assert {r["id"] for r in report["records"] if not r["passed"]} == {"s-list", "s-en", "s-abstain", "s-oos-2"}
    assert "3/7 passed" in result.output


def test_answers_jsonl_holds_every_raw_answer(scripted, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_eval(out).exit_code == 0
    lines = [json.loads(line) for line in (out / "answers.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [r.id for r in load_dataset(SMALL)]
    followup = next(line for line in lines if line["id"] == "s-followup")
    assert [a["text"] for a in followup["earlier_turns"]] == ["Sud-Alsace et Bazancourt-Pomacle [1]."]
    answers = read_answers(out / "answers.jsonl")
    assert answers["s-count"].citations[0].source == CVL and answers["s-count"].passages[1].rank == 2
    records = load_dataset(SMALL)
    recomputed = compute_metrics([(r, answers[r.id]) for r in records])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {k: recomputed[k] for k in HAND_COUNT} == {k: report["metrics"][k] for k in HAND_COUNT}


def test_reports_show_failed_questions_and_escape_html(scripted, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_eval(out).exit_code == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| fact_recall | 0.500 |" in md
    assert "## Failed questions (4)" in md
    section = md.split("### s-list", 1)[1].split("###", 1)[0]
    assert "- [x] Sud-Alsace" in section and "- [ ] Bazancourt-Pomacle" in section
    assert "> Sud-Alsace avait signé [1]. Voir aussi [2]." in section
    assert "[2] 002_20f9fc35e5466faa.txt" in section
    assert "### s-count" not in md  # passed questions are not listed
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "<b>sunny</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;sunny&lt;/b&gt;" in page
    assert "<style>" in page and not re.search(r"<(link|script)\b|\bsrc=|https?://", page)  # self-contained
    assert page.count("<section class='q'>") == 4


def test_export_ragas_then_import_round_trip(scripted, tmp_path: Path) -> None:
    out, ragas = tmp_path / "out", tmp_path / "ragas.jsonl"
    result = run_eval(out, "--export-ragas", ragas)
    assert result.exit_code == 0 and f"wrote {ragas}" in result.output
    rows = [json.loads(line) for line in ragas.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 7 and rows[0]["answer"] == "Douze territoires sont lauréats [1]."
    assert rows[0]["contexts"] == [f"texte 1 de {OTHER}", f"texte 2 de {CVL}"]
    dataset = tmp_path / "back.jsonl"
    imported = invoke(ragas_import, [ragas, "-o", dataset])
    assert imported.exit_code == 0, imported.output
    assert load_dataset(dataset) == load_dataset(SMALL)


def test_ragas_import_of_a_bad_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"answer": "no question"}\n', encoding="utf-8")
    result = invoke(ragas_import, [bad])
    assert result.exit_code == 2 and "missing question" in result.output


def test_default_out_dir_is_timestamped_under_eval_out(scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = invoke(eval_command, [SMALL, "-q"])
    second = invoke(eval_command, [SMALL, "-q"])
    assert first.exit_code == second.exit_code == 0
    dirs = sorted(p for p in (tmp_path / ".eval-out").iterdir())
    assert len(dirs) == 2  # two runs in the same second do not overwrite each other
    assert re.fullmatch(r"\d{8}-\d{6}(-\d+)?", dirs[0].name)
    assert all((d / "report.json").is_file() for d in dirs)


def test_progress_bar_goes_to_stderr_unless_quiet(scripted, tmp_path: Path) -> None:
    loud = CliRunner().invoke(eval_command, [str(SMALL), "--out", str(tmp_path / "a")])
    assert "eval: 100%" in loud.stderr and "7/7" in loud.stderr and "7/7" not in loud.stdout
    quiet = CliRunner().invoke(eval_command, [str(SMALL), "--out", str(tmp_path / "b"), "-q"])
    assert "7/7" not in quiet.stderr


# -- exit status ------------------------------------------------------------------------
def test_thresholds_that_hold_exit_0(scripted, tmp_path: Path) -> None:
    result = run_eval(tmp_path / "o", "--fail-under", "fact_recall=0.5", "--fail-under", "hit@3=0.8",
                      "--fail-over", "false_abstention=0.2", "--fail-over", "latency_total_p95=60")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert [t["ok"] for t in report["thresholds"]] == [True, True, True, True]


def test_a_failed_threshold_exits_1_and_says_by_how_much(scripted, tmp_path: Path) -> None:
    result = run_eval(tmp_path / "o", "--fail-under", "fact_recall=0.6", "--fail-over", "false_abstention=0.1",
                      "--fail-under", "mrr=0.5")
    assert result.exit_code == 1
    assert "FAILED: fact_recall = 0.5, 0.1 below the threshold 0.6" in result.stderr
    assert "FAILED: false_abstention = 0.2, 0.1 above the threshold 0.1" in result.stderr
    assert "mrr" not in result.stderr  # 0.7 >= 0.5 holds
    assert (tmp_path / "o" / "report.json").is_file()  # the reports are written anyway
    md = (tmp_path / "o" / "report.md").read_text(encoding="utf-8")
    assert "| fact_recall | 0.500 | ≥ 0.6 FAILED |" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-under", "recall=0.5"], "unknown metric 'recall'; valid names: pass_rate, fact_recall"),
        (["--fail-under", "fact_recall"], "expected METRIC=VALUE"),
        (["--fail-under", "fact_recall=high"], "expected METRIC=VALUE"),
        (["--fail-under", "false_abstention=0.1"], "use --fail-over false_abstention=0.1"),
        (["--fail-over", "fact_recall=0.1"], "use --fail-under fact_recall=0.1"),
        (["--k", "0"], "1<=x<=100"),
    ],
)
def test_usage_errors_exit_2_before_anything_runs(scripted, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(eval_command, [str(SMALL), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert scripted.calls == []


def test_invalid_dataset_exits_2_listing_every_bad_line(scripted, tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_command, [str(FIXTURES / "eval_invalid.jsonl"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    for line in (2, 3, 4, 5, 7, 8, 9):
        assert f"eval_invalid.jsonl:{line}:" in result.output
    assert "Traceback" not in result.output
    assert scripted.calls == []


def test_assistant_errors_exit_2_with_a_clean_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Broken(ScriptedAssistant):
        def answer(self, question: str, history=None, filters=None, k=None) -> Answer:
            raise AnswerError("cannot reach http://127.0.0.1:9/v1")

    monkeypatch.setattr(commands, "build_assistant", lambda ctx: Broken({}))
    result = CliRunner().invoke(eval_command, [str(SMALL), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "Error: record 's-count'" in result.output and "cannot reach" in result.output
    assert "Traceback" not in result.output


def test_bad_settings_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIA_CHROMA_URL", "not-a-url")
    result = CliRunner().invoke(eval_command, [str(SMALL), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "TIA_CHROMA_URL must start with http" in result.output


# -- --compare --------------------------------------------------------------------------
def test_compare_shows_deltas_and_flips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(commands, "build_assistant", lambda ctx: ScriptedAssistant(CANNED))
    assert run_eval(tmp_path / "before").exit_code == 0
    # Second run: s-list now finds both facts (fail -> pass), s-count loses its fact (pass -> fail).
    changed = dict(CANNED)
    changed["Quels territoires du Grand Est avaient signé leur propre protocole ?"] = ans(
        "Sud-Alsace et Bazancourt-Pomacle [1].", [cite(1, GE)], [passage(1, GE)], total=20)
    changed["Combien de territoires du CVL sont lauréats de la phase 2 ?"] = ans(
        "Onze territoires [1].", [cite(1, CVL)], [passage(1, OTHER), passage(2, CVL)], total=10)
    monkeypatch.setattr(commands, "build_assistant", lambda ctx: ScriptedAssistant(changed))
    result = run_eval(tmp_path / "after", "--compare", tmp_path / "before" / "report.json")
    assert result.exit_code == 0, result.output
    assert "1 pass→fail, 1 fail→pass" in result.output
    report = json.loads((tmp_path / "after" / "report.json").read_text(encoding="utf-8"))
    compare = report["compare"]
    assert compare["pass_to_fail"] == ["s-count"] and compare["fail_to_pass"] == ["s-list"]
    # fact_recall: s-count 1 -> 0 and s-list 0.5 -> 1, so (0 + 1 + 0 + 1 + 0) / 5 = 0.4, delta -0.1
    assert compare["metrics"]["fact_recall"]["previous"] == pytest.approx(0.5)
    assert compare["metrics"]["fact_recall"]["delta"] == pytest.approx(-0.1)
    assert compare["metrics"]["fact_recall"]["better"] is False
    # citation_precision: s-list now cites 1 of 1: (1 + 1 + 0 + 2) / (1 + 1 + 1 + 2) = 0.8 (was 4/6)
    assert compare["metrics"]["citation_precision"]["delta"] == pytest.approx(0.8 - 4 / 6)
    assert compare["metrics"]["citation_precision"]["better"] is True
    md = (tmp_path / "after" / "report.md").read_text(encoding="utf-8")
    assert "| fact_recall | 0.400 | 0.500 | ▼ -0.100 |" in md
    assert "- pass → fail (1): s-count" in md and "- fail → pass (1): s-list" in md
    page = (tmp_path / "after" / "report.html").read_text(encoding="utf-8")
    assert "pass → fail (1): s-count" in page and "class=\"worse\">▼ -0.100" in page
    # A directory holding report.json is accepted too.
    again = run_eval(tmp_path / "again", "--compare", tmp_path / "before")
    assert again.exit_code == 0 and "1 pass→fail, 1 fail→pass" in again.output


def test_compare_with_something_that_is_not_a_report_exits_2(scripted, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    result = CliRunner().invoke(eval_command, [str(SMALL), "--out", str(tmp_path / "o"), "--compare", str(other)])
    assert result.exit_code == 2 and "not a tia eval report.json" in result.output
    assert scripted.calls == []


# -- the command as a plugin of `tia` ----------------------------------------------------
def test_eval_command_is_loaded_by_tia_without_gradio() -> None:
    code = (
        "import sys; from assistant.cli import cli; import click;"
        "cmd = cli.get_command(click.Context(cli), 'eval');"
        "print(type(cmd).__name__, cmd.name, 'gradio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.split() == ["Command", "eval", "False"], out.stderr


# -- end to end, real model and corpus ---------------------------------------------------
@pytest.mark.slow
def test_tia_eval_end_to_end(corpus_data_dir: Path, tmp_path: Path) -> None:
    """`tia eval` as a user runs it, on the ingested bundled corpus with the real embedder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    env["TIA_DATA_DIR"] = str(corpus_data_dir)
    out = tmp_path / "e2e"
    dataset = FIXTURES / "eval_e2e.jsonl"

    def tia_eval(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "assistant", "eval", str(dataset), "--out", str(out), "--quiet", *extra],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
        )

    # The threshold is reachable only by a measured latency > 0 ms: the run fails it for real.
    result = tia_eval("--fail-over", "latency_total_max=0")
    assert result.returncode == 1, result.stderr
    assert "FAILED: latency_total_max =" in result.stderr
    for name in ("answers.jsonl", "report.json", "report.md", "report.html"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    config = report["config"]
    assert config["embedder"] and config["store"] == "embedded" and config["documents"] == 5
    assert re.fullmatch(r"[0-9a-f]{16}", config["corpus_fingerprint"]) and config["k"] == 8
    assert report["counts"]["records"] == 4
    answers = read_answers(out / "answers.jsonl")
    assert set(answers) == {"e2e-ge-count", "e2e-cvl-en", "e2e-followup", "e2e-oos"}
    corpus_files = {p.name for p in (ROOT / "knowledge" / "corpus").glob("*.txt")}
    for answer in answers.values():
        assert answer.passages, answer.question
        assert {"retrieve", "total"} <= set(answer.timings)
        assert all(Path(c.source).name in corpus_files for c in answer.citations)
    # The report's metrics are those of the answers it wrote.
    records = load_dataset(dataset)
    recomputed = compute_metrics([(r, answers[r.id]) for r in records], hit_ks=(1, 3, 5, 8))
    stable = [name for name in recomputed if not name.startswith("latency_")]
    assert {n: recomputed[n] for n in stable} == {n: report["metrics"][n] for n in stable}

    assert tia_eval("--fail-under", "hit@8=0", "--k", "3").returncode == 0
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["config"]["k"] == 3


@pytest.mark.slow
def test_tia_eval_on_the_dev_set(corpus_data_dir: Path, tmp_path: Path) -> None:
    """Acceptance: `tia eval evals/datasets/dev.jsonl --out DIR` writes the four files (the knowledge
    base chosen with the group's --data-dir option). Quality is not asserted here: that is the
    report's job, and the figures live in evals/README.md."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    out = tmp_path / "dev"
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "--data-dir", str(corpus_data_dir), "eval",
         str(ROOT / "evals" / "datasets" / "dev.jsonl"), "--out", str(out), "--quiet"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["answers.jsonl", "report.html", "report.json", "report.md"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    records = load_dataset(ROOT / "evals" / "datasets" / "dev.jsonl")
    assert report["counts"]["records"] == len(records) and report["config"]["documents"] == 5
    assert len((out / "answers.jsonl").read_text(encoding="utf-8").splitlines()) == len(records)
    assert all(report["metrics"][name] is not None for name in ("fact_recall_fr", "fact_recall_en", "mrr", "latency_total_p95"))


@pytest.mark.slow
def test_tia_eval_on_a_fresh_install_ingests_the_bundled_corpus(tmp_path: Path) -> None:
    """An empty knowledge base would make every answer an abstention: the bundled corpus is ingested first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIA_")}
    env["TIA_DATA_DIR"] = str(tmp_path / "fresh")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "eval", str(ROOT / "tests" / "fixtures" / "eval_e2e.jsonl"),
         "--out", str(out), "--quiet"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "ingesting the bundled corpus" in result.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["documents"] == 5
