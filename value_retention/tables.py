"""LaTeX tables from the statistics JSON (booktabs).

Every table is a caption-free ``tabular`` fragment: the paper wraps it in a ``table`` environment
with its own caption and label, so prose stays in ``paper/main.tex`` and these files hold only
data. Benchmarks are stacked as row blocks (a bold header row per benchmark), so each table is one
file whatever the set of benchmarks, and ``main.tex`` never names a benchmark or a condition.

Number formats and the booktabs builder are :mod:`value_retention.latex`'s, shared with the
number macros; the statistics are read through :mod:`value_retention.stats_json`.

Files written by :func:`write_tables` (see :data:`TABLES`):

- ``table_claims.tex``: each declared claim: published, the paper's method, ours, Holm p, verdict;
- ``table_headline.tex``: condition x language group, mean [CI] (degenerate cells say so);
- ``table_languages.tex``: condition x language, for every language with enough questions;
- ``table_contrasts.tex``: the declared contrasts, estimate [CI], bootstrap-t CI, p, Holm p;
- ``table_interactions.tex``: 1-df condition x language terms, paired and from the mixed model;
- ``table_dimensions.tex``: per dimension, difference from the reference condition (BH q);
- ``table_mixedlm.tex``: the mixed model: convergence, warnings, interaction LR test;
- ``table_published.tex``: published numbers (config ``references``) beside the reproduced ones;
- ``table_conditions.tex``: the condition tree (config ``conditions``);
- ``table_grading.tex``: per condition and judge, the replies without a usable grade.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .jsonl import atomic_path
from .latex import (
    MINUS,
    MISSING,
    VERDICT_LABELS,
    bench_label,
    condition_label,
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
    latex_escape,
    spanning,
    stacked_header,
    tabular,
)
from .outputs import TABLES, table_files
from .stats_json import check_group, condition_names, group_names, group_summary, is_missing


def bench_title(bench: str, stats: Mapping[str, Any]) -> str:
    n_questions = stats.get("n_questions")
    if is_missing(n_questions):
        return bench_label(bench)
    return f"{bench_label(bench)} ({n_questions} questions, {stats.get('n_clusters', MISSING)} clusters)"


# --------------------------------------------------------------------------------------------
# The tables.

def headline_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> str:
    """Condition x language group: mean [CI] in percent."""
    groups = group_names(stats_by_bench)
    header = ["Condition", *(group_label(group) for group in groups)]
    blocks = []
    for bench, stats in stats_by_bench.items():
        rows = [[condition_label(condition),
                 *(fmt_mean_ci(group_summary(stats, condition, group)) for group in groups)]
                for condition in stats.get("conditions") or {}]
        blocks.append((bench_title(bench, stats), rows))
    return tabular("@{}l" + "c" * len(groups) + "@{}", header, blocks)


def contrast_label(contrast: Mapping[str, Any]) -> str:
    return f"{condition_label(contrast['condition'])} {MINUS} {condition_label(contrast['minus'])}"


def contrasts_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> str:
    """The declared contrasts: paired difference [t CI], bootstrap-t CI, p, Holm p (within them).

    A contrast without an estimate (a language group with no items, as on an English-only
    benchmark) gets no row of dashes; a closing row of its block counts them instead.
    """
    header = ["Contrast", "Group", "Difference [CI]", "Bootstrap-$t$ CI", "$p$", r"$p_{\mathrm{Holm}}$"]
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
            rows.append([spanning(len(header), rf"\textit{{{n_without_estimate} contrast(s) without data "
                                               "(no items in the group) not shown; see the statistics' warnings}")])
        blocks.append((bench_label(bench), rows or [[r"\textit{no contrasts}", *[""] * 5]]))
    return tabular("@{}llcccc@{}", header, blocks)


def dimensions_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> str:
    """Per dimension and condition: difference from the reference condition, BH q in brackets.

    The reference condition (the one whose rows carry no difference) gets no column; the means
    themselves are in the dimension heat maps.
    """
    rows_by_bench = {bench: stats.get("dimensions") or [] for bench, stats in stats_by_bench.items()}
    compared = [condition for condition in condition_names(stats_by_bench)
                if any(row["condition"] == condition and not is_missing(row.get("diff"))
                       for rows in rows_by_bench.values() for row in rows)]
    header = ["Dimension", *(stacked_header(condition) for condition in compared)]
    blocks = []
    for bench, dimension_rows in rows_by_bench.items():
        cells = {(row["dimension"], row["condition"]): row for row in dimension_rows}
        dimensions = list(dict.fromkeys(row["dimension"] for row in dimension_rows))
        rows = []
        for dimension in dimensions:
            row = [latex_escape(dimension)]
            for condition in compared:
                cell = cells.get((dimension, condition), {})
                diff = fmt_number(cell.get("diff"), 1, signed=True)
                row.append(diff if diff == MISSING else f"{diff} ({fmt_p(cell.get('p_bh'))})")
            rows.append(row)
        if not rows:
            rows = [[r"\textit{no per-dimension results}", *[""] * len(compared)]]
        blocks.append((bench_label(bench), rows))
    return tabular("@{}p{3.4cm}" + "c" * len(compared) + "@{}", header, blocks)


def mixedlm_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per benchmark: convergence, recorded warnings, the interaction LR test."""
    header = ["Benchmark", "Converged", "Warnings", r"LR $\chi^2$", "df", "$p$"]
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
    return tabular("@{}lccccc@{}", header, [(None, rows)])


