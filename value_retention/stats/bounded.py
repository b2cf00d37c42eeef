"""Intervals for a score on 0-100 that stay inside 0-100 and keep their coverage near the bounds.

A score is a mean of C/I grades (averaged over dimensions, epochs and judges), so near 0% or 100%
its sampling distribution is skewed: the symmetric t interval misses on one side (it covers about
0.92 at 2% with 115 questions, and can reach below 0, e.g. ``1.0 [-1.2, 3.3]``).

The interval here is Korn and Graubard's (1998) for a proportion estimated from clustered data,
the one the US National Center for Health Statistics uses for survey proportions: a
Clopper-Pearson interval at the *effective* sample size

    n_eff = p (1 - p) / Var(p) * (z_{1-alpha/2} / t_{1-alpha/2, df})^2,

where Var(p) is the cluster-robust variance of the mean (with the run component when there are
several seeds, :mod:`.cluster`) and the factor on the right carries its degrees of freedom.

Why z: Korn and Graubard's factor is (t_{n-1} / t_df)^2 with n the 0/1 observations behind
the proportion, so that it is 1 under simple random sampling. Behind a mean score those are the
grades (hundreds: about 600 for AHB's 30 English questions in the bench's model), and t_{n-1}
is then z to within 0.2%. R's ``survey::svyciprop(method = "beta")`` takes n as the rows of the
design; given one row per question, with one question per base item (AHB, MORU's English) its
factor is 1, no adjustment,
and on AHB's 30 English questions it covers 0.936 at the floor and 0.938 at the ceiling where
this one covers 0.944 and 0.950 (``bench/bounded_alternatives.py``; in the normal limit the
factor makes the interval as wide as the t interval on df). To reproduce these intervals in R
with one seed, compute the formula above from ``svymean``'s variance and ``degf``; with several
seeds the variance and df are :mod:`.runs`'.

The count p n_eff need not be a whole number; ``statsmodels``' ``proportion_confint(method="beta")``
takes it as it is. The interval is the exact binomial one at that size, so it stays within
[0, 100], widens on the side away from the bound, and at the benchmarks' sizes covers 0.94-0.96
(``bench/stats_coverage.py``; in the middle AHB's 30 English questions 0.963, over three
runs); in small per-dimension cells, where the grades are few, it errs on the safe side as exact
intervals do (0.96-0.99; MORU's ceiling cell 0.942 over three runs, 0.928-0.949, by missing on
the bound's side in 0.043-0.060 of the draws; at the floor and the ceiling no interval that
depends on the data through the mean and misses on each side at most alpha/2 of the time covers
less than about 0.97-0.98 there). The Jeffreys, Wilson and mid-p intervals and the t interval
on the logit or arcsine scale come nearer 0.95 in some of those cells but fall to 0.915-0.938 at
the floor and the ceiling of the English means; Hall's skewness-corrected t covers those
0.940-0.961 and balances the misses on either side, at up to 1.44 times the width; the
studentized cluster bootstrap, symmetric or equal-tailed, is up to about 1.5 or 2.1 times as wide
and covers the floor cells 0.99-1.00 (``bench/bounded_alternatives.py``, docs/benchmarks.md).

Degenerate cells. When every question scored 0 the variance is 0 and there is no effective
sample size. The interval is then [0, 1 - (alpha/2)^(1/G)] (x 100), G the number of base items:
each item's mean score Y lies in [0, 1], so P(Y = 0) <= 1 - p, and all G items score 0 with
probability at most (1 - p)^G. Symmetrically for all 100. ``degenerate`` names the case, and the
tables print it as such rather than as ``[0.0, 0.0]``. Every question at one interior value
(``all equal``) has no interval.
"""

from __future__ import annotations

from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from .cluster import ClusterEstimate, cluster_mean

KORN_GRAUBARD = "korn_graubard"
ALL_ZERO, ALL_HUNDRED, ALL_EQUAL = "all 0", "all 100", "all equal"


def korn_graubard(mean: float, variance: float, df: float, n_clusters: int,
                  confidence: float) -> tuple[float | None, float | None, str | None]:
    """The interval (percent) for a mean score ``mean`` (percent) with variance ``variance``
    (percent^2) on ``df`` degrees of freedom; the third value names a degenerate case."""
    alpha = 1 - confidence
    p, v = mean / 100.0, variance / 1e4
    if p <= 0:
        return 0.0, 100.0 * (1 - (alpha / 2) ** (1 / n_clusters)), ALL_ZERO
    if p >= 1:
        return 100.0 * (alpha / 2) ** (1 / n_clusters), 100.0, ALL_HUNDRED
    if not v > 0:
        return None, None, ALL_EQUAL
    z = scipy_stats.norm.ppf(1 - alpha / 2)
    t = scipy_stats.t.ppf(1 - alpha / 2, df)
    n_eff = p * (1 - p) / v * (z / t) ** 2
    low, high = proportion_confint(p * n_eff, n_eff, alpha=alpha, method="beta")
    return 100.0 * float(low), 100.0 * float(high), None


def score_mean(values, clusters, confidence: float, seed_values=None) -> ClusterEstimate:
    """Mean score (percent) over questions with the Korn-Graubard interval; the standard error,
    degrees of freedom and p-value are those of :func:`.cluster.cluster_mean`."""
    estimate = cluster_mean(values, clusters, confidence, seed_values)
    if estimate.estimate is None or estimate.se is None:
        return estimate
    if min(values) < 0 or max(values) > 100:
        raise ValueError("score_mean needs scores on 0-100")
    low, high, degenerate = korn_graubard(estimate.estimate, estimate.se ** 2, estimate.df,
                                          estimate.n_clusters, confidence)
    note = estimate.note
    if degenerate:
        note = f"every question scored {degenerate.removeprefix('all ')}" + (
            "" if degenerate == ALL_EQUAL else f": a one-sided bound over {estimate.n_clusters} base items")
    return ClusterEstimate(estimate.estimate, estimate.se, estimate.df, low, high, estimate.p, estimate.n,
                           estimate.n_clusters, note, estimate.n_seeds, estimate.se_runs, estimate.scope,
                           KORN_GRAUBARD, degenerate)

