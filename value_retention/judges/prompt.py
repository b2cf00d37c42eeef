"""The grader prompt, rendered exactly as the reference renders it, and the grade parser.

The reference (inspect_evals' AHB/ANIMA and MORU scorers) builds each judge prompt in two
formatting passes, and so does :func:`render_prompt`:

1. the benchmark's template (:mod:`value_retention.scorer_versions`) is filled with the revision (AHB only), the
   dimension's name (MORU: lower-cased, as the reference loads it), its guiding question with the
   assignment's variables filled, and its observable indicators verbatim, as the dimensions file
   holds them;
2. the result is itself a template for inspect_ai's ``model_graded_qa``, filled with the question,
   the answer and the grading instructions. ``[BEGIN DATA]``/``[END DATA]`` in the question and the
   answer are neutralised first where the version does so. Because this pass reads the text of
   pass 1 as a format string, doubled braces in an indicator (``{{animal}}``) come out single
   (``{animal}``), as the reference prints them; a single brace there would make the reference
   fail, and is an error here too.

:func:`parse_grade` reads a reply by the version's rule.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from ..scorer_versions import ScorerVersion, neutralise_markers, scorer_version

# The reference's placeholder pattern (inspect_evals get_variable_sets): `{{animal}}`.
PLACEHOLDER = re.compile(r"\{\{([^}]+)\}\}")
SECOND_PASS_FIELDS = ("question", "answer", "instructions")


class TemplateError(ValueError):
    """A dimension's text cannot go through the reference's second formatting pass."""


def fill_guiding_question(text: str, assignment: Mapping[str, str]) -> str:
    """Replace each ``{{name}}`` of the assignment by its value, as the reference does (plain
    text replacement; a placeholder the assignment does not name stays as written)."""
    for name, value in assignment.items():
        text = text.replace("{{" + name + "}}", str(value))
    return text


def render_prompt(
    version: ScorerVersion | str,
    benchmark_format: str,
    *,
    question: str,
    answer: str,
    dimension: str,
    guiding_question: str,
    indicators: str,
    revision: str | None = None,
) -> str:
    """The exact text the reference's judge receives (one user message) for one dimension and
    variable assignment. ``guiding_question`` must already be filled for the assignment;
    ``indicators`` is the dimension's ``observable_indicators`` text, verbatim.

    Raises TemplateError when the dimension's text holds a format field or a lone brace that the
    reference's second pass would fill from data of its own, or fail on.
    """
    version = scorer_version(version)
    template = version.templates[benchmark_format]
    first = template.format(
        revision=revision,
        dimension=dimension.lower() if benchmark_format == "moru" else dimension,
        guiding_question=guiding_question,
        indicators=indicators,
    )
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(first) if name is not None}
    except ValueError as error:
        raise TemplateError(f"dimension '{dimension}': its guiding question or indicators hold a "
                            f"lone brace, on which the reference's grader template fails ({error})") from None
    unknown = sorted({re.split(r"[.\[]", name)[0] for name in fields} - set(SECOND_PASS_FIELDS))
    if unknown:
        raise TemplateError(f"dimension '{dimension}': its guiding question or indicators hold the format "
                            f"field(s) {', '.join('{' + name + '}' for name in unknown)}, which the "
                            "reference's grader template would fill from its own data")
    clean = neutralise_markers if version.neutralise else str
    return first.format(question=clean(question), answer=clean(answer), instructions=version.instructions)


def parse_grade(text: str | None, version: ScorerVersion | str | None = None) -> str | None:
    """The grade a reply gives under ``version``'s rule (``"C"``, ``"P"``, ``"I"``), or None when
    it has no usable grade (what None scores is the version's unparseable rule)."""
    return scorer_version(version).parse(text)


def grade_line(grade: str) -> str:
    """The closing line a judge writes; every version's :func:`parse_grade` reads it back."""
    return f"GRADE: {grade}"
