"""Number formats and labels as plain text: the one set every rendering of a number shares.

The paper's LaTeX (:mod:`value_retention.latex`, which escapes these strings) and the report's
HTML tables (:mod:`value_retention.html_tables`) print the same strings, so the prose, the PDF
and the report agree: percent to one decimal, intervals as ``[low, high]``, p-values to three
decimals or ``<0.001``, differences with an explicit sign and a true minus sign (U+2212). A value
the statistics could not estimate (``null``) prints as ``--`` (:data:`MISSING`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .stats_json import is_missing

MISSING = "--"
MINUS = "\N{MINUS SIGN}"


def fmt_number(value: Any, decimals: int = 1, signed: bool = False) -> str:
    """``35.7``; ``+3.2`` with ``signed``; a true minus sign for negatives; ``--`` when missing."""
    if is_missing(value):
        return MISSING
    text = f"{abs(float(value)):.{decimals}f}"
    if float(text) == 0:
        return text  # no "-0.0"
    if value < 0:
        return MINUS + text
    return "+" + text if signed else text


def fmt_pct(value: Any) -> str:
    """A percent-scale score, one decimal."""
    return fmt_number(value, 1)


def fmt_ci(low: Any, high: Any, decimals: int = 1) -> str:
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"[{fmt_number(low, decimals)}, {fmt_number(high, decimals)}]"


def fmt_p(p: Any) -> str:
    """``0.043``, or ``<0.001`` below one in a thousand."""
    if is_missing(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_mean_ci(summary: Mapping[str, Any] | None) -> str:
    """``35.7 [30.1, 41.2]`` from a group summary ``{"mean", "ci_low", "ci_high", ...}``."""
    if not summary or is_missing(summary.get("mean")):
        return MISSING
    interval = fmt_ci(summary.get("ci_low"), summary.get("ci_high"))
    return fmt_pct(summary["mean"]) + ("" if interval == MISSING else f" {interval}")


def group_label(group: str) -> str:
    """``non_english`` -> ``Non-English``; ``all`` -> ``All``."""
    return "-".join(part.capitalize() for part in group.split("_"))


def bench_label(bench: str) -> str:
    """Benchmarks are acronyms (ahb, moru): print them in capitals."""
    return bench.upper()
