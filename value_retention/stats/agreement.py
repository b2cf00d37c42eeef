"""Do the judges agree? Krippendorff's alpha on grades, and per-contrast sign agreement.

Only meaningful with a panel of several judges; with one judge the block is null.

Alpha. The reliability data is judges x units, a unit being one graded cell: (condition, seed,
question, language, epoch, dimension). Grades are nominal (C = 1, I = 0), so alpha is computed at
the nominal level (``krippendorff.alpha`` defaults to interval). A judge's score for a cell is the
mean over the question's variable assignments (AHB guiding questions with ``{{animal}}``), so it is
a grade only when the question has one assignment or the judge graded every assignment alike. The
tidy scores no longer hold the individual assignments' grades, so a cell in which some judge has a
fraction (say 0.5) is left out of the nominal alpha and counted (``n_units_averaged``); beside it,
``alpha_interval_all_units`` is alpha at the interval level over every cell, fractions included,
so no data is silently ignored. Cells graded by fewer than two judges cannot show (dis)agreement
and are counted too.

The interval is a bootstrap over base items: the cells of one question (its dimensions,
epochs, conditions and seeds) and of one item's languages are correlated, so resampling cells as
if they were independent made the interval 1.9-2.6 times too narrow. Each resample draws base
items with replacement and keeps all their cells. For C/I grades alpha has a closed form in three
sums over units u with m_u >= 2 pairable grades, n0_u of them I and n1_u C:

    alpha = 1 - (n - 1) * O / (N0 * N1),  O = sum_u n0_u n1_u / (m_u - 1),  N0 = sum_u n0_u,
    N1 = sum_u n1_u,  n = N0 + N1

(the coincidence-matrix definition, with two values), so every resample's alpha is a function of
weighted sums of per-item totals; a test checks the formula against the ``krippendorff`` package.
The interval is studentized like the contrasts' (:mod:`.cluster`): alpha's standard error is the
delete-one-item jackknife's, in the sample and in every resample (each drawn copy of an item left
out in turn), and the interval is alpha -+ q se with q the ``confidence`` quantile of |t*|.

Sign agreement. For each pre-declared contrast (all questions), each judge's own estimate from its
own overall(q) scores, averaged over epochs and seeds exactly as the panel's: does every judge see
the same direction as the panel?
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import krippendorff
import numpy as np
import pandas as pd

from ..scores_csv import OVERALL, PANEL_AVERAGE, QUESTION
from .cluster import cluster_weights, derived_rng
from .contrasts import paired_differences
from .tidy import dimension_rows, epoch_means, overall_rows, seed_means

UNIT = ["condition", "seed", *QUESTION, "base_item", "epoch", "dimension"]


def reliability_table(rows: pd.DataFrame, judges: Sequence[str]) -> pd.DataFrame:
    """Units (rows) x judges (columns) of per-dimension scores; NaN where a judge has none."""
    graded = rows[rows["judge"].isin(judges) & (rows["dimension"] != OVERALL)]
    return graded.set_index([*UNIT, "judge"])["score"].unstack("judge").reindex(columns=list(judges))


def unit_masks(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit: usable at the nominal level, holding an assignment-averaged score, pairable (2+ judges)."""
    values = table.to_numpy(float)
    present = ~np.isnan(values)
    is_grade = np.isclose(values, 0.0) | np.isclose(values, 1.0)
    averaged = (present & ~is_grade).any(axis=1)
    pairable = present.sum(axis=1) >= 2
    return pairable & ~averaged, averaged, pairable


def grade_counts(table: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """Units x {I, C} counts of the judges' grades, over the units usable at the nominal level
    (the rows of ``table`` where :func:`unit_masks` says usable)."""
    values = table.to_numpy(float)
    present = ~np.isnan(values)
    usable, averaged, pairable = unit_masks(table)
    ones = np.where(present & np.isclose(values, 1.0), 1, 0).sum(axis=1)
    zeros = np.where(present & np.isclose(values, 0.0), 1, 0).sum(axis=1)
    counts = np.column_stack([zeros, ones])[usable]
    tally = {"n_units": int(usable.sum()), "n_units_averaged": int((averaged & pairable).sum()),
             "n_units_single_judge": int((~pairable).sum())}
    return counts, tally


def nominal_alpha(counts: np.ndarray) -> float:
    """Krippendorff's alpha, nominal level, from units x values counts (NaN when undefined)."""
    if counts.shape[0] == 0:
        return float("nan")
    with warnings.catch_warnings():
        # One value everywhere: expected disagreement is 0 and alpha undefined; NaN says so.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def interval_alpha(table: pd.DataFrame) -> float:
    """Alpha at the interval level over every unit, averaged scores included (NaN when undefined)."""
    values = table.to_numpy(float).T  # judges x units
    if np.unique(values[~np.isnan(values)]).size < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement="interval"))


def binary_alpha_totals(counts: np.ndarray) -> np.ndarray:
    """Per unit (O_u, n0_u, n1_u): the three sums alpha is made of (module docstring)."""
    zeros, ones = counts[:, 0].astype(float), counts[:, 1].astype(float)
    return np.column_stack([zeros * ones / (zeros + ones - 1), zeros, ones])


