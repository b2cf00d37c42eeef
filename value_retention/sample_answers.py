"""A few sample answers per condition beside their grades, as an HTML page for the report.

For one benchmark, ``n`` questions are drawn with a seeded generator (the same questions for
every condition, so the conditions can be compared answer by answer). For each question the page
shows its text, then per condition the answer of epoch 0 and, per dimension (and variable
assignment), every panel judge's grade and verbatim reply (the judge's explanation). The
generations are read with the judges' own field list and the judgments through
:func:`value_retention.scoring.read_judgments`; a drawn question without an answer or a grade is
an error naming the file, never a silent gap.
"""

from __future__ import annotations

import html
import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .errors import DataError
from .jsonl import atomic_path, read_jsonl
from .judges.items import GENERATION_FIELDS
from .scoring import read_judgments

EPOCH = 0  # the first epoch's answer: every run has one
UNPARSEABLE = "(unparseable)"

_STYLE = """
body { font-family: sans-serif; margin: 1em; max-width: 80em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { padding: 0.3em 0.6em; border: 1px solid #ccc; vertical-align: top; text-align: left; }
td, th { white-space: pre-wrap; }
blockquote { border-left: 3px solid #888; margin-left: 0; padding-left: 1em; white-space: pre-wrap; }
"""


def draw_questions(questions: Sequence[Mapping[str, Any]], n: int, seed: int) -> list[Mapping[str, Any]]:
    """``n`` questions (all of them when there are fewer), drawn by ``seed``, in file order."""
    chosen = sorted(random.Random(seed).sample(range(len(questions)), min(n, len(questions))))
    return [questions[index] for index in chosen]


def _answers(path: str | os.PathLike) -> dict[tuple[str, str], str]:
    return {(str(row["question_id"]), str(row["language"])): row["answer"]
            for row in read_jsonl(path, required=GENERATION_FIELDS) if row["epoch"] == EPOCH}


def _assignment(row: Mapping[str, Any]) -> str:
    assignment = row.get("assignment") or {}
    return ", ".join(f"{key}={value}" for key, value in sorted(assignment.items()))


def question_frame(question: Mapping[str, Any], answers: Mapping[str, Mapping[tuple[str, str], str]],
                   judgments: Mapping[str, Sequence[Mapping[str, Any]]], panel: Sequence[str],
                   files: Mapping[str, tuple[str, Sequence[str]]]) -> pd.DataFrame:
    """One question: a row per (condition, answer, dimension [assignment]), a column per judge's
    grade and reply. ``files``: per condition its generations and judgments paths, for errors."""
    key = (str(question["question_id"]), str(question["language"]))
    index, cells = [], []
    for condition, by_question in answers.items():
        if key not in by_question:
            raise DataError(f"no epoch-{EPOCH} answer to question {key[0]} ({key[1]})", files[condition][0])
        grades: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
        for row in judgments[condition]:
            if (str(row["question_id"]), str(row["language"])) == key and row["epoch"] == EPOCH:
                grades.setdefault((row["dimension"], _assignment(row)), {})[row["judge"]] = row
        if not grades:
            raise DataError(f"no grade for question {key[0]} ({key[1]}), epoch {EPOCH}", files[condition][1][0])
        for (dimension, assignment), by_judge in grades.items():
            missing = [judge for judge in panel if judge not in by_judge]
            if missing:
                raise DataError(f"no grade of judge(s) {missing} for question {key[0]} ({key[1]}), dimension "
                                f"'{dimension}'", next(iter(by_judge.values()))["_path"])
            index.append((condition, by_question[key], f"{dimension} ({assignment})" if assignment else dimension))
            cells.append([value for judge in panel
                          for value in (by_judge[judge]["grade"] or UNPARSEABLE, by_judge[judge]["raw"])])
    columns = pd.MultiIndex.from_tuples([(judge, part) for judge in panel for part in ("grade", "reply")])
    return pd.DataFrame(cells, columns=columns,
                        index=pd.MultiIndex.from_tuples(index, names=["condition", "answer", "dimension"]))


def render(bench: str, sampled: Sequence[tuple[Mapping[str, Any], pd.DataFrame]], seed: int, run_seed: int) -> str:
    """The whole page: per question its text and its table (condition and answer span their rows)."""
    parts = [f"<h1>{html.escape(bench.upper())}: sample answers and their grades</h1>",
             f"<p>{len(sampled)} question(s) drawn with seed {seed} (config <code>report.sample_seed</code>); "
             f"each condition's answer of epoch {EPOCH}, seed {run_seed}, and every panel judge's grade and reply "
             "per dimension.</p>"]
    for number, (question, frame) in enumerate(sampled):
        styler = (frame.style.set_uuid(f"q{number}").format(escape="html").format_index(escape="html")
                  .format_index(escape="html", axis=1))
        parts += [f"<h2>Question {html.escape(str(question['question_id']))} "
                  f"({html.escape(str(question['language']))})</h2>",
                  f"<blockquote>{html.escape(question['question'])}</blockquote>", styler.to_html()]
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(bench.upper())}: sample answers</title>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def write_sample_answers(bench: str, questions: Sequence[Mapping[str, Any]], generations: Mapping[str, str],
                         judgments: Mapping[str, Sequence[str]], panel: Sequence[str], n: int, seed: int,
                         run_seed: int, out_path: str | os.PathLike) -> dict[str, Any]:
    """Draw, read, render and write the page; returns what was shown (for the provenance)."""
    answers = {condition: _answers(path) for condition, path in generations.items()}
    grades = {condition: read_judgments(paths) for condition, paths in judgments.items()}
    files = {condition: (generations[condition], list(judgments[condition])) for condition in generations}
    sampled = [(question, question_frame(question, answers, grades, panel, files))
               for question in draw_questions(questions, n, seed)]
    with atomic_path(out_path) as tmp:
        tmp.write_text(render(bench, sampled, seed, run_seed), encoding="utf-8")
    shown = [{"question_id": q["question_id"], "language": q["language"]} for q, _ in sampled]
    return {"questions": shown, "conditions": list(generations), "judges": list(panel)}
