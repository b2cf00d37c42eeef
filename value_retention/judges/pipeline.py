"""Judge a generations file: build the judge named in config, grade every item, write the rows."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from .. import schema
from ..errors import ConfigError
from ..jsonl import write_jsonl
from ..scorer_versions import ScorerVersion, scorer_version
from .base import Judge
from .cache import ResponseCache
from .items import GradingItem, build_items

log = logging.getLogger(__name__)


def build_judge(name: str, spec: Mapping[str, Any], cache_dir: str | os.PathLike | None) -> Judge:
    """The judge a ``judges`` config entry describes (checked against the config schema, which
    gives its defaults); model judges cache in ``cache_dir``."""
    spec = schema.resolved("judge", spec, key=f"judges.{name}")
    kind = spec["type"]
    if kind == "lexical":
        from .lexical import LexicalJudge
        return LexicalJudge(name, min_matches=spec["min_matches"])
    if cache_dir is None:
        raise ConfigError(f"a {kind} judge needs a cache folder (the judge rule's cache_dir)",
                          key=f"judges.{name}")
    cache = ResponseCache(cache_dir)
    if kind == "openai":
        from .openai_judge import OpenAIJudge
        return OpenAIJudge(name, spec, cache)
    from .local import TransformersJudge
    return TransformersJudge(name, spec, cache)


def judgment_row(item: GradingItem, judge_name: str, raw: str,
                 version: ScorerVersion | str | None = None) -> dict[str, Any]:
    """One row of the judgments contract (docs/contracts.md): the grade as ``version`` reads the
    judge's raw reply, and what rebuilds and proves the prompt it answered (the scorer version,
    the prompt's sha256 and its draw)."""
    version = scorer_version(version)
    return {
        "question_id": item.question_id,
        "language": item.language,
        "epoch": item.epoch,
        "dimension": item.dimension,
        "assignment": item.assignment,
        "judge": judge_name,
        "grade": version.parse(raw),
        "raw": raw,
        "scorer_version": version.name,
        "prompt_sha256": item.prompt_sha256,
        "draw": item.draw,
    }


def judge_file(
    generations_path: str | os.PathLike,
    questions_path: str | os.PathLike,
    dimensions_path: str | os.PathLike,
    judge_name: str,
    spec: Mapping[str, Any],
    cache_dir: str | os.PathLike | None,
    out_path: str | os.PathLike,
    *,
    revision: str | None = None,
    version: ScorerVersion | str | None = None,
    benchmark_format: str = "ahb",
    draw_scope: str | None = None,
) -> dict[str, Any]:
    """Grade every (generation, tagged dimension, assignment) and write one judgment row for each.

    The rows are written once, atomically, in the order of :func:`build_items`. ``version`` (the
    scorer version), ``benchmark_format`` and ``revision`` (the AHB data revision the prompt's
    first line names; None for MORU) decide the prompts and how replies are graded.
    ``draw_scope`` names the run (the rule passes ``{bench}/{condition}/seed{seed}``; default: the
    generations path): with stochastic sampling, answers in different runs or epochs are separate
    judge draws even where the prompts are identical. Returns the stats: calls, retries,
    cache_hits, prompt_tokens, completion_tokens, unparseable, rows, wall_s, under "judge" the
    judge's effective settings (model, base URL, sampling...; never a key) and under "scorer"
    the version.
    An API error that outlasts the retries raises JudgeError and writes nothing.
    """
    started = time.monotonic()
    version = scorer_version(version)
    items = build_items(generations_path, questions_path, dimensions_path, revision=revision,
                        version=version, benchmark_format=benchmark_format)
    judge = build_judge(judge_name, spec, cache_dir)
    try:
        raws = judge.grade(items, draw_scope=draw_scope or os.fspath(generations_path))
    finally:
        judge.close()
    rows = [judgment_row(item, judge_name, raw, version) for item, raw in zip(items, raws, strict=True)]
    write_jsonl(out_path, rows)
    unparseable = sum(row["grade"] is None for row in rows)
    if unparseable:
        log.warning("judge %s: %d of %d answers have no grade that scorer version %s can read; kept "
                    "with grade null (%s)", judge_name, unparseable, len(rows), version.name,
                    version.unparseable_rule)
    stats = {**judge.stats.as_dict(), "unparseable": unparseable, "rows": len(rows),
             "wall_s": round(time.monotonic() - started, 3)}
    log.info("judge %s: %s", judge_name, stats)
    return {**stats, "judge": judge.describe(), "scorer": version.describe()}
