"""Seeds as runs: the variance a training run adds to a mean, estimated over seeds (two stages).

Each seed is one training run of every condition (seed s of every post-trained model descends
from seed s of the mid-trained one). A condition's mean over questions then varies from run to
run by a *run effect* shared by all its questions, on top of the question-level variation. With
x[q, s] the value of question q in seed s (a score, or a paired difference within a seed),

    x[q, s] = mu + a_q + r_s + e_qs,

the mean over questions and seeds has variance sigma^2_a / n + sigma^2_e / (n S) + sigma^2_r / S,
estimated in two stages from two pieces that share the noise term:

1. the cluster-robust variance V of the question means (``cluster.cr_variance``) holds
   sigma^2_a / n + sigma^2_e / (n S), on G - 1 degrees of freedom (G base items);
2. the seed means m_s (over the questions scored in every seed) spread with s^2(m_s) / S =
   sigma^2_r / S + sigma^2_e / (n S) on S - 1 degrees of freedom;
3. their shared noise part N / S = sigma^2_e / (n S) comes from the two-way residuals
   e_qs = x_qs - xbar_q. - xbar_.s + xbar.., summed within base items so that the questions of one
   item may share noise (MORU): N = G/(G-1) * sum_{b,s} E_bs^2 / (n^2 (S-1)), E_bs the item's
   residual total. With one question per item this is the classical two-way mean square MS_e / n.

The variance is then max(0, V - N/S) + s^2(m_s) / S: the questions' part plus the seed means'
spread. Each part is estimated without bias; only the questions' part is held at 0 when its
estimate comes out negative (little item-by-condition variation: then the degrees of freedom
fall to those of the seeds). The degrees of freedom are Satterthwaite's (:func:`satterthwaite_df`)
with one safeguard. The two parts have G - 1 and S - 1 degrees of freedom, a Behrens-Fisher
problem, and with plug-in parts seeds that happen to agree give both a small variance and many
degrees of freedom. So the seed part enters the degrees of freedom (not the variance) at its 65%
upper confidence bound, s^2(m_s) (S-1) / chi^2_{0.35, S-1}.

The previous form (the run part truncated at 0, plain Satterthwaite) covered 0.91-0.92 for a
paired contrast with 3 seeds and run effects of logit SD 0.15-0.3; this one covers 0.941-0.964
for contrasts with 3 and 5 seeds, at up to a fifth more width, and errs on the safe side for
means, whose question part dominates (0.949-0.971); docs/benchmarks.md, ``bench/stats_coverage.py``.
Levels of 60-70% cannot be told apart on that bench at its Monte-Carlo error; 50% under-covers
contrasts with large run effects. With 2 seeds the seed part has one degree of freedom and enters
at 4.9 times its value: the intervals are wide, and with large run effects they still cover less
than stated (0.92-0.94); ``analysis.inference_scope`` says so.
With one seed no run part can be estimated and the interval describes the trained checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

# The seed part enters the degrees of freedom at this upper confidence bound (module docstring).
DF_BOUND = 0.65


@dataclass(frozen=True)
class SeedSpread:
    """What several seeds tell about a mean (module docstring): s^2(m_s) / S, N / S, and S - 1."""

    seed_means: float
    noise: float
    df: int

    @property
    def run(self) -> float:
        """The run component sigma^2_r / S: unbiased, so it can come out below 0."""
        return self.seed_means - self.noise


def seed_spread(seed_values: np.ndarray, codes: np.ndarray) -> SeedSpread | None:
    """The seed means' spread and its noise part, from ``seed_values`` (questions x seeds, NaN
    where a question has no value in a seed) and each question's base-item ``codes``.

    Only questions scored in every seed enter; None when fewer than 2 such questions or 2 seeds.
    """
    complete = ~np.isnan(seed_values).any(axis=1)
    values, codes = seed_values[complete], np.asarray(codes)[complete]
    n, n_seeds = values.shape
    if n_seeds < 2 or n < 2:
        return None
    seed_means = values.mean(axis=0)
    residuals = values - values.mean(axis=1, keepdims=True) - seed_means + values.mean()
    _, item_codes = np.unique(codes, return_inverse=True)
    n_items = int(item_codes.max()) + 1
    item_totals = np.zeros((n_items, n_seeds))
    np.add.at(item_totals, item_codes, residuals)
    scale = n_items / (n_items - 1) if n_items > 1 else 1.0
    noise = scale * float((item_totals ** 2).sum()) / (n ** 2 * (n_seeds - 1))
    return SeedSpread(float(seed_means.var(ddof=1)) / n_seeds, noise / n_seeds, n_seeds - 1)


def with_runs(variance: float, df: float, spread: SeedSpread) -> tuple[float, float]:
    """The variance of a mean over questions and seeds, and its degrees of freedom, from the
    cluster-robust ``variance`` of its question means (on ``df``) and the seeds' ``spread``."""
    if not math.isfinite(variance):
        raise ValueError(f"the question means' variance is {variance}")
    questions = max(0.0, variance - spread.noise)
    bound = spread.seed_means * spread.df / float(scipy_stats.chi2.ppf(1 - DF_BOUND, spread.df))
    return questions + spread.seed_means, satterthwaite_df([(questions, df), (bound, spread.df)])


def satterthwaite_df(parts: Sequence[tuple[float, float]]) -> float:
    """Welch-Satterthwaite degrees of freedom of a sum of variance estimates ``(variance, df)``.

    Capped at the largest part's degrees of freedom: adding a small, noisy part cannot make the
    sum better determined than its best-determined part (the raw formula can exceed it slightly).
    """
    total = sum(variance for variance, _ in parts)
    denominator = sum(variance ** 2 / df for variance, df in parts if variance > 0)
    if denominator == 0:
        return float(min(df for _, df in parts))
    return float(min(total ** 2 / denominator, max(df for _, df in parts)))
