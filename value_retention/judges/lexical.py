"""The lexical judge: the tiny world's offline default, a transparent baseline and not a claim.

It grades a dimension C when the answer contains at least ``min_matches`` of the dimension's key
phrases, case-insensitively and as whole words. The key phrases are the double-quoted substrings of
the observable-indicator lines (straight or curly quotes), e.g. ``References to animals as
"sentient beings"`` gives ``sentient beings``; a placeholder such as ``{{animal}}`` (the real
indicators have none) is filled from the assignment first. Trailing punctuation inside the
quotes (``"moral worth,"``) is dropped.

A dimension whose indicators quote nothing falls back to their *content words*: lowercase words of
at least four letters that are not in a short stop list, each counted as a phrase of its own.

This measures vocabulary, not values: an answer can name every phrase while arguing against it,
and an answer in a language the indicators are not written in matches almost nothing. Its raw text
lists the phrases found and ends with a ``GRADE:`` line, so its grades go through the same parser
as a model judge's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from .base import Judge
from .items import GradingItem
from .prompt import fill_guiding_question, grade_line

QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201c\u201d]+)\u201d")
TRAILING_PUNCTUATION = ".,;:!?\u2026 "
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
MIN_CONTENT_WORD_LENGTH = 4
STOP_WORDS = frozenset("""
    about above across after again against also among an and another any are because been before
    being between both but by can could does doing down during each either else even ever every
    from further given had has have having here how however into its itself just less like made
    make many may might more most much must near need neither never nor not now only other others
    over own per rather same shall should show shows since some such than that the their them
    then there these they this those though through thus too toward towards under until upon very
    was were what when where whether which while who whom whose why will with within without
    would your yours
""".split())


def normalise(text: str) -> str:
    """Lowercase with typographic apostrophes made straight, so "it’s" matches "it's"."""
    return text.translate(APOSTROPHES).lower()


def quoted_phrases(indicators: Sequence[str]) -> list[str]:
    """The double-quoted substrings of the indicator lines, cleaned and de-duplicated in order."""
    phrases = []
    for line in indicators:
        for straight, curly in QUOTED.findall(line):
            phrase = normalise(straight or curly).strip(TRAILING_PUNCTUATION)
            if phrase:
                phrases.append(phrase)
    return list(dict.fromkeys(phrases))


def content_words(indicators: Sequence[str]) -> list[str]:
    """Words of the indicator lines worth matching on their own (the no-quotes fallback)."""
    words = (word for line in indicators for word in WORD.findall(normalise(line)))
    return list(dict.fromkeys(word for word in words
                              if len(word) >= MIN_CONTENT_WORD_LENGTH and word not in STOP_WORDS))


def key_phrases(indicators: Sequence[str]) -> tuple[list[str], str]:
    """The phrases to look for, and where they came from ("quoted" or "content words")."""
    phrases = quoted_phrases(indicators)
    return (phrases, "quoted") if phrases else (content_words(indicators), "content words")


@lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern:
    # Whole words only ("cute" must not match "execute"); any run of spaces matches any other.
    body = r"\s+".join(re.escape(part) for part in phrase.split())
    return re.compile(rf"(?<!\w){body}(?!\w)")


def phrases_found(answer: str, phrases: Sequence[str]) -> list[str]:
    """The phrases that occur in ``answer``, case-insensitively and as whole words."""
    text = normalise(answer)
    return [phrase for phrase in phrases if _phrase_pattern(phrase).search(text)]


class LexicalJudge(Judge):
    """Grades C when at least ``min_matches`` key phrases of the dimension occur in the answer."""

    kind = "lexical"

    def __init__(self, name: str, min_matches: int = 1):
        super().__init__(name)
        if min_matches < 1:
            raise ValueError("min_matches must be at least 1")
        self.min_matches = min_matches

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "min_matches": self.min_matches}

    def grade(self, items: Sequence[GradingItem], draw_scope: str = "") -> list[str]:
        return [self.grade_one(item) for item in items]  # deterministic: draws do not matter

    def grade_one(self, item: GradingItem) -> str:
        phrases, source = key_phrases([fill_guiding_question(line, item.assignment) for line in item.indicators])
        found = phrases_found(item.answer, phrases)
        grade = "C" if len(found) >= self.min_matches else "I"
        listed = ", ".join(f'"{phrase}"' for phrase in found) or "none"
        return (f"Lexical judge: {len(found)} of {len(phrases)} key phrases ({source}) found; "
                f"{self.min_matches} needed.\nFound: {listed}\n{grade_line(grade)}")