def alpha_from_totals(totals: np.ndarray) -> np.ndarray:
    """Nominal alpha from summed (O, N0, N1), row by row (NaN where only one value occurs)."""
    disagreement, zeros, ones = totals[..., 0], totals[..., 1], totals[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1 - (zeros + ones - 1) * disagreement / (zeros * ones)
    return np.where(zeros * ones > 0, alpha, np.nan)


def jackknife_se(totals: np.ndarray, per_item: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The delete-one-item jackknife SE of alpha, for samples given as item ``weights`` (rows).

    ``totals`` (rows x 3) are the samples' summed (O, N0, N1); leaving one copy of item g out
    subtracts its ``per_item`` totals. Copies of one item give the same leave-one-out value, so
    they are counted by their weight; G is the number of items drawn.
    """
    leave_out = alpha_from_totals(totals[:, None, :] - per_item[None, :, :])    # rows x items
    drawn = weights.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        centre = np.nansum(weights * leave_out, axis=1, keepdims=True) / drawn
        spread = np.nansum(weights * (leave_out - centre) ** 2, axis=1)
    return np.sqrt((drawn[:, 0] - 1) / drawn[:, 0] * spread)


def bootstrap_alpha(counts: np.ndarray, clusters, confidence: float, n_samples: int,
                    rng: np.random.Generator) -> tuple[float | None, float | None]:
    """Symmetric studentized interval of the nominal alpha over resamples of base items (``clusters``)."""
    if counts.shape[0] < 2 or len(pd.unique(np.asarray(clusters))) < 3:
        return None, None
    codes, weights = cluster_weights(clusters, n_samples, rng)
    per_unit = binary_alpha_totals(counts)
    per_item = np.zeros((weights.shape[1], 3))
    np.add.at(per_item, codes, per_unit)
    ones = np.ones((1, weights.shape[1]))
    alpha = float(alpha_from_totals(per_item.sum(axis=0)))
    se = float(jackknife_se(per_item.sum(axis=0)[None, :], per_item, ones)[0])
    if not (np.isfinite(alpha) and se > 0):
        return None, None
    resampled = weights.astype(float) @ per_item
    with np.errstate(invalid="ignore", divide="ignore"):
        t_stats = (alpha_from_totals(resampled) - alpha) / jackknife_se(resampled, per_item, weights)
    t_stats = t_stats[~np.isnan(t_stats)]
    if t_stats.size == 0:
        return None, None
    q = float(np.quantile(np.abs(t_stats), confidence, method="inverted_cdf"))
    # Alpha is at most 1 and, on C/I grades, at least -1 but for tiny samples; with few items a
    # resample may put no bound on it at all (q infinite), and the interval is then [-1, 1].
    return max(-1.0, alpha - q * se), min(1.0, alpha + q * se)


def judge_estimate(rows: pd.DataFrame, judge: str, condition: str, minus: str) -> float | None:
    """One judge's paired estimate of ``condition`` minus ``minus`` over all questions (percent)."""
    questions = seed_means(epoch_means(judge_overall_rows(rows, judge)))
    diffs, _ = paired_differences(questions, condition, minus)
    return float(diffs["diff"].mean()) if len(diffs) else None


def judge_overall_rows(rows: pd.DataFrame, judge: str) -> pd.DataFrame:
    """A judge's overall(q) rows; if the scorer wrote none, the plain mean of its dimension rows.

    The plain mean equals overall(q) for MORU and for AHB's all-1.0 default weights.
    """
    own = overall_rows(rows, judge)
    if len(own):
        return own
    keys = ["condition", "seed", *QUESTION, "base_item", "language_group", "epoch"]
    return dimension_rows(rows, judge).groupby(keys, sort=False, as_index=False)["percent"].mean()


def sign_agreement(rows: pd.DataFrame, judges: Sequence[str], contrasts: Sequence[Sequence[str]]) -> list[dict]:
    """For each contrast: the panel's and every judge's estimate, and whether all signs match."""
    agreement = []
    for condition, minus in contrasts:
        panel = judge_estimate(rows, PANEL_AVERAGE, condition, minus)
        by_judge = {judge: judge_estimate(rows, judge, condition, minus) for judge in judges}
        estimates = [panel, *by_judge.values()]
        same = None if None in estimates else len({np.sign(value) for value in estimates}) == 1
        agreement.append({"condition": condition, "minus": minus, "group": "all",
                          "panel_estimate": panel, "by_judge": by_judge, "same_sign": same})
    return agreement


def judge_agreement(rows: pd.DataFrame, contrasts: Sequence[Sequence[str]], confidence: float,
                    bootstrap_samples: int, bootstrap_seed: int, notes: list[str]) -> dict | None:
    """The contract's ``judges`` block, or None when there are fewer than two judges."""
    judges = [judge for judge in pd.unique(rows["judge"]) if judge != PANEL_AVERAGE]
    if len(judges) < 2:
        return None
    without_overall = [judge for judge in judges if overall_rows(rows, judge).empty]
    if without_overall:
        notes.append(f"judges: no overall rows for {', '.join(without_overall)}; their sign agreement "
                     "uses the plain mean of their dimension scores")
    table = reliability_table(rows, judges)
    counts, tally = grade_counts(table)
    clusters = table.index.get_level_values("base_item")[unit_masks(table)[0]]
    alpha = nominal_alpha(counts)
    low, high = bootstrap_alpha(counts, clusters, confidence, bootstrap_samples,
                                derived_rng(bootstrap_seed, "alpha"))
    if not np.isfinite(alpha):
        notes.append(f"judges: nominal alpha undefined ({tally['n_units']} usable units; "
                     "alpha needs at least two distinct grades)")
    if tally["n_units_averaged"]:
        notes.append(f"judges: {tally['n_units_averaged']} unit(s) hold assignment-averaged scores "
                     "and are left out of the nominal alpha (see alpha_interval_all_units)")
    return {"judges": judges, "level": "nominal", "alpha": alpha, "alpha_ci_low": low,
            "alpha_ci_high": high, "alpha_ci_method": "studentized bootstrap over base items (jackknife SE)", **tally,
            "n_clusters": int(len(pd.unique(clusters))), "bootstrap_samples": bootstrap_samples,
            "alpha_interval_all_units": interval_alpha(table),
            "sign_agreement": sign_agreement(rows, judges, contrasts)}
