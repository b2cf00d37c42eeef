"""The headline layer: condition means, paired contrasts, and the per-dimension table.

A condition's mean score gets the bounded interval of :mod:`.bounded` (it stays within 0-100 and
keeps its coverage near the floor and the ceiling). A contrast "A minus B" is estimated on paired
per-question differences, paired within seed (seed s of every condition descends from the same
run): only questions that both conditions answered enter, each contributes A(q) - B(q), and the
mean difference gets the cluster-robust t inference of :mod:`.cluster` (with the run component
when there are several seeds) plus a studentized cluster-bootstrap (bootstrap-t) interval.
Pairing removes the (large) between-question variation in difficulty from the comparison.

Multiplicity: the declared contrasts are descriptive. They form one family adjusted by Holm
within themselves, in every language group that has data; the confirmatory family is the claims'
(:mod:`.claims`). The per-dimension table is exploratory, so it gets Benjamini-Hochberg (false
discovery rate) across the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from ..scores_csv import QUESTION
from ..stats_json import GROUPS
from .bounded import score_mean
from .cluster import ClusterEstimate, bootstrap_t_interval, cluster_mean, derived_rng
from .tidy import seed_matrix, select_group


def paired_differences(questions: pd.DataFrame, condition: str, minus: str,
                       by: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per question (and ``by`` key), ``condition`` minus ``minus``, over questions both have.

    Returns the differences (column ``diff``, plus the question's base item and language group)
    and how many questions of each side had no partner.
    """
    return _paired(questions, condition, minus, [*QUESTION, "base_item", "language_group", *by])


