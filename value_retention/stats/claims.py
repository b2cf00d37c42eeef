"""The paper's claims, one by one: a test, an estimate with its interval, and a verdict.

Claims are declared in the config (``analysis.claims``; their shape is
:mod:`value_retention.claims_spec`). This module works in two steps, because the family of
confirmatory claims spans benchmarks while the statistics are computed per benchmark:

1. :func:`claim_tests`, inside each benchmark's statistics: for each claim on that benchmark the
   estimate, its interval and its unadjusted p-value, and the paper's own method beside it;
2. :func:`confirm`, in the ``claims`` rule, over every benchmark's statistics: the Holm
   adjustment within the family of claims (the claims only: descriptive contrasts and
   exploratory rows stay out of it), the minimum detectable effect, and the verdicts.

The tests (percent scale; ``alpha = 1 - confidence``):

- ``difference``: the paired difference A - B in the group (paired within seed, clustered by base
  item, with the run component when there are several seeds: :mod:`.cluster`), a two-sided t test
  of "no difference". Supported when its Holm-adjusted p is below alpha and the estimate has the
  claimed sign; contradicted when it is below alpha with the other sign; otherwise inconclusive.
- ``equivalence``: two one-sided tests (TOST) of |A - B| >= margin; p = the larger of the two,
  and the interval shown is the (1 - 2 alpha) one, which lies inside +-margin exactly when TOST
  rejects. Supported when the Holm-adjusted TOST p is below alpha; contradicted when the
  difference is shown to lie beyond the margin (the one-sided test of |A - B| <= margin on the
  estimate's side, doubled for choosing the side, below alpha / m: Bonferroni over the family);
  otherwise inconclusive.
- ``transfer``: the difference of gains, (A - B on non-English items) - (A - B on English items),
  with its t interval (:mod:`.ratio`): the primary statistic, tested like a difference. The ratio
  of the gains and its Fieller set, and the mixed model's 1-df interaction term, sit beside it.

Holm controls the family-wise rate of wrongly supported or contradicted verdicts at alpha. An
inconclusive verdict comes with the minimum detectable effect (MDE): the true effect that a
two-sided t test at the Bonferroni level alpha / m (where Holm's procedure starts) would detect
with the configured power (80% by default), given the claim's standard error and degrees of
freedom (``statsmodels``' ``TTestPower``); for an equivalence claim, the smallest margin that TOST
at that level would establish with that power if the true difference were 0.

The paper's method. The paper compares mean scores with t-tests and no multiple-comparison
correction. It does not say which t-test; we assume, by default, Welch's unpaired two-sample
t-test on per-question scores (``analysis.paper_t_test: welch``): comparing the two runs' lists of
question scores is what a mean-and-t-test analysis of two evaluation logs does, and Welch's is the
two-sample test that does not assume equal variances (R's ``t.test`` default). ``student`` (pooled
variance, ``scipy.stats.ttest_ind``'s default) and ``paired`` (``ttest_rel`` on the questions both
answered) can be chosen instead. For a transfer claim the paper's statistic is the ratio of the
unpaired mean gains; its test, the Welch (or pooled) t-test of the difference of the unpaired
gains over the four groups of questions. The paper's reading of its p-value: below alpha in the
claimed direction, "supported"; for a claim of no difference, a p-value above alpha was read as
"no difference", i.e. "supported", which is what an equivalence test is for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats
from statsmodels.stats.power import TTestPower

from ..claims_spec import resolve_claims
from ..errors import DataError
from .contrasts import estimate_fields, holm, over_seeds, paired_cells
from .ratio import transfer_ratio
from .tidy import seed_means, select_group

PAPER_T_TESTS = {
    "welch": "Welch's unpaired two-sample t-test on per-question scores (unequal variances), uncorrected",
    "student": "Student's unpaired two-sample t-test on per-question scores (pooled variance), uncorrected",
    "paired": "the paired t-test on the per-question differences, questions independent, uncorrected",
}
SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTED = "supported", "contradicted", "inconclusive", "not tested"


# --------------------------------------------------------------------------------------------
# Step 1, per benchmark: the tests.

def claim_tests(cells: pd.DataFrame, claims: Sequence[Mapping[str, Any]], benchmark: str, confidence: float,
                paper_t_test: str, interaction_terms: Sequence[Mapping[str, Any]], notes: list[str]) -> list[dict]:
    """The ``claims`` list of one benchmark's statistics: every claim on ``benchmark``, tested.

    ``cells`` has one row per (condition, seed, question); ``interaction_terms`` is the mixed
    model's list (:mod:`.mixed`), from which a transfer claim takes its 1-df term.
    """
    rows = []
    for claim in claims:
        if claim["benchmark"] != benchmark:
            continue
        absent = [name for name in (claim["condition"], claim["minus"]) if name not in set(cells["condition"])]
        row = {"name": claim["name"], "benchmark": benchmark, "group": claim["group"], "test": claim["test"],
               "condition": claim["condition"], "minus": claim["minus"], "direction": claim["direction"],
               "margin": claim["margin"], "estimate": None, "se": None, "df": None, "ci_low": None,
               "ci_high": None, "p": None, "note": None}
        if absent:
            row["note"] = f"no scores for {', '.join(absent)}"
            notes.append(f"claim {claim['name']}: {row['note']}")
        elif claim["test"] == "transfer":
            row.update(transfer_test(cells, claim, confidence, interaction_terms, notes))
        else:
            row.update(difference_test(cells, claim, confidence, notes))
        row["means"] = condition_means(cells, claim, confidence)
        row["paper_method"] = paper_method(cells, claim, paper_t_test) if not absent else None
        rows.append(row)
    return rows


def difference_test(cells: pd.DataFrame, claim: Mapping[str, Any], confidence: float, notes: list[str]) -> dict:
    diffs, _ = paired_cells(select_group(cells, claim["group"]), claim["condition"], claim["minus"])
    estimate, _ = over_seeds(diffs, "diff", confidence)
    row = {"estimate": estimate.estimate, **estimate_fields(estimate), "p": estimate.p,
           "n_pairs": estimate.n, "n_clusters": estimate.n_clusters, "note": estimate.note}
    if estimate.note:
        notes.append(f"claim {claim['name']}: {estimate.note}")
    if claim["test"] == "equivalence":
        row["tost"] = tost(estimate.estimate, estimate.se, estimate.df, claim["margin"], confidence)
    return row


def tost(estimate: float | None, se: float | None, df: float | None, margin: float, confidence: float) -> dict:
    """Two one-sided tests of |difference| >= margin, and the test that it lies beyond the margin."""
    alpha = 1 - confidence
    result = {"margin": margin, "p_lower": None, "p_upper": None, "p": None, "ci_low": None, "ci_high": None,
              "level": 1 - 2 * alpha, "p_beyond": None}
    if estimate is None or not se:
        return result
    p_lower = float(scipy_stats.t.sf((estimate + margin) / se, df))   # H0: difference <= -margin
    p_upper = float(scipy_stats.t.cdf((estimate - margin) / se, df))  # H0: difference >= +margin
    t_crit = float(scipy_stats.t.ppf(1 - alpha, df))
    beyond = scipy_stats.t.sf((abs(estimate) - margin) / se, df)      # H0: |difference| <= margin
    result.update(p_lower=p_lower, p_upper=p_upper, p=max(p_lower, p_upper),
                  ci_low=estimate - t_crit * se, ci_high=estimate + t_crit * se,
                  p_beyond=float(min(1.0, 2 * beyond)))
    return result


def transfer_test(cells: pd.DataFrame, claim: Mapping[str, Any], confidence: float,
                  interaction_terms: Sequence[Mapping[str, Any]], notes: list[str]) -> dict:
    block = transfer_ratio(cells, claim["condition"], claim["minus"], confidence, notes)
    difference = block["difference"]
    interaction = next((term for term in interaction_terms
                        if (term["condition"], term["minus"]) == (claim["condition"], claim["minus"])), None)
    return {"estimate": difference["estimate"], "se": difference["se"], "df": difference["df"],
            "ci_low": difference["ci_low"], "ci_high": difference["ci_high"], "p": difference["p"],
            "scope": block["scope"], "n_seeds": block["n_seeds"],
            "n_pairs": block["n_pairs_english"] + block["n_pairs_non_english"], "n_clusters": block["n_clusters"],
            "note": None if difference["estimate"] is not None else block["note"],
            "transfer": {key: block[key] for key in ("gain_english", "gain_non_english", "se_english",
                                                     "se_non_english", "covariance", "n_pairs_english",
                                                     "n_pairs_non_english", "ratio", "fieller", "estimable",
                                                     "note")},
            "interaction": interaction}


def condition_means(cells: pd.DataFrame, claim: Mapping[str, Any], confidence: float) -> dict:
    """The two conditions' means in the claim's group (for a transfer claim, per language group)."""
    groups = ["english", "non_english"] if claim["test"] == "transfer" else [claim["group"]]
    means = {}
    for role in ("condition", "minus"):
        rows = cells[cells["condition"] == claim[role]]
        means[role] = {}
        for group in groups:
            estimate, _ = over_seeds(select_group(rows, group), "percent", confidence, bounded=True)
            means[role][group] = {"mean": estimate.estimate, "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
                                  "degenerate": estimate.degenerate, "n_questions": estimate.n}
    return means


# --------------------------------------------------------------------------------------------
# The paper's method: means and uncorrected t-tests.

def paper_method(cells: pd.DataFrame, claim: Mapping[str, Any], t_test: str) -> dict:
    """The paper's statistic and its uncorrected p-value for one claim (see the module docstring)."""
    questions = seed_means(cells)
    result = {"t_test": t_test, "description": PAPER_T_TESTS[t_test], "estimate": None, "p": None, "df": None,
              "ratio": None}
    if claim["test"] == "transfer":
        result.update(paper_transfer(questions, claim, t_test))
        return result
    subset = select_group(questions, claim["group"])
    a = subset.loc[subset["condition"] == claim["condition"]]
    b = subset.loc[subset["condition"] == claim["minus"]]
    if t_test == "paired":
        both = a.merge(b, on=["question_id", "language"], suffixes=("_a", "_b"))
        x, y = both["percent_a"].to_numpy(float), both["percent_b"].to_numpy(float)
        if len(both) < 2:
            return result
        test = scipy_stats.ttest_rel(x, y)
    else:
        x, y = a["percent"].to_numpy(float), b["percent"].to_numpy(float)
        if min(len(x), len(y)) < 2:
            return result
        test = scipy_stats.ttest_ind(x, y, equal_var=t_test == "student")
    result.update(mean_condition=float(x.mean()), mean_minus=float(y.mean()), estimate=float(x.mean() - y.mean()),
                  p=finite(test.pvalue), df=finite(test.df))
    return result


