"""Question scores made of C/I grades, at the benchmarks' sizes: the model the coverage checks draw from.

A benchmark score is not a Gaussian: each question's score is a mean of binary grades over its
dimensions and epochs, and near 0% or 100% its distribution over questions is strongly skewed.
The checks of the intervals (``tests/test_stats_coverage.py``, ``bench/stats_coverage.py``)
therefore draw grades, on the logit scale, for question q of base item b in language l,
dimension d, condition c, seed (run) s and epoch e:

    P(C) = expit(mu_c + u_b + v_bl + k_bc + w_bld + r_cs)
    u_b ~ N(0, item_sd)        item difficulty, shared by the item's languages (the clustering)
    v_bl ~ N(0, language_sd)   the question within its item (MORU's languages)
    k_bc ~ N(0, condition_sd)  item x condition: what pairing cannot remove
    w_bld ~ N(0, dimension_sd) the question's dimensions, shared by the conditions
    r_cs ~ N(0, run_sd)        run effect of condition c's training run s
    grade ~ Bernoulli(P(C)), independently per epoch

A question has ``dimensions`` dimensions: a number, or a (low, high) range drawn uniformly per
question (AHB's questions carry 1-10 tags, most of them 3-6). Its score is the mean of its
dimensions' epoch means, in percent, as the benchmark's reference scorer computes it.

The truth an interval must cover is the population mean E[P(C)] over new questions (and, with
``run_sd``, new runs): E[expit(mu + N(0, s))] with s the root sum of squares of the standard
deviations, computed by Gauss-Hermite quadrature (:func:`population_mean`); :func:`logit_level`
finds the mu that puts a condition at a given level. Two judges (``judge_flip``) see the same
answer's true grade and each reports it flipped with that probability: the agreement check's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(120)


def population_mean(mu: float, sd: float) -> float:
    """E[expit(mu + sd Z)], Z standard normal, in percent."""
    return 100.0 * float((_WEIGHTS * expit(mu + sd * _NODES)).sum() / _WEIGHTS.sum())


def logit_level(level: float, sd: float) -> float:
    """The mu at which :func:`population_mean` is ``level`` percent."""
    return brentq(lambda mu: population_mean(mu, sd) - level, -30.0, 30.0)


@dataclass(frozen=True)
class GradeModel:
    """The standard deviations (logit scale) and sizes of the grade model (module docstring)."""

    n_items: int
    n_languages: int = 1
    dimensions: int | tuple[int, int] = (1, 7)
    n_epochs: int = 5
    n_seeds: int = 1
    item_sd: float = 1.0
    language_sd: float = 0.5
    condition_sd: float = 0.4
    dimension_sd: float = 0.7
    run_sd: float = 0.0
    levels: Sequence[float] = field(default=(50.0,))  # population mean of each condition, percent

    def latent_sd(self, with_runs: bool = True) -> float:
        parts = [self.item_sd, self.condition_sd, self.dimension_sd]
        if self.n_languages > 1:
            parts.append(self.language_sd)
        if with_runs:
            parts.append(self.run_sd)
        return float(np.sqrt(np.sum(np.square(parts))))

    def mus(self) -> np.ndarray:
        """Each condition's mu, so that its population mean (over questions and runs) is its level."""
        sd = self.latent_sd()
        return np.array([logit_level(level, sd) for level in self.levels])

    def truths(self) -> np.ndarray:
        """Each condition's population mean, percent (its level, up to the root finder)."""
        sd = self.latent_sd()
        return np.array([population_mean(mu, sd) for mu in self.mus()])


def draw_scores(model: GradeModel, n_draws: int, rng: np.random.Generator,
                judge_flip: float | None = None) -> dict[str, np.ndarray]:
    """Question scores of every draw: ``scores`` (draws, conditions, seeds, items, languages), percent.

    With ``judge_flip``, also ``judge_grades`` (draws, conditions, seeds, items, languages,
    dimensions, epochs, 2): the two judges' grades of every answer, whose mean is the panel's
    score, and ``graded`` (the same shape without the judge axis): which cells exist (a question
    has only its own dimensions).
    """
    n_conditions = len(model.levels)
    shape = (n_draws, 1, 1, model.n_items, model.n_languages)
    if isinstance(model.dimensions, int):
        n_dims = np.full(shape, model.dimensions)
    else:
        n_dims = rng.integers(model.dimensions[0], model.dimensions[1] + 1, size=shape)
    max_dims = int(n_dims.max())
    item = rng.normal(0, model.item_sd, (n_draws, 1, 1, model.n_items, 1, 1))
    language = rng.normal(0, model.language_sd if model.n_languages > 1 else 0.0,
                          (n_draws, 1, 1, model.n_items, model.n_languages, 1))
    item_condition = rng.normal(0, model.condition_sd, (n_draws, n_conditions, 1, model.n_items, 1, 1))
    dimension = rng.normal(0, model.dimension_sd, (n_draws, 1, 1, model.n_items, model.n_languages, max_dims))
    run = rng.normal(0, model.run_sd, (n_draws, n_conditions, model.n_seeds, 1, 1, 1))
    mus = model.mus().reshape(1, n_conditions, 1, 1, 1, 1)
    p = expit(mus + item + language + item_condition + dimension + run)
    present = (np.arange(max_dims) < n_dims[..., None])  # (draws, 1, 1, items, languages, dims)
    result: dict[str, np.ndarray] = {}
    if judge_flip is None:
        dimension_means = rng.binomial(model.n_epochs, p) / model.n_epochs
    else:
        truth = rng.random(p.shape + (model.n_epochs,)) < p[..., None]
        flips = rng.random(truth.shape + (2,)) < judge_flip
        grades = (truth[..., None] ^ flips).astype(np.int8)
        result["judge_grades"] = grades
        result["graded"] = np.broadcast_to(present[..., None], truth.shape)
        dimension_means = grades.mean(axis=-1).mean(axis=-1)  # the panel: judges, then epochs
    scores = 100.0 * (dimension_means * present).sum(axis=-1) / n_dims
    result["scores"] = scores
    return result
