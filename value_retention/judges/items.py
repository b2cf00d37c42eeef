"""What a judge grades: one item per (generation row, tagged dimension, variable assignment).

The prepared benchmark files (docs/contracts.md) say which dimensions a question is tagged with
and which variable assignments it has (``[{}]`` when none); the generations file holds the model's
answers. Everything a judge needs for one grade, the exact prompt included, is in a
:class:`GradingItem`, so judges never look at files. The prompt is rendered by the scorer
version's rules (:mod:`.prompt`), so the same three files, version, format and revision always
rebuild the same prompts: a judgment row keeps the prompt's sha256 to prove it.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from ..benchmarks import load_prepared
from ..errors import DataError
from ..jsonl import read_jsonl
from ..scorer_versions import ScorerVersion, scorer_version
from .prompt import PLACEHOLDER, TemplateError, fill_guiding_question, render_prompt

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
    indicators: tuple[str, ...]    # the dimension's indicator lines (the lexical judge reads them)
    prompt: str = field(repr=False)
    # Which draw of this prompt within its epoch this is (0 unless the same prompt comes twice in
    # one epoch); with stochastic sampling each draw is a judge call of its own (cache.py).
    draw: int = 0

    def describe(self) -> str:
        """Where this grade belongs, for error messages and logs."""
        where = f"question {self.question_id} ({self.language}, epoch {self.epoch}), dimension '{self.dimension}'"
        return where + (f", assignment {self.assignment}" if self.assignment else "")

    @property
    def prompt_sha256(self) -> str:
        return prompt_digest(self.prompt)


def prompt_digest(prompt: str) -> str:
    """The sha256 of a prompt's UTF-8 text, as judgment rows record it."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def build_items(
    generations_path: str | os.PathLike,
    questions_path: str | os.PathLike,
    dimensions_path: str | os.PathLike,
    revision: str | None = None,
    *,
    version: ScorerVersion | str | None = None,
    benchmark_format: str = "ahb",
) -> list[GradingItem]:
    """Every grade to ask for, in a stable order: generation rows as written, then each question's
    dimensions in tag order, then its assignments in order.

    ``version`` (a scorer version or its name; None: the default) and ``benchmark_format``
    (``ahb`` or ``moru``) decide the prompt; ``revision`` is the AHB data revision its first line
    names. A generation whose (question_id, language) the questions file lacks, a repeated
    (question_id, language, epoch), or a tag that names no dimension is a DataError naming the
    offending file and row: grading it anyway would silently score the wrong thing.
    """
    version = scorer_version(version)
    if benchmark_format not in version.templates:
        raise ValueError(f"unknown benchmark format '{benchmark_format}' (known: {', '.join(version.templates)})")
    prepared, dimensions = load_prepared(questions_path, dimensions_path)
    questions = {(question["question_id"], question["language"]): question for question in prepared}
    items: list[GradingItem] = []
    seen: dict[tuple[str, str, int], int] = {}
    draws: Counter[tuple[int, str]] = Counter()
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
            # MORU's reference fills no variables: its guiding questions are passed as written.
            assignments = ([{}] if benchmark_format == "moru"
                           else dimension_assignments(dimension["guiding_question"], question["assignments"]))
            for assignment in assignments:
                try:
                    item = _item(question, generation, dimension, assignment, epoch,
                                 version, benchmark_format, revision)
                except TemplateError as error:
                    raise DataError(str(error), dimensions_path) from None
                draw_key = (epoch, item.prompt)
                items.append(replace(item, draw=draws[draw_key]) if draws[draw_key] else item)
                draws[draw_key] += 1
    return items


def dimension_assignments(guiding_question: str, question_assignments: list[dict[str, str]]) -> list[dict[str, str]]:
    """The variable assignments one dimension is graded under, as the reference does.

    Only the variables the dimension's guiding question names (``{{animal}}``) split its grading:
    one call per combination of their values; a dimension without placeholders is graded once
    (``{}``). A placeholder the question gives no value for is filled with the variable's own name,
    so "{{animal}}s" reads "animals". Two differences from the reference, both absent from the
    real data: a variable the guiding question names twice, or a value a question lists twice,
    counts once here (the reference would grade the repeated assignment twice).
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
          assignment: dict[str, str], epoch: int, version: ScorerVersion, benchmark_format: str,
          revision: str | None) -> GradingItem:
    guiding_question = fill_guiding_question(dimension["guiding_question"], assignment)
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
        indicators=tuple(dimension["indicators"]),
        prompt=render_prompt(version, benchmark_format, question=question["question"], answer=answer,
                             dimension=dimension["dimension"], guiding_question=guiding_question,
                             indicators=dimension["observable_indicators"], revision=revision),
    )
