"""The paper's tables from the statistics JSON, in LaTeX (booktabs) for the paper and HTML for the report.

Each table is built once, as data: a :class:`Table` of plain-text cells (the number formats are
:mod:`value_retention.text_format`'s), which :func:`value_retention.latex.render` sets as a
caption-free ``tabular`` fragment and :func:`value_retention.html_tables.render` as an HTML page.
The paper wraps each fragment in a ``table`` environment with its own caption and label, so prose
stays in ``paper/main.tex`` and these files hold only data. Benchmarks are stacked as row blocks
(a bold header row per benchmark), so each table is one file whatever the set of benchmarks, and
``main.tex`` never names a benchmark or a condition. The statistics are read through
:mod:`value_retention.stats_json`.

Files written by :func:`write_tables` (see :data:`TABLES`), each as ``.tex`` and ``.html``:

- ``table_claims``: each declared claim: published, the paper's method, ours, Holm p, verdict;
- ``table_headline``: condition x language group, mean [CI] (degenerate cells say so);
- ``table_languages``: condition x language, for every language with enough questions;
- ``table_contrasts``: the declared contrasts, estimate [CI], bootstrap-t CI, p, Holm p;
- ``table_interactions``: 1-df condition x language terms, paired and from the mixed model;
- ``table_dimensions``: per dimension, difference from the reference condition (BH q);
- ``table_mixedlm``: the mixed model: convergence, warnings, interaction LR test;
- ``table_published``: published numbers (config ``references``) beside the reproduced ones;
- ``table_conditions``: the condition tree (config ``conditions``);
- ``table_grading``: per condition and judge, the replies without a usable grade.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import html_tables, latex
from .jsonl import atomic_path
from .outputs import TABLE_FORMATS, TABLES, table_files
from .stats_json import check_group, condition_names, group_names, group_summary, is_missing
from .text_format import (
    MINUS,
    MISSING,
    TIMES,
    bench_label,
    fmt_ci,
    fmt_mean_ci,
    fmt_number,
    fmt_ours,
    fmt_p,
    fmt_paper_method,
    fmt_pct,
    fmt_published,
    fmt_signed_ci,
    group_label,
)


class Note(str):
    """A row that is one sentence across the table (set in italics)."""


class Math(str):
    """A header cell that LaTeX sets as math (``latex``); everywhere else it reads as its text."""

    latex: str

    def __new__(cls, text: str, latex: str) -> Math:
        cell = super().__new__(cls, text)
        cell.latex = latex
        return cell


Row = Sequence[str] | Note


@dataclass(frozen=True)
class Table:
    """A table as data: a header, then blocks of rows, each under an optional title (a benchmark).

    ``align`` has one letter (``l``, ``c``) per column; ``first_column_width`` makes the first
    column a paragraph of that width in LaTeX (long dimension names wrap).
    """

    header: Sequence[str]
    blocks: Sequence[tuple[str | None, Sequence[Row]]]
    align: str
    first_column_width: str | None = None

    def __post_init__(self) -> None:
        if len(self.align) != len(self.header):
            raise ValueError(f"{len(self.align)} column alignments for {len(self.header)} columns")
        for _, rows in self.blocks:
            for row in rows:
                if not isinstance(row, Note) and len(row) != len(self.header):
                    raise ValueError(f"a row has {len(row)} cells, the header {len(self.header)}: {row}")

    def to_latex(self) -> str:
        return latex.render(self)

    def to_html(self, title: str) -> str:
        return html_tables.render(self, title)


def bench_title(bench: str, stats: Mapping[str, Any]) -> str:
    n_questions = stats.get("n_questions")
    if is_missing(n_questions):
        return bench_label(bench)
    return f"{bench_label(bench)} ({n_questions} questions, {stats.get('n_clusters', MISSING)} clusters)"


# --------------------------------------------------------------------------------------------
# The tables.

def headline_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> Table:
    """Condition x language group: mean [CI] in percent."""
    groups = group_names(stats_by_bench)
    header = ["Condition", *(group_label(group) for group in groups)]
    blocks = []
    for bench, stats in stats_by_bench.items():
        rows = [[condition,
                 *(fmt_mean_ci(group_summary(stats, condition, group)) for group in groups)]
                for condition in stats.get("conditions") or {}]
        blocks.append((bench_title(bench, stats), rows))
    return Table(header, blocks, align="l" + "c" * len(groups))


def contrast_label(contrast: Mapping[str, Any]) -> str:
    return f"{contrast['condition']} {MINUS} {contrast['minus']}"


def contrasts_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> Table:
    """The declared contrasts: paired difference [t CI], bootstrap-t CI, p, Holm p (within them).

    A contrast without an estimate (a language group with no items, as on an English-only
    benchmark) gets no row of dashes; a closing row of its block counts them instead.
    """
    header = ["Contrast", "Group", "Difference [CI]", Math("Bootstrap-t CI", "Bootstrap-$t$ CI"), Math("p", "$p$"),
              Math("p (Holm)", r"$p_{\mathrm{Holm}}$")]
    blocks = []
    for bench, stats in stats_by_bench.items():
        rows, previous, n_without_estimate = [], None, 0
        for contrast in stats.get("contrasts") or []:
            if is_missing(contrast.get("estimate")):
                n_without_estimate += 1
                continue
            label = contrast_label(contrast)
            estimate = fmt_number(contrast.get("estimate"), 1, signed=True)
            interval = fmt_ci(contrast.get("ci_low"), contrast.get("ci_high"))
            rows.append([
                label if label != previous else "",  # name a contrast once per block of groups
                group_label(contrast.get("group", "all")),
                estimate if interval == MISSING else f"{estimate} {interval}",
                fmt_ci(contrast.get("boot_ci_low"), contrast.get("boot_ci_high")),
                fmt_p(contrast.get("p")),
                fmt_p(contrast.get("p_holm")),
            ])
            previous = label
        if n_without_estimate:
            rows.append(Note(f"{n_without_estimate} contrast(s) without data (no items in the group) "
                             "not shown; see the statistics' warnings"))
        blocks.append((bench_label(bench), rows or [Note("no contrasts")]))
    return Table(header, blocks, align="llcccc")


def dimensions_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> Table:
    """Per dimension and condition: difference from the reference condition, BH q in brackets.

    The reference condition (the one whose rows carry no difference) gets no column; the means
    themselves are in the dimension heat maps.
    """
    rows_by_bench = {bench: stats.get("dimensions") or [] for bench, stats in stats_by_bench.items()}
    compared = [condition for condition in condition_names(stats_by_bench)
                if any(row["condition"] == condition and not is_missing(row.get("diff"))
                       for rows in rows_by_bench.values() for row in rows)]
    header = ["Dimension", *compared]
    blocks = []
    for bench, dimension_rows in rows_by_bench.items():
        cells = {(row["dimension"], row["condition"]): row for row in dimension_rows}
        dimensions = list(dict.fromkeys(row["dimension"] for row in dimension_rows))
        rows = []
        for dimension in dimensions:
            row = [dimension]
            for condition in compared:
                cell = cells.get((dimension, condition), {})
                diff = fmt_number(cell.get("diff"), 1, signed=True)
                row.append(diff if diff == MISSING else f"{diff} ({fmt_p(cell.get('p_bh'))})")
            rows.append(row)
        if not rows:
            rows = [Note("no per-dimension results")]
        blocks.append((bench_label(bench), rows))
    return Table(header, blocks, align="l" + "c" * len(compared), first_column_width="3.4cm")


def mixedlm_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> Table:
    """One row per benchmark: convergence, recorded warnings, the interaction LR test."""
    header = ["Benchmark", "Converged", "Warnings",
              Math("LR \N{GREEK SMALL LETTER CHI}\N{SUPERSCRIPT TWO}", r"LR $\chi^2$"), "df", Math("p", "$p$")]
    rows = []
    for bench, stats in stats_by_bench.items():
        mixed = stats.get("mixedlm") or {}
        lr = mixed.get("lr_interaction") or {}
        converged = mixed.get("converged")
        rows.append([
            bench_label(bench),
            MISSING if converged is None else ("yes" if converged else "no"),
            str(len(mixed.get("warnings") or [])) if mixed else MISSING,
            fmt_number(lr.get("statistic"), 2),
            MISSING if is_missing(lr.get("df")) else f"{lr['df']:g}",
            fmt_p(lr.get("p")),
        ])
    return Table(header, [(None, rows)], align="lccccc")


def published_table(stats_by_bench: Mapping[str, Mapping[str, Any]],
                    references: Mapping[str, Mapping[str, Mapping[str, float]]] | None) -> Table:
    """Published numbers (config ``references``, percent) beside the reproduced means and CIs.

    Every group a benchmark has references for gets a row per condition, so conditions the
    paper did not report show ``--`` as published; a reference whose benchmark or condition was
    not run shows ``--`` as reproduced. Nothing in ``references`` is left out.
    """
    references = references or {}
    header = ["Group", "Condition", "Published", "Reproduced [CI]"]
    blocks = []
    for bench in [*stats_by_bench, *(b for b in references if b not in stats_by_bench)]:
        stats = stats_by_bench.get(bench, {})
        reproduced = list(stats.get("conditions") or {})
        rows = []
        for group, published in (references.get(bench) or {}).items():
            check_group(bench, group)
            conditions = [*reproduced, *(c for c in published if c not in reproduced)]
            for index, condition in enumerate(conditions):
                rows.append([
                    group_label(group) if index == 0 else "",
                    condition,
                    fmt_pct(published.get(condition)),
                    fmt_mean_ci(group_summary(stats, condition, group)),
                ])
        if rows:
            blocks.append((bench_label(bench), rows))
    if not blocks:
        blocks = [(None, [Note("no published references in the config")])]
    return Table(header, blocks, align="llcc")


def languages_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> Table:
    """Condition x language: mean [CI] for every language with enough questions (``languages``).

    Columns are the languages of every benchmark; a benchmark without estimates for a language
    shows ``--`` there, and each block ends with the languages left out for too few questions.
    """
    blocks_in = {bench: stats.get("languages") or {} for bench, stats in stats_by_bench.items()}
    languages = list(dict.fromkeys(lang for block in blocks_in.values() for lang in block.get("included") or []))
    header = ["Condition", *languages]
    blocks = []
    for bench, block in blocks_in.items():
        by_language = block.get("by_language") or {}
        conditions = list(dict.fromkeys(c for entry in by_language.values() for c in entry["means"]))
        rows: list[Row] = [[condition,
                            *(fmt_mean_ci((by_language.get(language) or {}).get("means", {}).get(condition))
                              for language in languages)]
                           for condition in conditions]
        excluded = block.get("excluded") or {}
        if excluded:
            rows.append(Note(f"{len(excluded)} language(s) with fewer than {block.get('min_items')} questions "
                             "not shown"))
        title = (f"{bench_label(bench)} (questions per language: "
                 + ", ".join(f"{lang} {by_language[lang]['n_questions']}" for lang in by_language) + ")")
        blocks.append((title, rows or [Note("no language with enough questions")]))
    return Table(header, blocks, align="l" + "c" * len(languages))


def interactions_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> Table:
    """The 1-df condition x language terms: how much larger a gain is off English.

    Per pair (a claimed transfer, or ``transfer_ratio``): the difference of gains on paired
    questions (the claims' statistic) beside the mixed model's 1-df interaction term.
    """
    header = ["Contrast", "Paired difference of gains [CI]", Math("p (paired)", "$p$"), "Mixed model 1-df term [CI]",
              Math("p (model)", "$p$")]
    blocks = []
    for bench, stats in stats_by_bench.items():
        paired = {}
        for claim in stats.get("claims") or []:
            if claim.get("test") == "transfer":
                paired[(claim["condition"], claim["minus"])] = claim
        transfer = stats.get("transfer_ratio") or {}
        if transfer.get("difference"):
            paired.setdefault((transfer["condition"], transfer["minus"]), transfer["difference"])
        rows: list[Row] = []
        for term in (stats.get("mixedlm") or {}).get("interaction_terms") or []:
            pair = paired.get((term["condition"], term["minus"]), {})
            rows.append([f"{contrast_label(term)} {TIMES} non-English",
                         fmt_signed_ci(pair.get("estimate"), pair.get("ci_low"), pair.get("ci_high")),
                         fmt_p(pair.get("p")),
                         fmt_signed_ci(term.get("estimate"), term.get("ci_low"), term.get("ci_high")),
                         fmt_p(term.get("p"))])
        none = Note("no interaction term (one language group, or none declared)")
        blocks.append((bench_label(bench), rows or [none]))
    return Table(header, blocks, align="lcccc")


def claims_table(claims: Mapping[str, Any] | None) -> Table:
    """Each declared claim: the published numbers, the paper's method, ours, Holm p and the verdict.

    The paper's method is its mean scores and its uncorrected t-test (``paper_method``); ours is
    the claim's test (``value_retention.stats.claims``), whose Holm family is the claims alone.
    An inconclusive verdict gives the minimum detectable effect that would have been needed.
    """
    header = ["Claim", "Test", "Published", "Paper's method", "Ours [CI]",
              Math("p (Holm)", r"$p_{\mathrm{Holm}}$"), "Verdict"]
    rows: list[Row] = []
    for claim in (claims or {}).get("claims") or []:
        group = "" if claim["test"] == "transfer" else f", {group_label(claim['group'])}"
        verdict = claim.get("verdict") or MISSING
        if claim.get("verdict") == "inconclusive" and not is_missing(claim.get("mde")):
            verdict += f" (MDE {fmt_number(claim['mde'], 1)})"
        rows.append([claim["name"], f"{bench_label(claim['benchmark'])}{group}: {claim['test']}",
                     fmt_published(claim), fmt_paper_method(claim), fmt_ours(claim), fmt_p(claim.get("p_holm")),
                     verdict])
    return Table(header, [(None, rows or [Note("no claims declared (analysis.claims)")])], align="lllllcl")


def conditions_table(conditions: Mapping[str, Mapping[str, Any]] | None) -> Table:
    """The condition tree from the config: each condition, its parent and the stage that makes it."""
    header = ["Condition", "From", "Stage", "Data", "Reward"]
    rows = []
    for name, spec in (conditions or {}).items():
        if "from" in spec:
            rows.append([name, spec["from"], spec["stage"], spec["data"], spec.get("reward") or MISSING])
        else:
            rows.append([name, MISSING, "initial model", spec.get("init", MISSING), MISSING])
    if not rows:
        rows = [Note("conditions not given")]
    return Table(header, [(None, rows)], align="lllll")


def fmt_unparseable(counts: Mapping[str, Any] | None) -> str:
    """``12/3,000 (0.40%)``: unparseable grades of all grades, with the rate."""
    if not counts or is_missing(counts.get("unparseable_percent")):
        return MISSING
    return (f"{counts['n_unparseable']:,}/{counts['n_grades']:,} "
            f"({fmt_number(counts['unparseable_percent'], 2)}%)")


def grading_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> Table:
    """Per benchmark (titled with its scorer version) and condition: unparseable grades of all
    grades per judge and in total. What an unparseable grade scored is the version's rule."""
    judges = list(dict.fromkeys(judge for stats in stats_by_bench.values()
                                for judge in ((stats.get("grading") or {}).get("judges") or {})))
    header = ["Condition", *judges, "All judges"]
    blocks = []
    for bench, stats in stats_by_bench.items():
        grading = stats.get("grading")
        if not grading:
            blocks.append((bench_label(bench), [Note("not recorded")]))
            continue
        title = (f"{bench_label(bench)}: scorer version {grading['scorer_version']}, "
                 f"unparseable {grading['scorer']['unparseable_rule']}")
        rows = [[condition,
                 *(fmt_unparseable(counts["judges"].get(judge)) for judge in judges),
                 fmt_unparseable(counts)]
                for condition, counts in grading["by_condition"].items()]
        blocks.append((title, rows))
    return Table(header, blocks, align="l" + "c" * (len(judges) + 1))


# --------------------------------------------------------------------------------------------
# Writing them all.

# The HTML pages' captions (the paper's captions are in paper/main.tex, the report's in report/).
HTML_TITLES = {
    "claims": "The paper's claims: published numbers, the paper's method, ours (CI), Holm p and the verdict",
    "headline": "Mean score (percent) per condition and language group, with {confidence} CIs",
    "languages": "Mean score (percent) per condition and language, for languages with enough questions",
    "contrasts": "Declared contrasts: paired difference (percentage points), CIs, p and Holm-adjusted p",
    "interactions": "Condition x language interaction: the difference of non-English and English gains (points)",
    "dimensions": "Per dimension: difference from the reference condition (BH q in brackets)",
    "mixedlm": "Mixed model: convergence, warnings and the interaction likelihood-ratio test",
    "published": "Published numbers beside the reproduced ones (percent)",
    "conditions": "The condition tree",
    "grading": "Replies without a usable grade, per condition and judge",
}


def write_tables(stats_by_bench: Mapping[str, Mapping[str, Any]], outdir: str | os.PathLike,
                 references: Mapping[str, Any] | None = None,
                 conditions: Mapping[str, Any] | None = None,
                 claims: Mapping[str, Any] | None = None) -> list[Path]:
    """Write every table in :data:`TABLES` to ``outdir``, as LaTeX and as HTML; returns the paths written.

    ``claims`` is the claims file (``stats_json.read_claims``); without it the claims table says so.
    """
    builders = {
        "claims": lambda: claims_table(claims),
        "languages": lambda: languages_table(stats_by_bench),
        "interactions": lambda: interactions_table(stats_by_bench),
        "headline": lambda: headline_table(stats_by_bench),
        "contrasts": lambda: contrasts_table(stats_by_bench),
        "dimensions": lambda: dimensions_table(stats_by_bench),
        "mixedlm": lambda: mixedlm_table(stats_by_bench),
        "published": lambda: published_table(stats_by_bench, references),
        "conditions": lambda: conditions_table(conditions),
        "grading": lambda: grading_table(stats_by_bench),
    }
    levels = sorted({f"{100 * stats['confidence']:g}%" for stats in stats_by_bench.values() if "confidence" in stats})
    confidence = " / ".join(levels) or "the configured"
    paths = iter(table_files(outdir))
    written = []
    for name in TABLES:
        table = builders[name]()
        texts = {".tex": "% Generated by value_retention.tables; do not edit.\n" + table.to_latex(),
                 ".html": table.to_html(HTML_TITLES[name].format(confidence=confidence))}
        for suffix in TABLE_FORMATS:
            path = next(paths)
            with atomic_path(path) as tmp:
                tmp.write_text(texts[suffix], encoding="utf-8")
            written.append(Path(path))
    return written
