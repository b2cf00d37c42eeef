"""What a judge grades: one item per (generation row, tagged dimension, variable assignment).

The prepared benchmark files (docs/contracts.md) say which dimensions a question is tagged with
and which variable assignments it has (``[{}]`` when none); the generations file holds the model's
answers. Everything a judge needs for one grade, the exact prompt included, is in a
:class:`GradingItem`, so judges never look at files.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from ..benchmarks import load_prepared
from ..errors import DataError
from ..jsonl import read_jsonl
from .prompt import PLACEHOLDER, build_prompt, fill_placeholders

GENERATION_FIELDS = ("question_id", "language", "epoch", "answer")


@dataclass(frozen=True)
class GradingItem:
    """One judge call: a question's answer, one dimension, one variable assignment."""

    question_id: str
    language: str
    epoch: int
    dimension: str
    assignment: dict[str, str]
    question: str
    answer: str
    guiding_question: str          # placeholders filled from `assignment`
    indicators: tuple[str, ...]    # placeholders filled from `assignment`
    prompt: str = field(repr=False)

    def describe(self) -> str:
        """Where this grade belongs, for error messages and logs."""
        where = f"question {self.question_id} ({self.language}, epoch {self.epoch}), dimension '{self.dimension}'"
        return where + (f", assignment {self.assignment}" if self.assignment else "")


def build_items(
    generations_path: str | os.PathLike,
    questions_path: str | os.PathLike,
    dimensions_path: str | os.PathLike,
    revision: str | None = None,
) -> list[GradingItem]:
    """Every grade to ask for, in a stable order: generation rows as written, then each question's
    dimensions in tag order, then its assignments in order.

    A generation whose (question_id, language) the questions file lacks, a repeated
    (question_id, language, epoch), or a tag that names no dimension is a DataError naming the
    offending file and row: grading it anyway would silently score the wrong thing.
    """
    prepared, dimensions = load_prepared(questions_path, dimensions_path)
    questions = {(question["question_id"], question["language"]): question for question in prepared}
    items: list[GradingItem] = []
    seen: dict[tuple[str, str, int], int] = {}
    for generation in read_jsonl(generations_path, required=GENERATION_FIELDS):
        key = (str(generation["question_id"]), str(generation["language"]))
        question = questions.get(key)
        if question is None:
            raise DataError(f"question {key[0]} in language {key[1]} is not in the questions file "
                            f"{os.fspath(questions_path)}", generations_path, generation["_row"])
        epoch = _epoch(generation, generations_path)
        if not isinstance(generation["answer"], str):
            raise DataError(f"'answer' must be a string, got {generation['answer']!r}",
                            generations_path, generation["_row"])
        answer_key = (*key, epoch)
        if answer_key in seen:
            raise DataError(f"a second answer to question {key[0]} ({key[1]}, epoch {epoch}); "
                            f"the first is at row {seen[answer_key]}", generations_path, generation["_row"])
        seen[answer_key] = generation["_row"]
        for dimension_name in question["dimensions"]:  # load_prepared checked that each names a dimension
            dimension = dimensions[dimension_name]
            for assignment in dimension_assignments(dimension["guiding_question"], question["assignments"]):
                items.append(_item(question, generation, dimension, assignment, epoch, revision))
    return items


def dimension_assignments(guiding_question: str, question_assignments: list[dict[str, str]]) -> list[dict[str, str]]:
    """The variable assignments one dimension is graded under, as the reference does.

    Only the variables the dimension's guiding question names (``{{animal}}``) split its grading:
    one call per combination of their values; a dimension without placeholders is graded once
    (``{}``). A placeholder the question gives no value for is filled with the variable's own name,
    so "{{animal}}s" reads "animals".
    """
    referenced = list(dict.fromkeys(PLACEHOLDER.findall(guiding_question)))
    if not referenced:
        return [{}]
    choices = []
    for name in referenced:
        values = list(dict.fromkeys(a[name] for a in question_assignments if name in a))
        choices.append([(name, value) for value in values] or [(name, name)])
    return [dict(combination) for combination in itertools.product(*choices)]


def _epoch(generation: dict[str, Any], path: str | os.PathLike) -> int:
    epoch = generation["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise DataError(f"'epoch' must be an integer, got {epoch!r}", path, generation["_row"])
    return epoch


def _item(question: dict[str, Any], generation: dict[str, Any], dimension: dict[str, Any],
          assignment: dict[str, str], epoch: int, revision: str | None) -> GradingItem:
    guiding_question = fill_placeholders(dimension["guiding_question"], assignment)
    indicators = tuple(fill_placeholders(line, assignment) for line in dimension["indicators"])
    answer = generation["answer"]
    return GradingItem(
        question_id=question["question_id"],
        language=question["language"],
        epoch=epoch,
        dimension=dimension["dimension"],
        assignment=dict(assignment),
        question=question["question"],
        answer=answer,
        guiding_question=guiding_question,
        indicators=indicators,
        prompt=build_prompt(question=question["question"], answer=answer,
                            dimension=dimension["dimension"], guiding_question=guiding_question,
                            indicators=indicators, revision=revision),
    )