def published_table(stats_by_bench: Mapping[str, Mapping[str, Any]],
                    references: Mapping[str, Mapping[str, Mapping[str, float]]] | None) -> str:
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
                    condition_label(condition),
                    fmt_pct(published.get(condition)),
                    fmt_mean_ci(group_summary(stats, condition, group)),
                ])
        if rows:
            blocks.append((bench_label(bench), rows))
    if not blocks:
        blocks = [(None, [[r"\textit{no published references in the config}", "", "", ""]])]
    return tabular("@{}llcc@{}", header, blocks)


def languages_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> str:
    """Condition x language: mean [CI] for every language with enough questions (``languages``).

    Columns are the languages of every benchmark; a benchmark without estimates for a language
    shows ``--`` there, and each block ends with the languages left out for too few questions.
    """
    blocks_in = {bench: stats.get("languages") or {} for bench, stats in stats_by_bench.items()}
    languages = list(dict.fromkeys(lang for block in blocks_in.values() for lang in block.get("included") or []))
    header = ["Condition", *(latex_escape(language) for language in languages)]
    blocks = []
    for bench, block in blocks_in.items():
        by_language = block.get("by_language") or {}
        conditions = list(dict.fromkeys(c for entry in by_language.values() for c in entry["means"]))
        rows = [[condition_label(condition),
                 *(fmt_mean_ci((by_language.get(language) or {}).get("means", {}).get(condition))
                   for language in languages)]
                for condition in conditions]
        excluded = block.get("excluded") or {}
        if excluded:
            rows.append([spanning(len(header), rf"\textit{{{len(excluded)} language(s) with fewer than "
                                               f"{block.get('min_items')} questions not shown}}")])
        title = (f"{bench_label(bench)} (questions per language: "
                 + ", ".join(f"{latex_escape(lang)} {by_language[lang]['n_questions']}" for lang in by_language) + ")")
        blocks.append((title, rows or [[spanning(len(header), r"\textit{no language with enough questions}")]]))
    return tabular("@{}l" + "c" * len(languages) + "@{}", header, blocks)


def interactions_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> str:
    """The 1-df condition x language terms: how much larger a gain is off English.

    Per pair (a claimed transfer, or ``transfer_ratio``): the difference of gains on paired
    questions (the claims' statistic) beside the mixed model's 1-df interaction term.
    """
    header = ["Contrast", "Paired difference of gains [CI]", "$p$", "Mixed model 1-df term [CI]", "$p$"]
    blocks = []
    for bench, stats in stats_by_bench.items():
        paired = {}
        for claim in stats.get("claims") or []:
            if claim.get("test") == "transfer":
                paired[(claim["condition"], claim["minus"])] = claim
        transfer = stats.get("transfer_ratio") or {}
        if transfer.get("difference"):
            paired.setdefault((transfer["condition"], transfer["minus"]), transfer["difference"])
        rows = []
        for term in (stats.get("mixedlm") or {}).get("interaction_terms") or []:
            pair = paired.get((term["condition"], term["minus"]), {})
            rows.append([rf"{contrast_label(term)} \ensuremath{{\times}} non-English",
                         fmt_signed_ci(pair.get("estimate"), pair.get("ci_low"), pair.get("ci_high")),
                         fmt_p(pair.get("p")),
                         fmt_signed_ci(term.get("estimate"), term.get("ci_low"), term.get("ci_high")),
                         fmt_p(term.get("p"))])
        none = spanning(len(header), r"\textit{no interaction term (one language group, or none declared)}")
        blocks.append((bench_label(bench), rows or [[none]]))
    return tabular("@{}lcccc@{}", header, blocks)


