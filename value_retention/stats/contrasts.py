"""The headline layer: condition means, paired contrasts, and the per-dimension table.

A contrast "A minus B" is estimated on paired per-question differences: only questions that both
conditions answered enter, each contributes A(q) - B(q), and the mean difference gets the
cluster-robust t inference of :mod:`.cluster` plus a cluster-bootstrap percentile interval.
Pairing removes the (large) between-question variation in difficulty from the comparison.

Multiplicity: the pre-declared contrasts, in every language group that has data, form one family
adjusted by Holm (strong control of the family-wise error rate). The per-dimension table is
exploratory, so it gets Benjamini-Hochberg (false discovery rate) across the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from ..scores_csv import QUESTION
from ..stats_json import GROUPS
from .cluster import bootstrap_mean_interval, cluster_mean, derived_rng
from .tidy import select_group


def paired_differences(questions: pd.DataFrame, condition: str, minus: str,
                       by: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per question (and ``by`` key), ``condition`` minus ``minus``, over questions both have.

    Returns the differences (column ``diff``, plus the question's base item and language group)
    and how many questions of each side had no partner.
    """
    keys = [*QUESTION, "base_item", "language_group", *by]
    left = questions.loc[questions["condition"] == condition, [*keys, "percent"]]
    right = questions.loc[questions["condition"] == minus, [*keys, "percent"]]
    both = left.merge(right, on=keys, suffixes=("_a", "_b"), how="inner")
    both["diff"] = both["percent_a"] - both["percent_b"]
    unpaired = {condition: len(left) - len(both), minus: len(right) - len(both)}
    return both[[*keys, "diff"]], unpaired


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels ``multipletests``, method "holm")."""
    if len(pvalues) == 0:
        return []
    return [float(p) for p in multipletests(np.asarray(pvalues, dtype=float), method="holm")[1]]


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values; ``multipletests`` "fdr_bh")."""
    if len(pvalues) == 0:
        return []
    return [float(p) for p in multipletests(np.asarray(pvalues, dtype=float), method="fdr_bh")[1]]


# --------------------------------------------------------------------------------------------
# Condition means.

def condition_summaries(questions: pd.DataFrame, confidence: float, notes: list[str]) -> dict:
    """Per condition and language group: mean over questions, cluster-robust SE and t interval."""
    summaries = {}
    for condition in pd.unique(questions["condition"]):
        rows = questions[questions["condition"] == condition]
        summaries[condition] = {}
        for group in GROUPS:
            subset = select_group(rows, group)
            estimate = cluster_mean(subset["percent"], subset["base_item"], confidence)
            if estimate.note:
                notes.append(f"conditions.{condition}.{group}: {estimate.note}")
            summaries[condition][group] = {
                "mean": estimate.estimate, "se": estimate.se, "df": estimate.df,
                "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
                "n_questions": estimate.n, "n_clusters": estimate.n_clusters,
                "n_seeds": int(subset["n_seeds"].max()) if len(subset) else 0,
            }
    return summaries


# --------------------------------------------------------------------------------------------
# Pre-declared contrasts.

def contrast_rows(questions: pd.DataFrame, contrasts: Sequence[Sequence[str]], confidence: float,
                  bootstrap_samples: int, bootstrap_seed: int, notes: list[str]) -> list[dict]:
    """One row per declared contrast and language group (the contract's ``contrasts`` list).

    Every declared pair gets all three group rows, so readers can look a row up by its key;
    a row without data holds nulls, says why in ``notes``, and stays out of the Holm family.
    Pass the rows to :func:`adjust_contrast_family` next: it fills ``p_holm`` and removes the
    private ``_questions`` key each row carries until then.
    """
    present = set(questions["condition"])
    rows = []
    for condition, minus in contrasts:
        absent = [name for name in (condition, minus) if name not in present]
        if absent:
            notes.append(f"contrast {condition} - {minus}: no scores for {', '.join(absent)}")
        diffs, unpaired = paired_differences(questions, condition, minus)
        if not absent and any(unpaired.values()):
            notes.append(f"contrast {condition} - {minus}: questions without a partner left out "
                         f"({', '.join(f'{name}: {n}' for name, n in unpaired.items())})")
        for group in GROUPS:
            subset = select_group(diffs, group)
            rows.append(_contrast_row(subset, condition, minus, group, confidence, bootstrap_samples,
                                      derived_rng(bootstrap_seed, "contrast", condition, minus, group),
                                      notes))
    return rows


