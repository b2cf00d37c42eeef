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
AT_MOST, AT_LEAST = "\N{LESS-THAN OR EQUAL TO}", "\N{GREATER-THAN OR EQUAL TO}"
PLUS_MINUS, TIMES = "\N{PLUS-MINUS SIGN}", "\N{MULTIPLICATION SIGN}"


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
    """``35.7 [30.1, 41.2]`` from a group summary ``{"mean", "ci_low", "ci_high", ...}``.

    A degenerate cell says what it is instead of printing ``[0.0, 0.0]``: ``0.0 (all 0; ≤12.3)``
    gives the one-sided bound the statistics computed (value_retention.stats.bounded).
    """
    if not summary or is_missing(summary.get("mean")):
        return MISSING
    degenerate = summary.get("degenerate")
    if degenerate == "all 0":
        return f"{fmt_pct(summary['mean'])} (all 0; {AT_MOST}{fmt_pct(summary.get('ci_high'))})"
    if degenerate == "all 100":
        return f"{fmt_pct(summary['mean'])} (all 100; {AT_LEAST}{fmt_pct(summary.get('ci_low'))})"
    if degenerate == "all equal":
        return f"{fmt_pct(summary['mean'])} (all equal)"
    interval = fmt_ci(summary.get("ci_low"), summary.get("ci_high"))
    return fmt_pct(summary["mean"]) + ("" if interval == MISSING else f" {interval}")


def group_label(group: str) -> str:
    """``non_english`` -> ``Non-English``; ``all`` -> ``All``."""
    return "-".join(part.capitalize() for part in group.split("_"))


def bench_label(bench: str) -> str:
    """Benchmarks are acronyms (ahb, moru): print them in capitals."""
    return bench.upper()


# --------------------------------------------------------------------------------------------
# Claims (value_retention.stats.claims): the table's cells and the macros' values agree.

def fmt_signed_ci(estimate: Any, low: Any, high: Any) -> str:
    """``+3.2 [0.4, 6.0]``: a difference in points with its interval."""
    text = fmt_number(estimate, 1, signed=True)
    interval = fmt_ci(low, high)
    return text if MISSING in (text, interval) else f"{text} {interval}"


def fmt_published(claim: Mapping[str, Any]) -> str:
    """The paper's numbers for a claim: ``65.2 vs 35.7``, ``ratio 4.5``, or ``--``."""
    published = claim.get("published") or {}
    parts = []
    if "condition" in published and "minus" in published:
        parts.append(f"{fmt_pct(published['condition'])} vs {fmt_pct(published['minus'])}")
    if "difference" in published:
        parts.append(fmt_number(published["difference"], 1, signed=True))
    if "ratio" in published:
        parts.append(f"ratio {fmt_number(published['ratio'], 1)}")
    return "; ".join(parts) or MISSING


def fmt_paper_method(claim: Mapping[str, Any]) -> str:
    """The paper's statistic, its uncorrected p-value and its reading."""
    method = claim.get("paper_method") or {}
    if is_missing(method.get("estimate")):
        return MISSING
    if claim["test"] == "transfer":
        text = f"ratio {fmt_number(method.get('ratio'), 2)}; {fmt_number(method['estimate'], 1, signed=True)}"
    else:
        text = f"{fmt_pct(method.get('mean_condition'))} vs {fmt_pct(method.get('mean_minus'))}"
    return f"{text}, p {fmt_p(method.get('p'))}: {method.get('verdict') or MISSING}"


def fmt_ours(claim: Mapping[str, Any]) -> str:
    """Our estimate with its interval (TOST's (1 - 2 alpha) interval and margin for equivalence)."""
    if claim["test"] == "equivalence":
        tost = claim.get("tost") or {}
        interval = fmt_ci(tost.get("ci_low"), tost.get("ci_high"))
        level = "" if is_missing(tost.get("level")) else f" ({100 * tost['level']:g}%)"
        return (f"{fmt_number(claim.get('estimate'), 1, signed=True)} {interval}{level} "
                f"vs {PLUS_MINUS}{fmt_number(claim.get('margin'), 1)}")
    text = fmt_signed_ci(claim.get("estimate"), claim.get("ci_low"), claim.get("ci_high"))
    if claim["test"] == "transfer":
        transfer = claim.get("transfer") or {}
        fieller = transfer.get("fieller") or {}
        ratio = fmt_number(transfer.get("ratio"), 2)
        if fieller.get("status") == "bounded":
            text += f"; ratio {ratio} {fmt_ci(fieller.get('low'), fieller.get('high'), 2)}"
        elif fieller.get("status"):
            text += f"; ratio {ratio}, not determined"
    return text