def claims_table(claims: Mapping[str, Any] | None) -> str:
    """Each declared claim: the published numbers, the paper's method, ours, Holm p and the verdict.

    The paper's method is its mean scores and its uncorrected t-test (``paper_method``); ours is
    the claim's test (``value_retention.stats.claims``), whose Holm family is the claims alone.
    An inconclusive verdict gives the minimum detectable effect that would have been needed.
    """
    header = ["Claim", "Test", "Published", "Paper's method", "Ours [CI]", r"$p_{\mathrm{Holm}}$", "Verdict"]
    rows = []
    for claim in (claims or {}).get("claims") or []:
        group = "" if claim["test"] == "transfer" else f", {group_label(claim['group'])}"
        verdict = VERDICT_LABELS.get(claim.get("verdict"), MISSING)
        if claim.get("verdict") == "inconclusive" and not is_missing(claim.get("mde")):
            verdict += f" (MDE {fmt_number(claim['mde'], 1)})"
        p_holm = claim.get("p_holm")
        rows.append([latex_escape(claim["name"]),
                     f"{bench_label(claim['benchmark'])}{group}: {latex_escape(claim['test'])}",
                     fmt_published(claim), fmt_paper_method(claim), fmt_ours(claim), fmt_p(p_holm), verdict])
    if not rows:
        rows = [[spanning(len(header), r"\textit{no claims declared (analysis.claims)}")]]
    return tabular("@{}lllllcl@{}", header, [(None, rows)])


def conditions_table(conditions: Mapping[str, Mapping[str, Any]] | None) -> str:
    """The condition tree from the config: each condition, its parent and the stage that makes it."""
    header = ["Condition", "From", "Stage", "Data", "Reward"]
    rows = []
    for name, spec in (conditions or {}).items():
        if "from" in spec:
            rows.append([condition_label(name), condition_label(spec["from"]), latex_escape(spec["stage"]),
                         latex_escape(spec["data"]), latex_escape(spec.get("reward") or MISSING)])
        else:
            rows.append([condition_label(name), MISSING, "initial model",
                         latex_escape(spec.get("init", MISSING)), MISSING])
    if not rows:
        rows = [[r"\textit{conditions not given}", "", "", "", ""]]
    return tabular("@{}lllll@{}", header, [(None, rows)])


def fmt_unparseable(counts: Mapping[str, Any] | None) -> str:
    """``12/3,000 (0.40\\%)``: unparseable grades of all grades, with the rate."""
    if not counts or is_missing(counts.get("unparseable_percent")):
        return MISSING
    return (f"{counts['n_unparseable']:,}/{counts['n_grades']:,} "
            f"({fmt_number(counts['unparseable_percent'], 2)}\\%)")


def grading_table(stats_by_bench: Mapping[str, Mapping[str, Any]]) -> str:
    """Per benchmark (titled with its scorer version) and condition: unparseable grades of all
    grades per judge and in total. What an unparseable grade scored is the version's rule."""
    judges = list(dict.fromkeys(judge for stats in stats_by_bench.values()
                                for judge in ((stats.get("grading") or {}).get("judges") or {})))
    header = ["Condition", *(stacked_header(judge) for judge in judges), "All judges"]
    blocks = []
    for bench, stats in stats_by_bench.items():
        grading = stats.get("grading")
        if not grading:
            blocks.append((bench_label(bench), [[spanning(len(header), r"\textit{not recorded}")]]))
            continue
        title = (f"{bench_label(bench)}: scorer version \\texttt{{{latex_escape(grading['scorer_version'])}}}, "
                 f"unparseable {latex_escape(grading['scorer']['unparseable_rule'])}")
        rows = [[condition_label(condition),
                 *(fmt_unparseable(counts["judges"].get(judge)) for judge in judges),
                 fmt_unparseable(counts)]
                for condition, counts in grading["by_condition"].items()]
        blocks.append((title, rows))
    return tabular("@{}l" + "c" * (len(judges) + 1) + "@{}", header, blocks)


# --------------------------------------------------------------------------------------------
# Writing them all.

def write_tables(stats_by_bench: Mapping[str, Mapping[str, Any]], outdir: str | os.PathLike,
                 references: Mapping[str, Any] | None = None,
                 conditions: Mapping[str, Any] | None = None,
                 claims: Mapping[str, Any] | None = None) -> list[Path]:
    """Write every table in :data:`TABLES` to ``outdir``; returns the paths written.

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
    written = []
    for name, path in zip(TABLES, table_files(outdir)):
        text = "% Generated by value_retention.tables; do not edit.\n" + builders[name]()
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written.append(Path(path))
    return written