def _contrast_row(diffs: pd.DataFrame, condition: str, minus: str, group: str, confidence: float,
                  bootstrap_samples: int, rng: np.random.Generator, notes: list[str]) -> dict:
    estimate = cluster_mean(diffs["diff"], diffs["base_item"], confidence)
    if estimate.note:
        notes.append(f"contrast {condition} - {minus} ({group}): {estimate.note}")
    boot_low, boot_high = bootstrap_mean_interval(diffs["diff"], diffs["base_item"], confidence,
                                                  bootstrap_samples, rng)
    return {
        "condition": condition, "minus": minus, "group": group,
        "estimate": estimate.estimate, "se": estimate.se, "df": estimate.df,
        "ci_low": estimate.ci_low, "ci_high": estimate.ci_high, "p": estimate.p, "p_holm": None,
        "boot_ci_low": boot_low, "boot_ci_high": boot_high,
        "n_pairs": estimate.n, "n_clusters": estimate.n_clusters,
        # Which questions were compared, so identical tests are counted once in the family.
        "_questions": frozenset(zip(diffs["question_id"], diffs["language"])),
    }


def adjust_contrast_family(rows: list[dict]) -> dict:
    """Fill ``p_holm`` across the family of contrast rows that have a p-value; describe the family.

    When a benchmark has a single language group, its group row compares the very same questions
    as the ``all`` row: that is one test, not two, and it is counted once (both rows get its
    adjusted p-value).
    """
    tests: dict[tuple, list[dict]] = {}
    for row in rows:
        questions = row.pop("_questions")
        if row["p"] is not None:
            tests.setdefault((row["condition"], row["minus"], questions), []).append(row)
    adjusted = holm([members[0]["p"] for members in tests.values()])
    for members, p_holm in zip(tests.values(), adjusted):
        for row in members:
            row["p_holm"] = p_holm
    return {
        "method": "holm",
        "size": len(tests),
        "members": [" / ".join(f"{row['condition']} - {row['minus']} ({row['group']})" for row in members)
                    for members in tests.values()],
        "definition": "every pre-declared contrast (analysis.contrasts) in every language group "
                      "(all, english, non_english) that has paired questions and a finite p-value; "
                      "rows comparing identical question sets count once",
    }


# --------------------------------------------------------------------------------------------
# The exploratory per-dimension table.

def dimension_table(dimension_questions: pd.DataFrame, reference: str | None, confidence: float,
                    notes: list[str]) -> tuple[list[dict], dict]:
    """Per condition x dimension: mean [CI]; paired difference from ``reference`` with p and BH q.

    ``dimension_questions`` has one row per (condition, question, dimension): score(q, d)
    averaged over epochs, then seeds. Only questions tagged with the dimension enter its rows.
    """
    family = {"method": "fdr_bh", "size": 0,
              "definition": f"every condition x dimension difference from '{reference}' with a p-value"}
    if dimension_questions.empty:
        notes.append("dimensions: the scores hold no per-dimension panel rows")
        return [], family
    if reference is not None and reference not in set(dimension_questions["condition"]):
        notes.append(f"dimensions: reference condition '{reference}' has no scores; no differences")
        reference = None
    rows = []
    for dimension in pd.unique(dimension_questions["dimension"]):
        tagged = dimension_questions[dimension_questions["dimension"] == dimension]
        for condition in pd.unique(dimension_questions["condition"]):
            own = tagged[tagged["condition"] == condition]
            if own.empty:
                continue
            rows.append(_dimension_row(tagged, own, condition, dimension, reference, confidence, notes))
    tested = [row for row in rows if row["p"] is not None]
    for row, q in zip(tested, benjamini_hochberg([row["p"] for row in tested])):
        row["p_bh"] = q
    family["size"] = len(tested)
    return rows, family


def _dimension_row(tagged: pd.DataFrame, own: pd.DataFrame, condition: str, dimension: str,
                   reference: str | None, confidence: float, notes: list[str]) -> dict:
    mean = cluster_mean(own["percent"], own["base_item"], confidence)
    row = {"condition": condition, "dimension": dimension, "mean": mean.estimate, "se": mean.se,
           "ci_low": mean.ci_low, "ci_high": mean.ci_high, "n_questions": mean.n,
           "diff": None, "diff_ci_low": None, "diff_ci_high": None, "p": None, "p_bh": None,
           "n_pairs": 0}
    if mean.note:
        notes.append(f"dimensions.{condition}.{dimension}: {mean.note}")
    if reference is None or condition == reference:
        return row
    diffs, _ = paired_differences(tagged, condition, reference, by=["dimension"])
    diff = cluster_mean(diffs["diff"], diffs["base_item"], confidence)
    if diff.note:
        notes.append(f"dimensions.{condition}.{dimension} - {reference}: {diff.note}")
    row.update(diff=diff.estimate, diff_ci_low=diff.ci_low, diff_ci_high=diff.ci_high, p=diff.p,
               n_pairs=diff.n)
    return row
