r"""LaTeX formatting shared by the tables, the number macros and the figures' LaTeX fragment.

The number formats and labels are :mod:`value_retention.text_format`'s (plain text, shared with
the report's HTML tables); the ``fmt_*`` functions here are those, escaped for LaTeX, so a true
minus sign prints as ``\ensuremath{-}``. A value the statistics could not estimate (``null``)
prints as ``--`` (:data:`MISSING`). Also here: escaping, and a small booktabs ``tabular``
builder with :func:`render`, which sets a :class:`value_retention.tables.Table` in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import text_format
from .text_format import MISSING as MISSING  # re-exported: the numbers and figures use these
from .text_format import group_label as group_label

MINUS = r"\ensuremath{-}"  # a real minus sign, in text and in math mode alike

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    text_format.MINUS: MINUS, "<": r"\ensuremath{<}", ">": r"\ensuremath{>}",
    text_format.AT_MOST: r"\ensuremath{\leq}", text_format.AT_LEAST: r"\ensuremath{\geq}",
    text_format.PLUS_MINUS: r"\ensuremath{\pm}", text_format.TIMES: r"\ensuremath{\times}",
    "\N{GREEK SMALL LETTER CHI}": r"\ensuremath{\chi}", "\N{SUPERSCRIPT TWO}": r"\ensuremath{^2}",
}


def latex_escape(text: Any) -> str:
    """Escape LaTeX's special characters (condition names have underscores), and set the few
    non-ASCII characters the plain-text formats use (the minus sign) so pdflatex can print them."""
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


def fmt_number(value: Any, decimals: int = 1, signed: bool = False) -> str:
    """``35.7``; ``+3.2`` with ``signed``; a true minus sign for negatives; ``--`` when missing."""
    return latex_escape(text_format.fmt_number(value, decimals, signed))


def fmt_pct(value: Any) -> str:
    """A percent-scale score, one decimal."""
    return latex_escape(text_format.fmt_pct(value))


def fmt_ci(low: Any, high: Any, decimals: int = 1) -> str:
    return latex_escape(text_format.fmt_ci(low, high, decimals))


def fmt_p(p: Any) -> str:
    """``0.043``, or ``<0.001`` below one in a thousand."""
    return latex_escape(text_format.fmt_p(p))


def fmt_mean_ci(summary: Mapping[str, Any] | None) -> str:
    """``35.7 [30.1, 41.2]`` from a group summary ``{"mean", "ci_low", "ci_high", ...}``."""
    return latex_escape(text_format.fmt_mean_ci(summary))


def bench_label(bench: str) -> str:
    """Benchmarks are acronyms (ahb, moru): print them in capitals."""
    return latex_escape(text_format.bench_label(bench))


def condition_label(name: str) -> str:
    return latex_escape(name)


# --------------------------------------------------------------------------------------------
# Claims (value_retention.stats.claims): the table's cells and the macros' values agree.

def fmt_signed_ci(estimate: Any, low: Any, high: Any) -> str:
    """``+3.2 [0.4, 6.0]``: a difference in points with its interval."""
    return latex_escape(text_format.fmt_signed_ci(estimate, low, high))


def fmt_published(claim: Mapping[str, Any]) -> str:
    """The paper's numbers for a claim: ``65.2 vs 35.7``, ``ratio 4.5``, or ``--``."""
    return latex_escape(text_format.fmt_published(claim))


def fmt_paper_method(claim: Mapping[str, Any]) -> str:
    """The paper's statistic, its uncorrected p-value and its reading."""
    return latex_escape(text_format.fmt_paper_method(claim))


def fmt_ours(claim: Mapping[str, Any]) -> str:
    """Our estimate with its interval (TOST's (1 - 2 alpha) interval and margin for equivalence)."""
    return latex_escape(text_format.fmt_ours(claim))


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


def render(table) -> str:
    """A :class:`value_retention.tables.Table` as a booktabs ``tabular``: every cell escaped (a
    header cell with a ``latex`` attribute, such as ``tables.Math``, is set as that), header cells
    stacked at underscores, block titles bold, notes in italics across the table."""

    def cell(text: str) -> str:
        return getattr(text, "latex", None) or latex_escape(text)

    def header(text: str) -> str:
        return getattr(text, "latex", None) or stacked_header(text)

    width = len(table.header)
    first = f"p{{{table.first_column_width}}}" if table.first_column_width else table.align[0]
    columns = "@{}" + first + table.align[1:] + "@{}"
    blocks = [(None if title is None else cell(title),
               [[spanning(width, rf"\textit{{{cell(row)}}}")] if isinstance(row, str) else [cell(c) for c in row]
                for row in rows])
              for title, rows in table.blocks]
    return tabular(columns, [header(text) for text in table.header], blocks)