def paired_cells(cells: pd.DataFrame, condition: str, minus: str,
                 by: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per question and seed (and ``by`` key), ``condition`` minus ``minus`` within the seed.

    Returns the differences (column ``diff``, with the question's base item, language group and
    seed) and, per side, how many of its (question, seed) cells had no partner.
    """
    return _paired(cells, condition, minus, [*QUESTION, "base_item", "language_group", "seed", *by])


def _paired(frame: pd.DataFrame, condition: str, minus: str, keys: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    left = frame.loc[frame["condition"] == condition, [*keys, "percent"]]
    right = frame.loc[frame["condition"] == minus, [*keys, "percent"]]
    both = left.merge(right, on=keys, suffixes=("_a", "_b"), how="inner")
    both["diff"] = both["percent_a"] - both["percent_b"]
    unpaired = {condition: len(left) - len(both), minus: len(right) - len(both)}
    return both[[*keys, "diff"]], unpaired


def over_seeds(frame: pd.DataFrame, value: str, confidence: float, bounded: bool = False,
               ) -> tuple[ClusterEstimate, pd.DataFrame]:
    """The estimate of the mean of ``value`` over questions, from one row per (question, seed).

    ``bounded`` gives a score's interval (:func:`.bounded.score_mean`), otherwise the t interval
    of a difference. Returns the estimate and the per-question values it averaged.
    """
    if frame.empty:
        return cluster_mean([], [], confidence), frame.assign(n_seeds=[])
    questions, seed_values = seed_matrix(frame, value)
    estimator = score_mean if bounded else cluster_mean
    return estimator(questions[value], questions["base_item"], confidence, seed_values), questions


def estimate_fields(estimate: ClusterEstimate) -> dict:
    """The inference fields every summary and contrast row of the statistics JSON carries."""
    return {"se": estimate.se, "df": estimate.df, "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
            "interval": estimate.interval, "degenerate": estimate.degenerate,
            "n_seeds": estimate.n_seeds, "se_runs": estimate.se_runs, "scope": estimate.scope}


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

def condition_summaries(cells: pd.DataFrame, confidence: float, notes: list[str]) -> dict:
    """Per condition and language group: mean over questions with its bounded interval.

    ``cells`` has one row per (condition, seed, question); seeds are averaged per question, and
    with several seeds the interval includes the run component (:mod:`.runs`).
    """
    summaries = {}
    for condition in pd.unique(cells["condition"]):
        rows = cells[cells["condition"] == condition]
        summaries[condition] = {}
        for group in GROUPS:
            estimate, _ = over_seeds(select_group(rows, group), "percent", confidence, bounded=True)
            if estimate.note:
                notes.append(f"conditions.{condition}.{group}: {estimate.note}")
            summaries[condition][group] = {
                "mean": estimate.estimate, **estimate_fields(estimate),
                "n_questions": estimate.n, "n_clusters": estimate.n_clusters,
            }
    return summaries


# --------------------------------------------------------------------------------------------
# Pre-declared contrasts.

def contrast_rows(cells: pd.DataFrame, contrasts: Sequence[Sequence[str]], confidence: float,
                  bootstrap_samples: int, bootstrap_seed: int, notes: list[str]) -> list[dict]:
    """One row per declared contrast and language group (the contract's ``contrasts`` list).

    Every declared pair gets all three group rows, so readers can look a row up by its key;
    a row without data holds nulls, says why in ``notes``, and stays out of the Holm family.
    Pass the rows to :func:`adjust_contrast_family` next: it fills ``p_holm`` and removes the
    private ``_questions`` key each row carries until then.
    """
    present = set(cells["condition"])
    rows = []
    for condition, minus in contrasts:
        absent = [name for name in (condition, minus) if name not in present]
        if absent:
            notes.append(f"contrast {condition} - {minus}: no scores for {', '.join(absent)}")
        diffs, unpaired = paired_cells(cells, condition, minus)
        if not absent and any(unpaired.values()):
            notes.append(f"contrast {condition} - {minus}: questions without a partner left out "
                         f"({', '.join(f'{name}: {n}' for name, n in unpaired.items())} question x seed cells)")
        for group in GROUPS:
            rows.append(contrast_row(select_group(diffs, group), condition, minus, group, confidence,
                                     bootstrap_samples,
                                     derived_rng(bootstrap_seed, "contrast", condition, minus, group), notes))
    return rows


def contrast_row(diffs: pd.DataFrame, condition: str, minus: str, group: str, confidence: float,
                 bootstrap_samples: int, rng: np.random.Generator, notes: list[str]) -> dict:
    """A paired contrast from per-seed differences: t inference and the bootstrap-t interval."""
    estimate, questions = over_seeds(diffs, "diff", confidence)
    if estimate.note:
        notes.append(f"contrast {condition} - {minus} ({group}): {estimate.note}")
    boot_low, boot_high = (None, None) if questions.empty else bootstrap_t_interval(
        questions["diff"], questions["base_item"], confidence, bootstrap_samples, rng)
    return {
        "condition": condition, "minus": minus, "group": group,
        "estimate": estimate.estimate, **estimate_fields(estimate), "p": estimate.p, "p_holm": None,
        "boot_ci_low": boot_low, "boot_ci_high": boot_high, "boot_method": "bootstrap-t",
        "n_pairs": estimate.n, "n_clusters": estimate.n_clusters,
        # Which questions were compared, so identical tests are counted once in the family.
        "_questions": frozenset(zip(questions["question_id"], questions["language"])),
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
        "definition": "descriptive: every declared contrast (analysis.contrasts) in every language "
                      "group (all, english, non_english) that has paired questions and a finite p-value; "
                      "rows comparing identical question sets count once. The confirmatory family is "
                      "the claims' (analysis.claims)",
    }


# --------------------------------------------------------------------------------------------
# The exploratory per-dimension table.

def dimension_table(dimension_cells: pd.DataFrame, reference: str | None, confidence: float,
                    notes: list[str]) -> tuple[list[dict], dict]:
    """Per condition x dimension: mean [bounded CI]; paired difference from ``reference`` with p and BH q.

    ``dimension_cells`` has one row per (condition, seed, question, dimension): score(q, d)
    averaged over epochs. Only questions tagged with the dimension enter its rows.
    """
    family = {"method": "fdr_bh", "size": 0,
              "definition": f"every condition x dimension difference from '{reference}' with a p-value"}
    if dimension_cells.empty:
        notes.append("dimensions: the scores hold no per-dimension panel rows")
        return [], family
    if reference is not None and reference not in set(dimension_cells["condition"]):
        notes.append(f"dimensions: reference condition '{reference}' has no scores; no differences")
        reference = None
    rows = []
    for dimension in pd.unique(dimension_cells["dimension"]):
        tagged = dimension_cells[dimension_cells["dimension"] == dimension]
        for condition in pd.unique(dimension_cells["condition"]):
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
    mean, _ = over_seeds(own, "percent", confidence, bounded=True)
    row = {"condition": condition, "dimension": dimension, "mean": mean.estimate, "se": mean.se,
           "ci_low": mean.ci_low, "ci_high": mean.ci_high, "interval": mean.interval,
           "degenerate": mean.degenerate, "n_questions": mean.n,
           "diff": None, "diff_ci_low": None, "diff_ci_high": None, "p": None, "p_bh": None,
           "n_pairs": 0}
    if mean.note:
        notes.append(f"dimensions.{condition}.{dimension}: {mean.note}")
    if reference is None or condition == reference:
        return row
    diffs, _ = paired_cells(tagged, condition, reference, by=["dimension"])
    diff, _ = over_seeds(diffs, "diff", confidence)
    if diff.note:
        notes.append(f"dimensions.{condition}.{dimension} - {reference}: {diff.note}")
    row.update(diff=diff.estimate, diff_ci_low=diff.ci_low, diff_ci_high=diff.ci_high, p=diff.p,
               n_pairs=diff.n)
    return row
