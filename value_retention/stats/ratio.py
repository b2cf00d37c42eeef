"""Cross-language transfer: how a condition's gain on non-English items compares with its English gain.

Each gain is a mean of paired per-question differences ("condition minus baseline") within its
language group. Two statistics, in this order:

- the **difference of gains**, gain_non_english - gain_english, with its cluster-robust t interval
  and test: the primary statistic. It is the 1-df condition x language interaction of this pair,
  estimated on the paired differences (:mod:`.mixed` reports the model-based twin). It is
  defined, and its interval keeps its coverage, whatever the size of the English gain;
- the **ratio** gain_non_english / gain_english with Fieller's confidence set: secondary. The set
  is always reported, whatever its shape (an interval, everything outside an interval, or every
  ratio), because Fieller's set covers at its nominal level only unconditionally: an interval
  shown only when the English gain tested significant covers 63-89% at the gains the paper
  implies. ``estimable`` says whether the set is a finite interval (the English gain's interval
  excludes 0); a reader should not quote the ratio when it is not.

Fieller, derived. Write a = gain_non_english, b = gain_english, with variances v_aa, v_bb and
covariance v_ab, and let theta be the true ratio, so that E[a - theta b] = 0 and
Var(a - theta b) = v_aa - 2 theta v_ab + theta^2 v_bb. The confidence set is every theta that this
t test does not reject, (a - theta b)^2 <= t^2 Var(a - theta b), a quadratic inequality

    A theta^2 - 2 B theta + C <= 0,  A = b^2 - t^2 v_bb,  B = a b - t^2 v_ab,  C = a^2 - t^2 v_aa.

- A > 0 (b significantly different from 0): the set is the interval between the roots
  (B -+ sqrt(B^2 - A C)) / A; the discriminant is then >= 0 because theta = a/b satisfies it.
- A < 0 and B^2 - A C > 0: the set is everything *outside* the roots ("exclusive").
- A < 0 and B^2 - A C <= 0 (or A = 0): the whole real line ("unbounded").

The covariance. The two gains come from one OLS of the differences on two indicators (English,
non-English) without a constant, whose coefficients are the two group means, with the same CRV1
cluster-robust covariance as every other estimate (:mod:`.cluster`). The sandwich sums each base
item's score vector (its English residual total, its non-English residual total), so an item asked
in both groups (MORU: one item in English, Malay and Hindi) adds the product of its two totals to
the off-diagonal: the covariance is estimated, not assumed. Where no item spans both groups (AHB)
the off-diagonal is exactly 0 and the two gains are independent estimates. Degrees of freedom:
G - 1 over the base items that enter either gain.

Several seeds: each gain's run component, and the difference's, come from :mod:`.runs` on the
per-seed differences (the difference of gains written as a mean of re-weighted differences), the
run covariance of the two gains from the identity Var(a - b) = Var(a) + Var(b) - 2 Cov(a, b), and
the degrees of freedom are the difference's Satterthwaite value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as scipy_stats

from .cluster import CHECKPOINTS, RECIPE
from .contrasts import paired_cells
from .runs import seed_spread, with_runs
from .tidy import seed_matrix


def fieller_interval(numerator: float, denominator: float, var_numerator: float,
                     var_denominator: float, covariance: float, t_crit: float) -> dict:
    """Fieller's confidence set for numerator / denominator (see the module docstring).

    Returns ``{"low", "high", "status"}``: status "bounded" (low <= ratio <= high), "exclusive"
    (the set is ratio <= low or ratio >= high), or "unbounded" (every ratio; low = high = None).
    """
    a, b, t2 = numerator, denominator, t_crit ** 2
    quad = b * b - t2 * var_denominator
    half = a * b - t2 * covariance
    const = a * a - t2 * var_numerator
    discriminant = half * half - quad * const
    if quad == 0 or (quad < 0 and discriminant <= 0):
        return {"low": None, "high": None, "status": "unbounded"}
    root = math.sqrt(max(discriminant, 0.0))
    low, high = sorted(((half - root) / quad, (half + root) / quad))
    return {"low": low, "high": high, "status": "bounded" if quad > 0 else "exclusive"}


def group_gains(diffs: pd.DataFrame) -> dict:
    """English and non-English mean differences with their joint cluster-robust covariance.

    ``diffs`` has one row per question (column ``diff``, averaged over seeds).
    """
    indicators = np.column_stack([(diffs["language_group"] == "english").to_numpy(float),
                                  (diffs["language_group"] == "non_english").to_numpy(float)])
    codes, _ = pd.factorize(diffs["base_item"])
    fit = sm.OLS(diffs["diff"].to_numpy(float), indicators).fit(
        cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    cov = np.asarray(fit.cov_params())
    return {"gain_english": float(fit.params[0]), "gain_non_english": float(fit.params[1]),
            "var_english": float(cov[0, 0]), "var_non_english": float(cov[1, 1]),
            "covariance": float(cov[0, 1]), "df": int(fit.df_resid_inference)}


def with_run_parts(gains: dict, var_difference: float, diffs: pd.DataFrame, seed_values: np.ndarray) -> dict | None:
    """``gains``' variances, covariance and degrees of freedom (``var_difference`` the variance of
    their difference) with the run (seed) components (:func:`.runs.with_runs`), or None when a
    group has fewer than 2 questions in every seed."""
    codes, _ = pd.factorize(diffs["base_item"])
    english = (diffs["language_group"] == "english").to_numpy()
    n, n_english = len(diffs), int(english.sum())
    # gain_non_english - gain_english = mean over all questions of these re-weighted differences.
    weights = np.where(english, -n / n_english, n / (n - n_english))[:, None]
    spreads = {"english": seed_spread(seed_values[english], codes[english]),
               "non_english": seed_spread(seed_values[~english], codes[~english]),
               "difference": seed_spread(seed_values * weights, codes)}
    if any(spread is None for spread in spreads.values()):
        return None
    df = float(gains["df"])
    totals = {"english": with_runs(gains["var_english"], df, spreads["english"]),
              "non_english": with_runs(gains["var_non_english"], df, spreads["non_english"]),
              "difference": with_runs(var_difference, df, spreads["difference"])}
    variance = {name: total for name, (total, _) in totals.items()}
    variance["covariance"] = (variance["english"] + variance["non_english"] - variance["difference"]) / 2
    variance["df"] = totals["difference"][1]
    return variance


def transfer_ratio(cells: pd.DataFrame, condition: str, minus: str, confidence: float,
                   notes: list[str]) -> dict:
    """The contract's ``transfer_ratio`` block for ``condition`` minus ``minus``.

    ``cells`` has one row per (condition, seed, question); differences are paired within seed.
    """
    result = {"condition": condition, "minus": minus, "gain_english": None, "gain_non_english": None,
              "se_english": None, "se_non_english": None, "covariance": None, "df": None,
              "n_pairs_english": 0, "n_pairs_non_english": 0, "n_clusters": 0, "n_seeds": 1,
              "scope": CHECKPOINTS,
              "difference": {"estimate": None, "se": None, "df": None, "ci_low": None, "ci_high": None,
                             "p": None},
              "ratio": None, "fieller": {"low": None, "high": None, "status": None},
              "estimable": False, "note": None}
    per_seed, _ = paired_cells(cells, condition, minus)
    if per_seed.empty:
        diffs, seed_values = per_seed.assign(n_seeds=[]), None
    else:
        diffs, seed_values = seed_matrix(per_seed, "diff")
    counts = diffs["language_group"].value_counts()
    result["n_pairs_english"] = int(counts.get("english", 0))
    result["n_pairs_non_english"] = int(counts.get("non_english", 0))
    result["n_clusters"] = int(diffs["base_item"].nunique())
    if min(result["n_pairs_english"], result["n_pairs_non_english"]) < 2 or result["n_clusters"] < 3:
        result["note"] = ("needs at least 2 paired questions in each language group and 3 base items "
                          f"(English pairs: {result['n_pairs_english']}, non-English pairs: "
                          f"{result['n_pairs_non_english']}, base items: {result['n_clusters']})")
        notes.append(f"transfer_ratio {condition} - {minus}: {result['note']}")
        return result
    gains = group_gains(diffs)
    var_english, var_non_english, covariance = gains["var_english"], gains["var_non_english"], gains["covariance"]
    var_difference = var_english + var_non_english - 2 * covariance
    df = float(gains["df"])
    runs = None if seed_values is None else with_run_parts(gains, var_difference, diffs, seed_values)
    if runs is not None:
        var_english, var_non_english = runs["english"], runs["non_english"]
        covariance, var_difference, df = runs["covariance"], runs["difference"], runs["df"]
        result.update(n_seeds=int(seed_values.shape[1]), scope=RECIPE)
    elif seed_values is not None:
        notes.append(f"transfer_ratio {condition} - {minus}: the run (seed) component needs 2 questions "
                     "scored in every seed in each group; left out")
    # Estimated one by one, the three variances need not make a covariance matrix: hold the
    # covariance within +-sqrt(V_E V_NE) before Fieller's set uses it.
    bound = math.sqrt(var_english * var_non_english)
    covariance = min(max(covariance, -bound), bound)
    t_crit = float(scipy_stats.t.ppf(0.5 + confidence / 2, df))
    difference = gains["gain_non_english"] - gains["gain_english"]
    se_difference = math.sqrt(max(var_difference, 0.0))
    result.update(gain_english=gains["gain_english"], gain_non_english=gains["gain_non_english"],
                  se_english=math.sqrt(var_english), se_non_english=math.sqrt(var_non_english),
                  covariance=covariance, df=df)
    result["difference"] = {
        "estimate": difference, "se": se_difference, "df": df,
        "ci_low": difference - t_crit * se_difference, "ci_high": difference + t_crit * se_difference,
        "p": float(2 * scipy_stats.t.sf(abs(difference) / se_difference, df)) if se_difference > 0 else None}
    result["fieller"] = fieller_interval(gains["gain_non_english"], gains["gain_english"], var_non_english,
                                         var_english, covariance, t_crit)
    if gains["gain_english"] != 0:
        result["ratio"] = gains["gain_non_english"] / gains["gain_english"]
    result["estimable"] = result["fieller"]["status"] == "bounded"
    half_width = t_crit * math.sqrt(var_english)
    if result["estimable"]:
        result["note"] = (f"Fieller {confidence:.0%} interval with the joint cluster-robust covariance of the "
                          f"two gains (df {df:.3g})")
    else:
        result["note"] = (f"the English gain's {confidence:.0%} interval "
                          f"[{gains['gain_english'] - half_width:.2f}, {gains['gain_english'] + half_width:.2f}] "
                          f"covers 0, so the ratio is not determined: its Fieller {confidence:.0%} set is "
                          f"{describe_set(result['fieller'])}")
        notes.append(f"transfer_ratio {condition} - {minus}: {result['note']}")
    return result


def describe_set(fieller: dict) -> str:
    """Fieller's set in words (also for the tables and prose)."""
    if fieller["status"] == "bounded":
        return f"[{fieller['low']:.3g}, {fieller['high']:.3g}]"
    if fieller["status"] == "exclusive":
        return f"everything outside ({fieller['low']:.3g}, {fieller['high']:.3g})"
    return "the whole real line"