def paper_transfer(questions: pd.DataFrame, claim: Mapping[str, Any], t_test: str) -> dict:
    """Unpaired mean gains per language group, their ratio, and a t-test of their difference."""
    samples = {}
    for group in ("english", "non_english"):
        subset = select_group(questions, group)
        samples[group] = [subset.loc[subset["condition"] == claim[role], "percent"].to_numpy(float)
                          for role in ("condition", "minus")]
    if any(len(sample) < 2 for pair in samples.values() for sample in pair):
        return {}
    gains = {group: a.mean() - b.mean() for group, (a, b) in samples.items()}
    difference = gains["non_english"] - gains["english"]
    if t_test == "paired":
        paired = {}
        for group in samples:
            subset = select_group(questions, group)
            both = subset[subset["condition"] == claim["condition"]].merge(
                subset[subset["condition"] == claim["minus"]], on=["question_id", "language"], suffixes=("_a", "_b"))
            paired[group] = (both["percent_a"] - both["percent_b"]).to_numpy(float)
        test = scipy_stats.ttest_ind(paired["non_english"], paired["english"], equal_var=False)
        p, df = finite(test.pvalue), finite(test.df)
    else:
        arrays = [sample for pair in samples.values() for sample in pair]
        if t_test == "student":
            df = float(sum(len(x) for x in arrays) - 4)
            pooled = sum(((x - x.mean()) ** 2).sum() for x in arrays) / df
            se = math.sqrt(pooled * sum(1 / len(x) for x in arrays))
        else:
            parts = [x.var(ddof=1) / len(x) for x in arrays]
            se = math.sqrt(sum(parts))
            df = sum(parts) ** 2 / sum(part ** 2 / (len(x) - 1) for part, x in zip(parts, arrays))
        p = float(2 * scipy_stats.t.sf(abs(difference) / se, df)) if se > 0 else None
    return {"gain_english": float(gains["english"]), "gain_non_english": float(gains["non_english"]),
            "estimate": float(difference), "p": p, "df": df,
            "ratio": float(gains["non_english"] / gains["english"]) if gains["english"] else None}


def finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------
# Step 2, over every benchmark: the family, the MDE and the verdicts.

def minimum_detectable_effect(se: float | None, df: float | None, level: float, power: float,
                              test: str) -> float | None:
    """The MDE in points (module docstring); None without a standard error."""
    if not se or df is None or df < 1:
        return None
    if test == "equivalence":
        return float(se * (scipy_stats.t.ppf(1 - level, df) + scipy_stats.t.ppf(1 - (1 - power) / 2, df)))
    nobs = df + 1  # a one-sample t test with these degrees of freedom
    d = TTestPower().solve_power(effect_size=None, nobs=nobs, alpha=level, power=power, alternative="two-sided")
    return float(d * se * math.sqrt(nobs))


def primary_p(row: Mapping[str, Any]) -> float | None:
    """The p-value a claim enters the family with: TOST's for equivalence, the t test's otherwise."""
    if row["test"] == "equivalence":
        return (row.get("tost") or {}).get("p")
    return row.get("p")


def verdict(row: Mapping[str, Any], p_holm: float | None, alpha: float, family_size: int) -> tuple[str, str]:
    """The verdict and the reason, in words."""
    if row.get("estimate") is None or p_holm is None:
        return NOT_TESTED, row.get("note") or "no estimate"
    if row["test"] == "equivalence":
        if p_holm < alpha:
            return SUPPORTED, f"TOST: the difference lies within +-{row['margin']:g} points (Holm p < {alpha:g})"
        p_beyond = row["tost"]["p_beyond"]
        if p_beyond is not None and min(1.0, family_size * p_beyond) < alpha:
            return CONTRADICTED, (f"the difference lies beyond the {row['margin']:g}-point margin "
                                  f"(Bonferroni p < {alpha:g})")
        return INCONCLUSIVE, "neither equivalence nor a difference beyond the margin is shown"
    if p_holm >= alpha:
        return INCONCLUSIVE, f"Holm-adjusted p >= {alpha:g}"
    claimed = 1 if row["direction"] == "greater" else -1
    if np.sign(row["estimate"]) == claimed:
        return SUPPORTED, f"Holm-adjusted p < {alpha:g}, in the claimed direction"
    return CONTRADICTED, f"Holm-adjusted p < {alpha:g}, opposite to the claimed direction"


