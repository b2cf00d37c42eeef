"""LLM and lexical judges: grade each answer per benchmark dimension, as the reference does.

- :mod:`.prompt`: the grader prompt (reference structure) and :func:`parse_grade`.
- :mod:`.items`: what gets graded, built from the prepared benchmark and the generations.
- :mod:`.lexical`: the offline baseline judge of the tiny world.
- :mod:`.openai_judge`: any OpenAI-compatible API, concurrent, with counted retries.
- :mod:`.local`: a local Hugging Face causal LM.
- :mod:`.cache`: the SQLite response cache the model judges share.
- :mod:`.pipeline`: :func:`build_judge` and :func:`judge_file`, what the ``judge`` rule runs.
- :mod:`.loopback`: an OpenAI-shaped HTTP server on 127.0.0.1, for tests and benchmarks.
"""

from .base import Judge, JudgeError, JudgeStats, ModelJudge, Reply
from .cache import ResponseCache, cache_key
from .items import GradingItem, build_items
from .pipeline import build_judge, judge_file, judgment_row
from .prompt import build_prompt, fill_placeholders, parse_grade

__all__ = [
    "GradingItem", "Judge", "JudgeError", "JudgeStats", "ModelJudge", "Reply", "ResponseCache",
    "build_items", "build_judge", "build_prompt", "cache_key", "fill_placeholders", "judge_file",
    "judgment_row", "parse_grade",
]
