"""The statistics JSON: the one file format between the statistics and the figures, tables, numbers.

``O/stats/{bench}.json`` is written by the ``statistics`` rule (:func:`write`) and read by every
later stage through :func:`read_all`; ``O/stats/claims.json``, the claims with their verdicts over
every benchmark, is written by the ``claims`` rule (:func:`write_claims`) and read through
:func:`read_claims`. Their layouts are in docs/contracts.md ("Statistics", "Claims"). Values
are on the percent scale (0-100). The format's rule for missing values: a value the statistics
could not estimate is ``null`` (its reason is in ``warnings``), and a language group without
items has a ``null`` summary; :func:`is_missing` says whether a value is one of those. The
accessors below are tolerant of null blocks and strict about nothing else.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import ConfigError, DataError
from .jsonl import read_json, write_json

GROUPS = ("all", "english", "non_english")  # the language groups every layer reports


def write(path: str | os.PathLike, stats: Mapping[str, Any]) -> None:
    """Write a statistics file atomically, as strict JSON (NaN and infinities become null)."""
    write_json(path, stats)


def read(path: str | os.PathLike, bench: str | None = None) -> dict[str, Any]:
    """Read one statistics file, checking that it is one (and, given ``bench``, of that benchmark)."""
    stats = read_json(path)
    if not isinstance(stats, dict) or "conditions" not in stats:
        raise DataError("not a statistics file: no 'conditions' block", path)
    if bench is not None and stats.get("benchmark", bench) != bench:
        raise DataError(f"holds benchmark '{stats.get('benchmark')}', expected '{bench}' "
                        "(stats inputs must follow the benchmarks' order)", path)
    return stats


def read_all(paths: str | os.PathLike | Iterable[str | os.PathLike],
             benches: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """One statistics file per benchmark, in ``benches`` order: ``{bench: (path, stats)}``.

    ``paths`` is a rule's input as Snakemake hands it over (one path, or several).
    """
    paths = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
    if len(paths) != len(benches):
        raise ConfigError(f"{len(paths)} stats files for {len(benches)} benchmarks {list(benches)}", key="benchmarks")
    return {bench: (path, read(path, bench)) for bench, path in zip(benches, paths)}


def is_missing(value: Any) -> bool:
    """A value the statistics could not estimate: null (or a non-finite number)."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def check_group(bench: str, group: str) -> None:
    """A language group named in the config's ``references`` must be one the statistics report."""
    if group not in GROUPS:
        raise ConfigError(f"unknown language group '{group}' (expected one of {', '.join(GROUPS)})",
                          key=f"references.{bench}.{group}")


def condition_names(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Conditions in the order the stats list them (the config's), across benchmarks."""
    names: dict[str, None] = {}
    for stats in stats_by_bench.values():
        names.update(dict.fromkeys(stats.get("conditions") or {}))
    return list(names)


def group_names(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Language groups in the stats' order (all, english, non_english)."""
    names: dict[str, None] = {}
    for stats in stats_by_bench.values():
        for groups in (stats.get("conditions") or {}).values():
            names.update(dict.fromkeys(groups or {}))
    return list(names)


def group_summary(stats: Mapping[str, Any], condition: str, group: str) -> dict[str, Any] | None:
    """A condition's summary for one language group, or None when it has no estimate."""
    summary = ((stats.get("conditions") or {}).get(condition) or {}).get(group)
    if not summary or is_missing(summary.get("mean")):
        return None
    return summary


# --------------------------------------------------------------------------------------------
# The claims file, O/stats/claims.json: every declared claim with its verdict (the claims rule).

def write_claims(path: str | os.PathLike, claims: Mapping[str, Any]) -> None:
    """Write the claims file atomically, as strict JSON."""
    write_json(path, claims)


def read_claims(path: str | os.PathLike) -> dict[str, Any]:
    """Read the claims file, checking that it is one."""
    claims = read_json(path)
    if not isinstance(claims, dict) or "claims" not in claims or "family" not in claims:
        raise DataError("not a claims file: no 'claims' and 'family' blocks", path)
    return claims