def paper_verdict(row: Mapping[str, Any], alpha: float) -> str | None:
    """What the paper's method concludes: its uncorrected p-value, read as the paper read it."""
    method = row.get("paper_method") or {}
    p, estimate = method.get("p"), method.get("estimate")
    if p is None or estimate is None:
        return None
    if row["test"] == "equivalence":
        return SUPPORTED if p >= alpha else CONTRADICTED
    if p >= alpha:
        return "not significant"
    return SUPPORTED if np.sign(estimate) == (1 if row["direction"] == "greater" else -1) else CONTRADICTED


def confirm(stats_by_bench: Mapping[str, Mapping[str, Any]], claims_spec: Mapping[str, Any] | None,
            confidence: float, power: float) -> dict[str, Any]:
    """The claims file (``O/stats/claims.json``): every declared claim with its verdict.

    ``stats_by_bench`` maps each benchmark to its statistics (which hold the claims' tests).
    """
    claims = resolve_claims(claims_spec)
    alpha = 1 - confidence
    rows, notes = [], []
    for claim in claims:
        stats = stats_by_bench.get(claim["benchmark"])
        if stats is None:
            raise DataError(f"claim '{claim['name']}' is on benchmark '{claim['benchmark']}', which has no "
                            "statistics in this run", "analysis.claims")
        if not math.isclose(float(stats.get("confidence", confidence)), confidence):
            raise DataError(f"statistics of '{claim['benchmark']}' use confidence {stats.get('confidence')}, "
                            f"the claims {confidence}", "analysis.confidence")
        test = next((row for row in stats.get("claims") or [] if row["name"] == claim["name"]), None)
        if test is None:
            raise DataError(f"the statistics of '{claim['benchmark']}' hold no test of claim '{claim['name']}' "
                            "(were they made with another config?)", claim["benchmark"])
        rows.append({**test, "statement": claim["statement"], "published": claim["published"]})
    tested = [row for row in rows if primary_p(row) is not None]
    m = len(tested)
    for row, adjusted in zip(tested, holm([primary_p(row) for row in tested])):
        row["p_holm"] = adjusted
    level = alpha / m if m else alpha
    for row in rows:
        row.setdefault("p_holm", None)
        row["verdict"], row["verdict_reason"] = verdict(row, row["p_holm"], alpha, m)
        row["mde"] = minimum_detectable_effect(row.get("se"), row.get("df"), level, power, row["test"])
        if row.get("paper_method"):
            row["paper_method"]["verdict"] = paper_verdict(row, alpha)
        if row["verdict"] == NOT_TESTED:
            notes.append(f"claim {row['name']}: not tested ({row['verdict_reason']})")
    scopes = {row.get("scope") for row in rows if row.get("estimate") is not None}
    return {
        "confidence": confidence, "alpha": alpha, "power": power, "mde_level": level,
        "family": {"method": "holm", "size": m, "members": [row["name"] for row in tested],
                   "definition": "the declared claims (analysis.claims) with a p-value: TOST's for an "
                                 "equivalence claim, the two-sided t test's otherwise; nothing else"},
        "scope": scopes.pop() if len(scopes) == 1 else ("mixed" if scopes else None),
        "claims": rows,
        "counts": {name: sum(row["verdict"] == name for row in rows)
                   for name in (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTED)},
        "warnings": notes,
    }
