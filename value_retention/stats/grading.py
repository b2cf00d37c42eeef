"""How the grades were read: the scorer version, and unparseable grades per condition and judge.

A judge reply without a grade the scorer version can read is *unparseable*. Whatever the version
does with it (``current`` drops it, ``paper_era`` scores it as I), the statistics report how many
there were, per condition and judge, so that a reader can see how much of a number rests on them
(at 2% unparseable, scoring them as I instead of dropping them moves an AHB mean by about a point).

The counts come from the per-run score JSONs (``scoring.score_benchmark``: ``run``,
``scorer_version`` and ``grades_by_judge``), summed over seeds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import DataError
from ..jsonl import read_json
from ..scorer_versions import scorer_version


def read_runs(paths: Iterable[str | os.PathLike]) -> list[tuple[str, dict[str, Any]]]:
    """The score JSONs of one benchmark's runs, each with its path."""
    return [(os.fspath(path), read_json(path)) for path in paths]


def _counts(n_grades: int, n_unparseable: int) -> dict[str, Any]:
    return {"n_grades": n_grades, "n_unparseable": n_unparseable,
            "unparseable_percent": 100.0 * n_unparseable / n_grades if n_grades else None}


def grading_summary(runs: Sequence[tuple[str, Mapping[str, Any]]],
                    conditions: Sequence[str] | None = None) -> dict[str, Any]:
    """The statistics' ``grading`` block from ``(path, score JSON)`` pairs of one benchmark.

    Conditions follow ``conditions`` (the config's order; others after, in the runs' order), judges
    are sorted. Every run must name its condition and the same scorer version: a DataError names
    the file otherwise.
    """
    if not runs:
        raise ValueError("grading_summary needs at least one run's score JSON")
    version_name, first_path = None, None
    totals: dict[str, dict[str, dict[str, int]]] = {}
    for path, run in runs:
        labels = run.get("run") or {}
        if "condition" not in labels or "grades_by_judge" not in run:
            raise DataError("not a score file of the workflow's score rule (no 'run' labels or "
                            "'grades_by_judge')", path)
        name = run.get("scorer_version")
        if version_name is None:
            version_name, first_path = name, path
        elif name != version_name:
            raise DataError(f"scored under scorer version {name!r}, but {first_path} under "
                            f"{version_name!r}: one benchmark is graded by one version", path)
        per_judge = totals.setdefault(str(labels["condition"]), {})
        for judge, counts in run["grades_by_judge"].items():
            total = per_judge.setdefault(judge, {"n_grades": 0, "n_unparseable": 0})
            total["n_grades"] += int(counts["n_grades"])
            total["n_unparseable"] += int(counts["n_unparseable"])

    order = [c for c in (conditions or []) if c in totals] + [c for c in totals if c not in (conditions or [])]
    by_condition, by_judge = {}, {}
    for condition in order:
        judges = dict(sorted(totals[condition].items()))
        by_condition[condition] = {
            **_counts(sum(j["n_grades"] for j in judges.values()), sum(j["n_unparseable"] for j in judges.values())),
            "judges": {judge: _counts(j["n_grades"], j["n_unparseable"]) for judge, j in judges.items()},
        }
        for judge, counts in judges.items():
            total = by_judge.setdefault(judge, {"n_grades": 0, "n_unparseable": 0})
            total["n_grades"] += counts["n_grades"]
            total["n_unparseable"] += counts["n_unparseable"]
    version = scorer_version(version_name)
    return {
        "scorer_version": version.name,
        "scorer": version.describe(),
        **_counts(sum(c["n_grades"] for c in by_condition.values()),
                  sum(c["n_unparseable"] for c in by_condition.values())),
        "judges": {judge: _counts(c["n_grades"], c["n_unparseable"]) for judge, c in sorted(by_judge.items())},
        "by_condition": by_condition,
    }
