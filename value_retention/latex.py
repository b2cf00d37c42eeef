"""LaTeX formatting shared by the tables, the number macros and the figures' LaTeX fragment.

Number formats (so the paper's prose and tables agree): percent to one decimal, intervals as
``[low, high]``, p-values to three decimals or ``<0.001``, differences with an explicit sign and
a true minus sign. A value the statistics could not estimate (``null``) prints as ``--``
(:data:`MISSING`). Also here: escaping, labels for benchmarks, conditions and language groups,
and a small booktabs ``tabular`` builder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .stats_json import is_missing

MISSING = "--"
MINUS = r"\ensuremath{-}"  # a real minus sign, in text and in math mode alike

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def latex_escape(text: Any) -> str:
    """Escape LaTeX's special characters (condition names have underscores)."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


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
    return r"\ensuremath{<}0.001" if p < 0.001 else f"{p:.3f}"


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
    return latex_escape(bench.upper())


def condition_label(name: str) -> str:
    return latex_escape(name)


# --------------------------------------------------------------------------------------------
# A tiny booktabs builder.

def tabular(columns: str, header: Sequence[str], blocks: Iterable[tuple[str | None, list[list[str]]]]) -> str:
    """A booktabs ``tabular``: a header row, then blocks of rows, each under an optional title row."""
    width = len(header)
    lines = [rf"\begin{{tabular}}{{{columns}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    for index, (title, rows) in enumerate(blocks):
        if index:
            lines.append(r"\midrule")
        if title is not None:
            lines.append(spanning(width, rf"\textbf{{{title}}}") + r" \\")
        for row in rows:
            if len(row) != width and not (len(row) == 1 and row[0].startswith(r"\multicolumn")):
                raise ValueError(f"a row has {len(row)} cells, the header {width}: {row}")
            lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def spanning(width: int, text: str) -> str:
    """A cell across the whole table (block titles, notes); a row may consist of this alone."""
    return rf"\multicolumn{{{width}}}{{@{{}}l}}{{{text}}}"


def stacked_header(name: str) -> str:
    """A column header that may break at underscores, so many conditions still fit a page."""
    parts = latex_escape(name).split(r"\_")
    if len(parts) == 1:
        return parts[0]
    return r"\begin{tabular}[b]{@{}c@{}}" + r"\_\\".join(parts) + r"\end{tabular}"
