"""Means with cluster-robust standard errors, the run (seed) component, and the bootstrap-t.

The unit of inference is the question, but questions are not independent: on MORU the same base
item is asked in three languages, and a model that gets an item right in English tends to get it
right in Malay too. Treating the questions as independent would understate every standard error.
So every mean here is the OLS fit of the values on a constant with a cluster-robust (sandwich)
covariance, clusters = base items, and its interval is a t interval with G - 1 degrees of freedom.

How statsmodels (0.15) scales it: ``OLS(...).fit(cov_type="cluster", use_t=True)`` computes the
CRV1 estimator, the sandwich times the small-sample factor G/(G-1) * (N-1)/(N-K), and (because
``df_correction`` is left at its default) sets ``df_resid_inference = G - 1`` for its t tests and
intervals. For a mean, K = 1, so the factor is G/(G-1) and

    Var(mean) = G/(G-1) * sum_g (sum_{i in g} (y_i - mean))^2 / N^2.

Two consequences worth knowing (the tests check both): with one question per cluster (AHB) this
is exactly the textbook s^2/N with N - 1 degrees of freedom, i.e. the one-sample t test; with
equal-sized clusters it is exactly the t test on the G cluster means, which is why the interval
keeps its nominal coverage even with few clusters.

Several seeds (:mod:`.runs`): given each question's value per seed, the variance gains the run
component sigma^2_run / S, so the interval describes the training recipe rather than these S
checkpoints, on Satterthwaite degrees of freedom. With one seed the interval describes the
trained checkpoints, and ``scope`` says so.

The bootstrap-t (studentized cluster bootstrap) resamples base items with replacement (all of an
item's questions come along together), and in each resample computes the mean *and* its CRV1
standard error, t* = (m* - m) / se*. The interval is the symmetric one, m -+ q se with q the
``confidence`` quantile of |t*| (Hall 1988): the equal-tailed [m - q_hi se, m - q_lo se] covered
only 0.92-0.94 for a contrast near the floor at AHB's and MORU's sizes, the symmetric one
0.95-0.96. A percentile interval of the resampled means has the right width only for large G:
with 6-10 clusters its coverage falls to about 0.85-0.89, while the bootstrap-t stays near nominal
(tests and ``bench/stats_coverage.py`` show both).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as scipy_stats

from .runs import seed_spread, with_runs

CHECKPOINTS, RECIPE = "checkpoints", "recipe"


@dataclass(frozen=True)
class ClusterEstimate:
    """A mean over questions with its inference; ``note`` says why a field is None.

    ``se`` is the whole standard error; ``se_runs`` its run (seed) part, None with one seed.
    ``scope`` is what the interval describes: ``checkpoints`` (one seed) or ``recipe``.
    ``interval`` names the method of ``ci_low``/``ci_high`` (``t``, or ``korn_graubard`` for a
    score, :mod:`.bounded`), and ``degenerate`` says when the data allow no ordinary interval
    (``all 0``, ``all 100``, ``all equal``).
    """

    estimate: float | None
    se: float | None
    df: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    n: int
    n_clusters: int
    note: str | None = None
    n_seeds: int = 1
    se_runs: float | None = None
    scope: str = CHECKPOINTS
    interval: str = "t"
    degenerate: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def cr_variance(values: np.ndarray, clusters) -> tuple[float, int]:
    """The CRV1 variance of the mean of ``values`` and its G - 1 degrees of freedom (statsmodels)."""
    codes, _ = pd.factorize(np.asarray(clusters))
    fit = sm.OLS(values, np.ones((len(values), 1))).fit(cov_type="cluster", cov_kwds={"groups": codes},
                                                        use_t=True)
    return float(fit.bse[0]) ** 2, int(fit.df_resid_inference)


def cluster_mean(values, clusters, confidence: float, seed_values=None) -> ClusterEstimate:
    """Mean of ``values`` with a CRV1 cluster-robust SE, a t interval, and the p-value of
    "mean = 0" (the one that matters for paired differences).

    ``seed_values`` (optional, questions x seeds, NaN where a question has no value in a seed)
    adds the run component when it has two or more seeds; ``values`` are then its row means.
    """
    values = np.asarray(values, dtype=float)
    codes, uniques = pd.factorize(np.asarray(clusters))
    n, n_clusters = len(values), len(uniques)
    n_seeds = 1 if seed_values is None else int(np.asarray(seed_values).shape[1])
    scope = RECIPE if n_seeds > 1 else CHECKPOINTS
    if n == 0:
        return ClusterEstimate(None, None, None, None, None, None, 0, 0, "no questions", n_seeds, scope=scope)
    mean = float(values.mean())
    if n_clusters < 2:
        return ClusterEstimate(mean, None, None, None, None, None, n, n_clusters,
                               "fewer than 2 clusters: no cluster-robust standard error", n_seeds, scope=scope)
    variance, df = cr_variance(values, codes)
    se_runs, note, seeds_vary = None, None, False
    if n_seeds > 1:
        spread = seed_spread(np.asarray(seed_values, dtype=float), codes)
        if spread is None:
            note = "the run (seed) component needs 2 questions scored in every seed; left out"
            scope = CHECKPOINTS
        else:
            variance, df = with_runs(variance, df, spread)
            se_runs = math.sqrt(max(0.0, spread.run))
            seeds_vary = spread.seed_means > 0
    se = math.sqrt(variance)
    if not se > 0 or (np.ptp(values) == 0 and not seeds_vary):  # exactly constant (the OLS leaves ~1e-15)
        return ClusterEstimate(mean, 0.0, df, mean, mean, None, n, n_clusters,
                               "every value is the same: zero variance, no test", n_seeds, se_runs, scope,
                               degenerate="all equal")
    t_crit = float(scipy_stats.t.ppf(0.5 + confidence / 2, df))
    p = float(2 * scipy_stats.t.sf(abs(mean) / se, df))
    return ClusterEstimate(mean, se, df, mean - t_crit * se, mean + t_crit * se, p, n, n_clusters, note,
                           n_seeds, se_runs, scope)


# --------------------------------------------------------------------------------------------
# The cluster bootstrap.

def derived_rng(seed: int, *labels: object) -> np.random.Generator:
    """A generator for one named use of the bootstrap seed.

    Each estimate draws from its own stream, keyed by its labels, so adding a contrast to the
    config does not change the intervals of the others.
    """
    key = zlib.crc32("\x1f".join(map(str, labels)).encode())
    return np.random.default_rng([int(seed), key])


def cluster_weights(clusters, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cluster codes per row, and an (n_samples, G) matrix: how often each cluster is drawn.

    Drawing G clusters with replacement is a multinomial draw of counts, which lets every
    resample's statistics be computed at once from per-cluster totals.
    """
    codes, uniques = pd.factorize(np.asarray(clusters))
    n_clusters = len(uniques)
    weights = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_samples)
    return codes, weights


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """The percentile interval of the finite draws (None, None when there are none)."""
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return None, None
    tail = (1 - confidence) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high)


