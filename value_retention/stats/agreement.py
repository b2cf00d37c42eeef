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
and are counted too. The interval is a percentile bootstrap over units (cells resampled with
replacement); cells of one question are correlated, so read it as a lower bound on the uncertainty.

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
from tqdm import tqdm

from ..scores_csv import OVERALL, PANEL_AVERAGE, QUESTION
from .cluster import derived_rng, percentile_interval
from .contrasts import paired_differences
from .tidy import dimension_rows, epoch_means, overall_rows, seed_means

UNIT = ["condition", "seed", *QUESTION, "epoch", "dimension"]


def reliability_table(rows: pd.DataFrame, judges: Sequence[str]) -> pd.DataFrame:
    """Units (rows) x judges (columns) of per-dimension scores; NaN where a judge has none."""
    graded = rows[rows["judge"].isin(judges) & (rows["dimension"] != OVERALL)]
    return graded.set_index([*UNIT, "judge"])["score"].unstack("judge").reindex(columns=list(judges))


def grade_counts(table: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
    """Units x {I, C} counts of the judges' grades, over the units usable at the nominal level."""
    values = table.to_numpy(float)
    present = ~np.isnan(values)
    is_grade = np.isclose(values, 0.0) | np.isclose(values, 1.0)
    averaged = (present & ~is_grade).any(axis=1)
    pairable = present.sum(axis=1) >= 2
    usable = pairable & ~averaged
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


def bootstrap_alpha(counts: np.ndarray, confidence: float, n_samples: int,
                    rng: np.random.Generator) -> tuple[float | None, float | None]:
    """Percentile interval of the nominal alpha over resamples of the units."""
    if counts.shape[0] < 2:
        return None, None
    # Each draw is a full alpha over all units: at paper scale (~10^5 units) this loop takes a
    # minute, so it shows progress there.
    quiet = counts.shape[0] * n_samples < 5_000_000
    draws = np.array([nominal_alpha(counts[rng.integers(0, len(counts), len(counts))])
                      for _ in tqdm(range(n_samples), desc="alpha bootstrap", mininterval=10, disable=quiet)])
    return percentile_interval(draws, confidence)


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
    alpha = nominal_alpha(counts)
    low, high = bootstrap_alpha(counts, confidence, bootstrap_samples,
                                derived_rng(bootstrap_seed, "alpha"))
    if not np.isfinite(alpha):
        notes.append(f"judges: nominal alpha undefined ({tally['n_units']} usable units; "
                     "alpha needs at least two distinct grades)")
    if tally["n_units_averaged"]:
        notes.append(f"judges: {tally['n_units_averaged']} unit(s) hold assignment-averaged scores "
                     "and are left out of the nominal alpha (see alpha_interval_all_units)")
    return {"judges": judges, "level": "nominal", "alpha": alpha, "alpha_ci_low": low,
            "alpha_ci_high": high, **tally, "bootstrap_samples": bootstrap_samples,
            "alpha_interval_all_units": interval_alpha(table),
            "sign_agreement": sign_agreement(rows, judges, contrasts)}
