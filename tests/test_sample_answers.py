"""The report's sample answers: a seeded draw of questions, the same for every condition, each
answer beside every panel judge's grade and reply; a gap in the files is an error naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from value_retention.errors import DataError
from value_retention.sample_answers import draw_questions, write_sample_answers

QUESTIONS = [{"question_id": str(i), "language": "English", "question": f"Is question {i} <hard>?"}
             for i in range(6)]
PANEL = ["lexical", "gpt_judge"]


def write_jsonl(path: Path, rows) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def run_files(tmp_path: Path, condition: str, skip_grade_of: str | None = None):
    generations = write_jsonl(tmp_path / f"{condition}.jsonl", [
        {"question_id": q["question_id"], "language": "English", "epoch": epoch,
         "answer": f"{condition} answers {q['question_id']} (epoch {epoch}) & more"}
        for q in QUESTIONS for epoch in (0, 1)])
    judgments = [write_jsonl(tmp_path / condition / f"{judge}.jsonl", [
        {"question_id": q["question_id"], "language": "English", "epoch": 0, "dimension": "Moral Consideration",
         "assignment": {"animal": "pig"}, "judge": judge, "grade": None if judge == "gpt_judge" else "C",
         "raw": f"{judge} explains: fine. [[C]]"}
        for q in QUESTIONS if not (judge == skip_grade_of and q["question_id"] == "0")]) for judge in PANEL]
    return generations, judgments


def test_the_draw_is_seeded_and_in_file_order():
    drawn = [q["question_id"] for q in draw_questions(QUESTIONS, 3, seed=7)]
    assert drawn == [q["question_id"] for q in draw_questions(QUESTIONS, 3, seed=7)] == sorted(drawn, key=int)
    assert len(drawn) == 3 and drawn != [q["question_id"] for q in draw_questions(QUESTIONS, 3, seed=0)]
    assert len(draw_questions(QUESTIONS, 50, seed=0)) == len(QUESTIONS)  # fewer questions than asked


def test_every_condition_answers_the_same_questions_beside_every_judges_grade(tmp_path):
    files = {condition: run_files(tmp_path, condition) for condition in ("base", "sft_dolly")}
    out = tmp_path / "report" / "sample_answers_ahb.html"
    shown = write_sample_answers("ahb", QUESTIONS, {c: g for c, (g, _) in files.items()},
                                 {c: j for c, (_, j) in files.items()}, PANEL, n=2, seed=1, run_seed=0,
                                 out_path=out)
    page = out.read_text()
    assert len(shown["questions"]) == 2 and page.count("<h2>Question") == 2
    for question in shown["questions"]:
        assert f"base answers {question['question_id']} (epoch 0) &amp; more" in page
        assert f"sft_dolly answers {question['question_id']} (epoch 0)" in page
    assert "(epoch 1)" not in page and "&lt;hard&gt;" in page  # epoch 0 only; text escaped
    assert ">lexical<" in page and ">gpt_judge<" in page and "gpt_judge explains: fine." in page
    assert ">(unparseable)<" in page and "Moral Consideration (animal=pig)" in page


def test_a_missing_grade_names_the_file(tmp_path):
    generations, judgments = run_files(tmp_path, "base", skip_grade_of="gpt_judge")
    with pytest.raises(DataError, match=r"no grade of judge\(s\) \['gpt_judge'\]"):
        write_sample_answers("ahb", QUESTIONS[:1], {"base": generations}, {"base": judgments}, PANEL,
                             n=1, seed=0, run_seed=0, out_path=tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()
