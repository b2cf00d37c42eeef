"""Seeds as runs: the variance a training run adds to a mean, estimated over seeds (two stages).

Each seed is one training run of every condition (seed s of every post-trained model descends
from seed s of the mid-trained one). A condition's mean over questions then varies from run to
run by a *run effect* shared by all its questions, on top of the question-level variation. With
x[q, s] the value of question q in seed s (a score, or a paired difference within a seed),

    x[q, s] = mu + a_q + r_s + e_qs,

the mean over questions and seeds has variance sigma^2_a / n + sigma^2_e / (n S) + sigma^2_r / S.
The cluster-robust variance of the question means (``cluster.cr_variance``) estimates the first
two terms; this module estimates the third, in two stages:

1. the seed means m_s (over the questions scored in every seed) vary with variance
   sigma^2_r + Var(noise part of m_s);
2. the noise part is estimated from the two-way residuals e_qs = x_qs - xbar_q. - xbar_.s + xbar..,
   summed within base items so that the questions of one item may share noise (MORU):
   Var_noise(m_s) = G/(G-1) * sum_{b,s} E_bs^2 / (n^2 (S-1)), with E_bs the item's residual total.
   With one question per item this is the classical two-way mean square MS_e / n.

So sigma^2_r = max(0, s^2(m_s) - Var_noise), and the mean's variance gains sigma^2_r / S, with
S - 1 degrees of freedom; :func:`satterthwaite_df` combines the two parts' degrees of freedom.
With one seed sigma^2_r cannot be estimated and the interval describes the trained checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def run_variance(seed_values: np.ndarray, codes: np.ndarray) -> tuple[float, int] | None:
    """The run component of a mean's variance, sigma^2_r / S, and its S - 1 degrees of freedom.

    ``seed_values`` is questions x seeds (NaN where a question has no value in a seed), ``codes``
    each question's base-item code. Only questions scored in every seed enter the estimate; None
    when fewer than 2 such questions or fewer than 2 seeds.
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
    run = max(0.0, float(seed_means.var(ddof=1)) - noise)
    return run / n_seeds, n_seeds - 1


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
