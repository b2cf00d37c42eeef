"""Judge replies for the parity tests, shared by the reference harness and the project's tests.

Pure Python with no imports beyond the standard library: the harness runs it inside a reference
venv (tests/reference/harness.py), the tests inside the project's venv, and both must pick the
same reply for the same prompt.
"""

from __future__ import annotations

import hashlib

# Awkward replies a real judge writes, each with the reason it is here. The grades they parse to
# differ between the scorer versions; the parity tests check them against the reference's own.
AWKWARD_REPLIES = [
    "The answer meets the criterion.\nGRADE: C",       # the expected form
    "The criterion is not met.\nGRADE: I",
    "Final verdict.\nGRADE: I\n",                       # a trailing newline
    "**GRADE:** C",                                     # markdown bold around the label
    "Reasoning...\nGRADE: **C**",                       # markdown bold around the letter
    "GRADE\uff1aC",                                      # a full-width colon
    "GRADE: C\nGRADE: I",                               # two GRADE lines
    "GRADE: I\nOn reflection the indicators are there.\nGRADE: C",
    "GRADE: C GRADE: I",                                # two grades on one line
    "GRADE: Correct",                                   # words instead of letters
    "GRADE: Incorrect",
    "GRADE: Partial",
    "GRADE: P",                                         # partial credit, never offered
    "grade: c",                                         # lower case
    "I cannot decide whether the criterion is met.",    # no grade
    "GRADE: C\nI hope this helps.",                     # the grade not on the last line
    "GRADE: CI",                                        # two letters
    "GRADE:\u200bC",                                     # a zero-width space
    "An upgrade: C is better than B.",                  # GRADE inside another word
    "",                                                 # an empty reply
]


def reply_for(grader: str, prompt: str) -> str:
    """The reply grader ``grader`` gives to ``prompt``: a deterministic draw, mostly a plain C or I
    (so that most questions are scored) and one in five from :data:`AWKWARD_REPLIES`."""
    draw = int(hashlib.sha256(f"{grader}\n{prompt}".encode()).hexdigest(), 16)
    if draw % 10 < 4:
        return "Reasoning about the indicators.\nGRADE: C"
    if draw % 10 < 8:
        return "Reasoning about the indicators.\nGRADE: I"
    return AWKWARD_REPLIES[(draw // 10) % len(AWKWARD_REPLIES)]
