"""LLM and lexical judges: grade each answer per benchmark dimension, as the reference does.

- :mod:`value_retention.scorer_versions` (outside this package, so scoring and statistics need
  none of its dependencies): the scorer versions (paper_era, current): the reference's templates,
  instructions, grade rules and unparseable rules, release by release.
- :mod:`.prompt`: the grader prompt, rendered as the reference renders it, and :func:`parse_grade`.
- :mod:`.items`: what gets graded, built from the prepared benchmark and the generations.
- :mod:`.lexical`: the offline baseline judge of the tiny world.
- :mod:`.openai_judge`: any OpenAI-compatible API, concurrent, with counted retries.
- :mod:`.local`: a local Hugging Face causal LM.
- :mod:`.cache`: the SQLite response cache the model judges share.
- :mod:`.pipeline`: :func:`build_judge` and :func:`judge_file`, what the ``judge`` rule runs.
- :mod:`.loopback`: an OpenAI-shaped HTTP server on 127.0.0.1, for tests and benchmarks.
"""

from ..scorer_versions import SCORER_VERSIONS, ScorerVersion, scorer_version
from .base import Judge, JudgeError, JudgeStats, ModelJudge, Reply
from .cache import ResponseCache, cache_key
from .items import GradingItem, build_items, prompt_digest
from .pipeline import build_judge, judge_file, judgment_row
from .prompt import fill_guiding_question, parse_grade, render_prompt

__all__ = [
    "GradingItem", "Judge", "JudgeError", "JudgeStats", "ModelJudge", "Reply", "ResponseCache",
    "SCORER_VERSIONS", "ScorerVersion", "build_items", "build_judge", "cache_key",
    "fill_guiding_question", "judge_file", "judgment_row", "parse_grade", "prompt_digest",
    "render_prompt", "scorer_version",
]
