"""Figures for the paper (PDF) and the report (PNG), from the statistics and the tidy scores.

Every figure is drawn once and saved twice, ``<stem>.pdf`` and ``<stem>.png``. They are meant to
survive a black-and-white printer: series differ by marker, fill and line style, never by colour
alone, and the heat maps use a grey scale with the values written in each cell. Error bars are
the statistics' confidence intervals (for a mean score, the bounded Korn-Graubard interval of
value_retention.stats.bounded, 95% by default). Sizes fit the
text width of a one-column paper (6 inches), with 7-9 pt type.

The module leaves matplotlib's backend alone (a notebook shows these figures inline); the figures
rule's script chooses the file-only Agg backend.

Files written by :func:`make_all` (see :func:`value_retention.outputs.figure_files`):

- ``condition_scores``: overall score per condition, one panel per benchmark;
- ``language_groups``: English vs non-English items per condition, one panel per benchmark;
- ``language_scores``: every language with enough questions on its own, one panel per benchmark;
- ``seed_spread``: per-seed means beside the across-seed mean, one panel per benchmark;
- ``score_distributions``: per-question scores per condition (box plots), from the tidy scores;
- ``dimension_heatmap_<bench>``: condition x dimension means, one figure per benchmark;
- ``dimension_heatmaps.tex``: a LaTeX fragment with one ``figure`` per heat map, so the paper
  includes them without knowing the benchmarks' names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .jsonl import atomic_path
from .latex import group_label, latex_escape
from .outputs import HEATMAP_FRAGMENT, HEATMAP_STEM
from .stats.tidy import epoch_means, overall_rows, seed_means
from .stats_json import group_summary, is_missing

TEXT_WIDTH_IN = 6.0
STYLE = {
    "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7,
    "ytick.labelsize": 7, "legend.fontsize": 7, "figure.titlesize": 9,
    "axes.spines.top": False, "axes.spines.right": False,
    "pdf.fonttype": 42,  # embed TrueType, so the text stays selectable and searchable
    "savefig.dpi": 200, "savefig.bbox": "tight",
}
# English vs non-English: told apart by marker shape, fill and line style (not only by grey level).
GROUP_STYLES = {
    "english": {"marker": "o", "color": "black", "markerfacecolor": "black", "linestyle": "-"},
    "non_english": {"marker": "s", "color": "0.35", "markerfacecolor": "white", "linestyle": "--"},
}
FALLBACK_GROUP_STYLE = {"marker": "^", "color": "0.55", "markerfacecolor": "0.8", "linestyle": ":"}
# Languages, in the order the statistics list them (English first): shape and fill tell them apart.
LANGUAGE_STYLES = [
    {"marker": "o", "color": "black", "markerfacecolor": "black", "linestyle": "-"},
    {"marker": "s", "color": "0.3", "markerfacecolor": "white", "linestyle": "--"},
    {"marker": "^", "color": "0.45", "markerfacecolor": "0.75", "linestyle": ":"},
    {"marker": "D", "color": "black", "markerfacecolor": "white", "linestyle": "-."},
    {"marker": "v", "color": "0.3", "markerfacecolor": "0.3", "linestyle": (0, (1, 2))},
    {"marker": "P", "color": "0.5", "markerfacecolor": "white", "linestyle": (0, (5, 1))},
]


# --------------------------------------------------------------------------------------------
# Shared pieces.

def save_figure(fig: plt.Figure, out_stem: str | os.PathLike) -> list[Path]:
    """Save ``fig`` as ``<stem>.pdf`` and ``<stem>.png`` (atomically, reproducibly) and close it."""
    written = []
    for suffix, metadata in ((".pdf", {"CreationDate": None, "Producer": None}), (".png", {"Software": None})):
        path = Path(f"{os.fspath(out_stem)}{suffix}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], metadata=metadata)
        written.append(path)
    plt.close(fig)
    return written


def panels(n: int, height: float, sharey: bool = True) -> tuple[plt.Figure, list[plt.Axes]]:
    """One row of ``n`` panels across the text width."""
    fig, axes = plt.subplots(1, n, figsize=(TEXT_WIDTH_IN, height), sharey=sharey, squeeze=False,
                             layout="constrained")  # makes room for the suptitle and a legend below
    return fig, list(axes[0])


def conditions_of(stats: Mapping[str, Any]) -> list[str]:
    return list(stats.get("conditions") or {})


def confidence_label(stats: Mapping[str, Any]) -> str:
    confidence = stats.get("confidence")
    return "CI" if is_missing(confidence) else f"{100 * confidence:g}% CI"


def error_bars(summaries: Sequence[Mapping[str, Any] | None]) -> tuple[np.ndarray, np.ndarray]:
    """Means and asymmetric error-bar lengths; NaN where a summary or its interval is missing."""
    means, lower, upper = [], [], []
    for summary in summaries:
        mean = np.nan if summary is None else float(summary["mean"])
        low, high = (summary or {}).get("ci_low"), (summary or {}).get("ci_high")
        means.append(mean)
        lower.append(np.nan if is_missing(low) else mean - low)
        upper.append(np.nan if is_missing(high) else high - mean)
    return np.array(means), np.array([lower, upper])


def condition_axis(ax: plt.Axes, conditions: Sequence[str]) -> None:
    ax.set_xticks(range(len(conditions)))
    ax.set_xticklabels(conditions, rotation=30, ha="right")
    ax.set_xlim(-0.6, len(conditions) - 0.4)
    ax.set_ylim(0, 100)
    ax.grid(axis="y", color="0.85", linewidth=0.5)
    ax.set_axisbelow(True)


def note(ax: plt.Axes, text: str) -> None:
    """A message inside the panel (a missing group, a single seed), so the figure says it itself."""
    ax.text(0.5, 0.95, text, transform=ax.transAxes, ha="center", va="top", fontsize=7, style="italic",
            bbox={"facecolor": "white", "edgecolor": "0.6", "linewidth": 0.5, "pad": 2})


# --------------------------------------------------------------------------------------------
# The figures.

def plot_condition_scores(stats_by_bench: Mapping[str, Mapping[str, Any]], out_stem: str | os.PathLike) -> list[Path]:
    """Overall score (all items) per condition with CIs; one panel per benchmark."""
    with plt.rc_context(STYLE):
        fig, axes = panels(len(stats_by_bench), 2.6)
        for ax, (bench, stats) in zip(axes, stats_by_bench.items()):
            conditions = conditions_of(stats)
            means, errors = error_bars([group_summary(stats, c, "all") for c in conditions])
            ax.errorbar(range(len(conditions)), means, yerr=errors, fmt="o", color="black", capsize=3,
                        markersize=4, linewidth=1)
            for x, mean in enumerate(means):
                if np.isfinite(mean):
                    ax.annotate(f"{mean:.1f}", (x, mean), xytext=(5, 0), textcoords="offset points",
                                fontsize=6, va="center")
            condition_axis(ax, conditions)
            ax.set_title(f"{bench.upper()} (n = {stats.get('n_questions', '?')} questions)")
        axes[0].set_ylabel("score (%)")
        fig.suptitle(f"Overall score by condition (mean and {confidence_label(next(iter(stats_by_bench.values())))})")
        return save_figure(fig, out_stem)


def plot_language_groups(stats_by_bench: Mapping[str, Mapping[str, Any]], out_stem: str | os.PathLike) -> list[Path]:
    """English vs non-English items per condition, with CIs; one panel per benchmark."""
    with plt.rc_context(STYLE):
        fig, axes = panels(len(stats_by_bench), 2.8)
        legend_handles = {}
        for ax, (bench, stats) in zip(axes, stats_by_bench.items()):
            conditions = conditions_of(stats)
            groups = [g for g in dict.fromkeys(g for c in conditions for g in (stats["conditions"][c] or {}))
                      if g != "all"]
            offsets = np.linspace(-0.15, 0.15, len(groups)) if len(groups) > 1 else [0.0]
            missing = []
            for offset, group in zip(offsets, groups):
                summaries = [group_summary(stats, c, group) for c in conditions]
                if all(s is None for s in summaries):
                    missing.append(group_label(group))
                    continue
                means, errors = error_bars(summaries)
                style = dict(GROUP_STYLES.get(group, FALLBACK_GROUP_STYLE))
                whisker_style = style.pop("linestyle")
                # Conditions are categories, so points are not joined; the whiskers carry the line style.
                bars = ax.errorbar(np.arange(len(conditions)) + offset, means, yerr=errors, capsize=2.5,
                                   markersize=4, linewidth=1, linestyle="none", label=group_label(group), **style)
                bars[-1][0].set_linestyle(whisker_style)
                legend_handles.setdefault(group_label(group), bars)
            if missing:
                note(ax, f"no {' or '.join(missing)} items in this benchmark")
            condition_axis(ax, conditions)
            ax.set_title(bench.upper())
        axes[0].set_ylabel("score (%)")
        if legend_handles:
            fig.legend(legend_handles.values(), legend_handles.keys(), loc="outside lower center",
                       ncol=len(legend_handles), frameon=False)
        fig.suptitle(f"Score by language group (mean and {confidence_label(next(iter(stats_by_bench.values())))})")
        return save_figure(fig, out_stem)


def plot_language_scores(stats_by_bench: Mapping[str, Mapping[str, Any]], out_stem: str | os.PathLike) -> list[Path]:
    """Each language with enough questions on its own: mean per condition with CIs, per benchmark."""
    with plt.rc_context(STYLE):
        fig, axes = panels(len(stats_by_bench), 2.8)
        legend_handles = {}
        for ax, (bench, stats) in zip(axes, stats_by_bench.items()):
            conditions = conditions_of(stats)
            block = stats.get("languages") or {}
            by_language = block.get("by_language") or {}
            languages = list(by_language)
            offsets = np.linspace(-0.2, 0.2, len(languages)) if len(languages) > 1 else [0.0]
            for index, (offset, language) in enumerate(zip(offsets, languages)):
                means = by_language[language]["means"]
                summaries = [means.get(c) if means.get(c) and not is_missing(means[c].get("mean")) else None
                             for c in conditions]
                values, errors = error_bars(summaries)
                style = dict(LANGUAGE_STYLES[index % len(LANGUAGE_STYLES)])
                whisker_style = style.pop("linestyle")
                label = f"{language} ({by_language[language]['n_questions']})"
                bars = ax.errorbar(np.arange(len(conditions)) + offset, values, yerr=errors, capsize=2,
                                   markersize=3.5, linewidth=0.9, linestyle="none", label=label, **style)
                bars[-1][0].set_linestyle(whisker_style)
                legend_handles.setdefault(label, bars)
            if not languages:
                note(ax, f"no language with {block.get('min_items', '?')} or more questions")
            elif block.get("excluded"):
                note(ax, f"{len(block['excluded'])} language(s) with fewer than {block['min_items']} "
                         "questions not shown")
            condition_axis(ax, conditions)
            ax.set_title(bench.upper())
        axes[0].set_ylabel("score (%)")
        if legend_handles:
            fig.legend(legend_handles.values(), legend_handles.keys(), loc="outside lower center",
                       ncol=min(len(legend_handles), 6), frameon=False, title="language (questions)")
        fig.suptitle(f"Score by language (mean and {confidence_label(next(iter(stats_by_bench.values())))})")
        return save_figure(fig, out_stem)


def dimension_matrix(stats: Mapping[str, Any]) -> tuple[list[str], list[str], np.ndarray]:
    """Dimensions x conditions matrix of mean scores (NaN where missing)."""
    rows = stats.get("dimensions") or []
    conditions = [c for c in conditions_of(stats) if any(r["condition"] == c for r in rows)]
    dimensions = list(dict.fromkeys(r["dimension"] for r in rows))
    matrix = np.full((len(dimensions), len(conditions)), np.nan)
    for row in rows:
        if row["condition"] in conditions and not is_missing(row.get("mean")):
            matrix[dimensions.index(row["dimension"]), conditions.index(row["condition"])] = row["mean"]
    return dimensions, conditions, matrix


def plot_dimension_heatmap(stats: Mapping[str, Any], out_stem: str | os.PathLike) -> list[Path]:
    """Condition x dimension mean score, grey scale with the values written in the cells."""
    dimensions, conditions, matrix = dimension_matrix(stats)
    bench = str(stats.get("benchmark", "")).upper()
    with plt.rc_context(STYLE):
        height = 1.4 + 0.24 * max(len(dimensions), 1)
        fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, height), layout="constrained")
        if not dimensions:
            note(ax, "no per-dimension results")
            ax.set_axis_off()
        else:
            image = ax.imshow(np.ma.masked_invalid(matrix), cmap="Greys", vmin=0, vmax=100, aspect="auto")
            for (i, j), value in np.ndenumerate(matrix):
                text = "n/a" if np.isnan(value) else f"{value:.0f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=6,
                        color="white" if np.isfinite(value) and value > 60 else "black")
            ax.set_xticks(range(len(conditions)))
            ax.set_xticklabels(conditions, rotation=30, ha="right")
            ax.set_yticks(range(len(dimensions)))
            ax.set_yticklabels(dimensions)
            ax.spines[:].set_visible(False)
            fig.colorbar(image, ax=ax, label="score (%)", fraction=0.04, pad=0.02)
        ax.set_title(f"{bench}: mean score (%) by dimension and condition")
        return save_figure(fig, out_stem)


def plot_seed_spread(stats_by_bench: Mapping[str, Mapping[str, Any]], out_stem: str | os.PathLike) -> list[Path]:
    """Per-seed means (crosses) beside each condition's mean over seeds with its CI (circle)."""
    with plt.rc_context(STYLE):
        fig, axes = panels(len(stats_by_bench), 2.7)
        for ax, (bench, stats) in zip(axes, stats_by_bench.items()):
            conditions = conditions_of(stats)
            seeds = stats.get("seeds") or {}
            means, errors = error_bars([group_summary(stats, c, "all") for c in conditions])
            x = np.arange(len(conditions))
            ax.errorbar(x - 0.12, means, yerr=errors, fmt="o", color="black", capsize=2.5, markersize=4,
                        linewidth=1, label="mean over seeds")
            for position, condition in zip(x, conditions):
                values = [v for v in (seeds.get(condition) or {}).values() if not is_missing(v)]
                jitter = np.linspace(-0.06, 0.06, len(values)) if len(values) > 1 else np.zeros(len(values))
                ax.plot(position + 0.12 + jitter, values, linestyle="none", marker="x", color="0.3",
                        markersize=4, label="one seed" if position == 0 else None)
            n_seeds = max((len(v or {}) for v in seeds.values()), default=0)
            if n_seeds <= 1:
                note(ax, "one seed per condition: no seed spread to show" if n_seeds else "no per-seed means")
            condition_axis(ax, conditions)
            ax.set_title(f"{bench.upper()} ({n_seeds} seed{'s' if n_seeds != 1 else ''})")
        axes[0].set_ylabel("score (%)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
        fig.suptitle("Seed spread: per-seed means beside the mean over seeds")
        return save_figure(fig, out_stem)


def question_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per-question headline scores (percent, column ``score``) of checked scores
    (``scores_csv.read_checked``): the panel's overall rows, mean over epochs, then over seeds, as
    the statistics average them.

    Rows keep the order in which conditions first appear in the scores (the config's order).
    """
    per_question = seed_means(epoch_means(overall_rows(scores)))
    return per_question.rename(columns={"percent": "score"})


def plot_score_distributions(scores_by_bench: Mapping[str, pd.DataFrame],
                             stats_by_bench: Mapping[str, Mapping[str, Any]],
                             out_stem: str | os.PathLike) -> list[Path]:
    """Box plots of per-question scores per condition (conditions ordered as in the stats)."""
    with plt.rc_context(STYLE):
        fig, axes = panels(len(scores_by_bench), 2.7)
        for ax, (bench, scores) in zip(axes, scores_by_bench.items()):
            per_question = question_scores(scores)
            conditions = conditions_of(stats_by_bench.get(bench, {})) or list(dict.fromkeys(per_question["condition"]))
            samples = [per_question.loc[per_question["condition"] == c, "score"].to_numpy() for c in conditions]
            ax.boxplot(samples, positions=range(len(conditions)), widths=0.5, showmeans=True,
                       patch_artist=True, boxprops={"facecolor": "0.92", "edgecolor": "black"},
                       medianprops={"color": "black"},
                       meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black",
                                  "markersize": 3.5},
                       flierprops={"marker": ".", "markersize": 3, "markeredgecolor": "0.4"})
            condition_axis(ax, conditions)
            n = len(per_question[["question_id", "language"]].drop_duplicates())
            ax.set_title(f"{bench.upper()} ({n} questions)")
        axes[0].set_ylabel("score (%)")
        fig.suptitle("Per-question scores by condition (box: quartiles; line: median; diamond: mean)")
        return save_figure(fig, out_stem)


# --------------------------------------------------------------------------------------------
# Inputs, file names and the entry point.

def write_heatmap_fragment(benches: Sequence[str], outdir: str | os.PathLike) -> Path:
    """``dimension_heatmaps.tex``: one figure environment per benchmark's heat map."""
    blocks = ["% Generated by value_retention.figures; do not edit."]
    for bench in benches:
        blocks.append(
            "\\begin{figure}[tbp]\n  \\centering\n"
            f"  \\includegraphics[width=\\linewidth]{{{HEATMAP_STEM}_{bench}.pdf}}\n"
            f"  \\caption{{{latex_escape(bench.upper())}: mean score (percent) per dimension and condition. "
            "Darker cells are higher scores; each cell gives its value.}\n"
            f"  \\label{{fig:heatmap-{bench}}}\n\\end{{figure}}")
    path = Path(outdir) / HEATMAP_FRAGMENT
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(blocks) + "\n", encoding="utf-8")
    return path


def make_all(stats_by_bench: Mapping[str, Mapping[str, Any]], scores_by_bench: Mapping[str, pd.DataFrame],
             outdir: str | os.PathLike) -> list[Path]:
    """Draw every figure into ``outdir`` from the statistics and the checked tidy scores
    (``scores_csv.read_checked``); returns the files written (as ``outputs.figure_files``)."""
    outdir = Path(outdir)
    written = []
    written += plot_condition_scores(stats_by_bench, outdir / "condition_scores")
    written += plot_language_groups(stats_by_bench, outdir / "language_groups")
    written += plot_language_scores(stats_by_bench, outdir / "language_scores")
    written += plot_seed_spread(stats_by_bench, outdir / "seed_spread")
    written += plot_score_distributions(scores_by_bench, stats_by_bench, outdir / "score_distributions")
    for bench, stats in stats_by_bench.items():
        written += plot_dimension_heatmap(stats, outdir / f"{HEATMAP_STEM}_{bench}")
    written.append(write_heatmap_fragment(list(stats_by_bench), outdir))
    return written