def resampled_mean_and_variance(values, codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each resample's mean and CRV1 variance of the mean, from per-cluster totals.

    A cluster drawn k times counts as k clusters, so with totals T_g and sizes n_g,
    N* = sum w_g n_g, m* = sum w_g T_g / N*, and
    Var* = G/(G-1) * sum_g w_g (T_g - n_g m*)^2 / N*^2, expanded into three weighted sums.
    """
    values = np.asarray(values, dtype=float)
    n_clusters = weights.shape[1]
    totals = np.bincount(codes, weights=values, minlength=n_clusters)
    sizes = np.bincount(codes, minlength=n_clusters).astype(float)
    weights = weights.astype(float)
    n_star = weights @ sizes
    means = (weights @ totals) / n_star
    squares = weights @ (totals ** 2) - 2 * means * (weights @ (totals * sizes)) + means ** 2 * (weights @ sizes ** 2)
    variances = n_clusters / (n_clusters - 1) * np.maximum(squares, 0.0) / n_star ** 2
    return means, variances


def bootstrap_t_statistics(values, clusters, n_samples: int,
                           rng: np.random.Generator) -> tuple[float, float, np.ndarray] | None:
    """The mean of ``values``, its CRV1 standard error, and ``n_samples`` resampled t statistics
    (m* - m) / se* over base items (module docstring); None if the standard error is undefined or 0.

    A resample whose standard error is 0 (one cluster drawn G times) has an infinite t statistic
    unless its mean equals the estimate, where it is set to 0.
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0 or len(pd.unique(np.asarray(clusters))) < 2:
        return None
    codes, weights = cluster_weights(clusters, n_samples, rng)
    estimate, _ = resampled_mean_and_variance(values, codes, np.ones((1, weights.shape[1])))
    means, variances = resampled_mean_and_variance(values, codes, weights)
    mean = float(estimate[0])
    se = math.sqrt(cr_variance(values, codes)[0])
    if not se > 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        t_stats = (means - mean) / np.sqrt(variances)
    t_stats[np.isclose(means, mean, rtol=0, atol=1e-12 * max(1.0, abs(mean)))] = 0.0
    return mean, se, t_stats


def bootstrap_t_interval(values, clusters, confidence: float, n_samples: int,
                         rng: np.random.Generator) -> tuple[float | None, float | None]:
    """Symmetric studentized cluster-bootstrap interval of the mean of ``values`` (module docstring;
    None, None if undefined).

    The infinite t statistics of resamples with a standard error of 0 stay in the tail where they
    belong: an order statistic (``inverted_cdf``) does not interpolate with them
    (:func:`symmetric_bootstrap_t`).
    """
    statistics = bootstrap_t_statistics(values, clusters, n_samples, rng)
    if statistics is None:
        return None, None
    return symmetric_bootstrap_t(*statistics, confidence)


def symmetric_bootstrap_t(mean: float, se: float, t_stats: np.ndarray, confidence: float) -> tuple[float, float]:
    """m -+ q se, q the ``confidence`` quantile of |t*| (an order statistic: infinite t* stay in the tail)."""
    q = float(np.quantile(np.abs(t_stats), confidence, method="inverted_cdf"))
    return mean - q * se, mean + q * se
