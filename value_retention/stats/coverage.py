"""Coverage of the intervals the paper prints, on data drawn from :mod:`.simulate_grades`.

Used by ``bench/stats_coverage.py`` (the full table, at the benchmarks' sizes) and by
``tests/test_stats_coverage.py`` (a small draw that CI can afford). Every interval is computed by
the very function the statistics use; the superseded methods (a symmetric t interval for a mean
score, a percentile cluster bootstrap, a run-blind interval with several seeds, and one whose run
part was truncated at 0 with plain Satterthwaite degrees of freedom) are computed
beside them from the same pieces, so a table shows what the change bought.

A :class:`Tally` counts, per interval, how often it covered the truth, how often the truth lay
below or above it (a one-sided failure shows there), its Monte-Carlo standard error
sqrt(c (1 - c) / n), and its mean width (what a safer interval costs).

Where the estimate takes few values (a small cell near 0% holds a handful of C grades), no
interval can cover at every level: :func:`attainable_coverage` gives the two coverages nearest
the nominal one that an interval whose ends rise with the estimate can reach at that design, and
:func:`equal_tailed_coverage` the least that such an interval covers if it misses on neither side
more often than (1 - nominal) / 2 (near 0% the low side can hardly miss, so that is about
1 - (1 - nominal) / 2 or more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from .bounded import score_mean
from .cluster import (
    bootstrap_t_interval,
    cluster_mean,
    cluster_weights,
    cr_variance,
    percentile_interval,
    resampled_mean_and_variance,
)
from .runs import satterthwaite_df, seed_spread

Interval = tuple[float | None, float | None]


@dataclass
class Tally:
    """Hits of one interval over draws (an interval that could not be computed counts as missing)."""

    nominal: float
    covered: int = 0
    below: int = 0   # the truth lay below the interval
    above: int = 0   # the truth lay above it
    missing: int = 0
    degenerate: int = 0
    total_width: float = 0.0  # of the intervals with two finite ends (a Fieller set's stand-in excepted)
    estimates: list[float] = field(default_factory=list)  # of a mean, for attainable_coverage

    def add(self, interval: Interval, truth: float, degenerate: bool = False,
            estimate: float | None = None) -> None:
        low, high = interval
        self.degenerate += bool(degenerate)
        if estimate is not None:
            self.estimates.append(estimate)
        if low is None or high is None:
            self.missing += 1
            return
        self.total_width += high - low
        if truth < low:
            self.below += 1
        elif truth > high:
            self.above += 1
        else:
            self.covered += 1

    @property
    def n(self) -> int:
        return self.covered + self.below + self.above

    @property
    def coverage(self) -> float:
        return self.covered / self.n if self.n else float("nan")

    @property
    def mean_width(self) -> float:
        return self.total_width / self.n if self.n else float("nan")

    @property
    def mc_se(self) -> float:
        return math.sqrt(self.coverage * (1 - self.coverage) / self.n) if self.n else float("nan")


@dataclass
class Table:
    """Tallies by (design, interval), in the order they were first added."""

    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)

    def add(self, design: str, name: str, nominal: float, interval: Interval, truth: float,
            degenerate: bool = False, estimate: float | None = None) -> None:
        self.tallies.setdefault((design, name), Tally(nominal)).add(interval, truth, degenerate, estimate)

    def rows(self) -> list[dict]:
        return [{"design": design, "interval": name, "nominal": tally.nominal, "coverage": tally.coverage,
                 "mc_se": tally.mc_se, "below": tally.below / max(tally.n, 1), "above": tally.above / max(tally.n, 1),
                 "n": tally.n, "missing": tally.missing, "degenerate": tally.degenerate,
                 "width": tally.mean_width,
                 "attainable": attainable_coverage(tally.estimates, tally.nominal) if tally.estimates else None,
                 "equal_tailed": equal_tailed_coverage(tally.estimates, tally.nominal) if tally.estimates else None}
                for (design, name), tally in self.tallies.items()]


def _cumulative_shares(estimates) -> np.ndarray:
    """0, then the share of ``estimates`` at or below each of their distinct values (equal up to
    rounding), in increasing order: a run of values i..j-1 has the share c[j] - c[i]."""
    _, counts = np.unique(np.round(np.asarray(estimates, dtype=float), 9), return_counts=True)
    return np.concatenate([[0.0], np.cumsum(counts) / max(counts.sum(), 1)])


def attainable_coverage(estimates, nominal: float) -> tuple[float, float, int]:
    """The coverages nearest ``nominal`` (at or below it, at or above it) that an interval can
    reach at this design if its ends depend on the data through the estimate alone and never
    fall as it rises, and how many values the estimate took (over the draws ``estimates``).

    Such an interval holds the truth exactly when the estimate lies in a range of its values (the
    ones whose intervals reach the truth), so its coverage is the probability of a run of
    consecutive values. When the estimate takes few values those sums are far apart: a Poisson
    count of mean 2.2 (about the C grades of a 22-question cell at 2%) is covered with
    probability 0.928 or 0.975 and nothing in between, so an interval that does not fall short
    covers 0.975 or more.
    An interval that also uses the spread of the questions (as Korn-Graubard's does) is not bound
    by this, but little spread is left to use when the grades are that few.
    """
    cumulative = _cumulative_shares(estimates)
    starts = cumulative[:-1]  # a run of values i..j-1 has probability cumulative[j] - cumulative[i]
    # For each start, the shortest run reaching the nominal level and the longest staying under it.
    first_reaching = np.searchsorted(cumulative, starts + nominal - 1e-12, side="left")
    last_under = np.searchsorted(cumulative, starts + nominal + 1e-12, side="right") - 1
    reaching = first_reaching < len(cumulative)
    under = last_under > np.arange(len(starts))
    above = (cumulative[first_reaching[reaching]] - starts[reaching]).min(initial=1.0)
    below = (cumulative[last_under[under]] - starts[under]).max(initial=0.0)
    return min(float(below), nominal), max(float(above), nominal), len(starts)


def equal_tailed_coverage(estimates, nominal: float) -> float:
    """The least coverage, at this design, of an interval whose ends rise with the estimate and
    which misses on each side at most (1 - nominal) / 2 of the time (over the draws ``estimates``).

    It covers a run of the estimate's values (:func:`attainable_coverage`); the truth lies above
    the interval when the estimate falls below the run, and below it when the estimate falls
    above. Each of those has probability at most (1 - nominal) / 2, so the run starts at or below
    the last value with at most that much probability below it, and ends at or above the first
    value with at most that much above it: the run between those two is the least. Near 0% the
    lowest value (every grade I) alone can have more than (1 - nominal) / 2, and is then covered:
    the low side cannot miss, and the coverage is 1 - (1 - nominal) / 2 or more. A count of
    mean 3 (P(0) = 0.050) gives 0.988, the probability of 0..7; a 95% interval covering 0.95
    there misses 5% on one side.
    """
    cumulative = _cumulative_shares(estimates)
    tail = (1 - nominal) / 2
    start = np.searchsorted(cumulative, tail + 1e-12, side="right") - 1   # P(below the run) <= tail
    end = np.searchsorted(cumulative, 1 - tail - 1e-12, side="left")      # P(above the run) <= tail
    return float(cumulative[end] - cumulative[start])


# --------------------------------------------------------------------------------------------
# The intervals of one draw, as the statistics compute them (and the superseded ones).

def mean_intervals(values: np.ndarray, clusters: np.ndarray, confidence: float,
                   seed_values: np.ndarray | None = None) -> tuple[dict[str, Interval], bool]:
    """A mean score's interval (Korn-Graubard) beside the superseded symmetric t interval."""
    bounded = score_mean(values, clusters, confidence, seed_values)
    plain = cluster_mean(values, clusters, confidence, seed_values)
    return ({"score interval (Korn-Graubard)": (bounded.ci_low, bounded.ci_high),
             "t interval (superseded)": (plain.ci_low, plain.ci_high)}, bounded.degenerate is not None)


def difference_intervals(values: np.ndarray, clusters: np.ndarray, confidence: float, n_boot: int,
                         rng: np.random.Generator, seed_values: np.ndarray | None = None) -> dict[str, Interval]:
    """A paired difference's t interval and bootstrap-t interval, beside the superseded percentile one."""
    estimate = cluster_mean(values, clusters, confidence, seed_values)
    intervals = {"t interval": (estimate.ci_low, estimate.ci_high)}
    if seed_values is not None:
        blind = cluster_mean(values, clusters, confidence)
        intervals["t interval without runs (superseded)"] = (blind.ci_low, blind.ci_high)
        intervals["t interval, run part truncated at 0 (superseded)"] = truncated_runs_interval(
            values, clusters, confidence, seed_values)
        return intervals
    intervals["bootstrap-t"] = bootstrap_t_interval(values, clusters, confidence, n_boot, rng)
    codes, weights = cluster_weights(clusters, n_boot, rng)
    means, _ = resampled_mean_and_variance(values, codes, weights)
    intervals["percentile bootstrap (superseded)"] = percentile_interval(means, confidence)
    return intervals


def truncated_runs_interval(values: np.ndarray, clusters: np.ndarray, confidence: float,
                            seed_values: np.ndarray) -> Interval:
    """The recipe interval before :func:`.runs.with_runs`: the question means' variance plus the
    run part truncated at 0, on plain Satterthwaite degrees of freedom."""
    variance, df = cr_variance(values, clusters)
    spread = seed_spread(seed_values, pd.factorize(np.asarray(clusters))[0])
    run = max(0.0, spread.run)
    df = satterthwaite_df([(variance, df), (run, spread.df)])
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(variance + run)
    return float(values.mean()) - half, float(values.mean()) + half


def cells_frame(scores: np.ndarray, conditions: list[str], languages: list[str]) -> pd.DataFrame:
    """One draw's scores (conditions, seeds, items, languages) as the statistics' cells table.

    ``languages`` names the language axis (MORU's shape), or, with one language per item (AHB's
    shape), gives each item's language.
    """
    n_conditions, n_seeds, n_items, n_languages = scores.shape
    index = pd.MultiIndex.from_product([range(n_conditions), range(n_seeds), range(n_items), range(n_languages)],
                                       names=["c", "seed", "item", "l"]).to_frame(index=False)
    by = index["l"] if len(languages) == n_languages else index["item"]
    language = np.asarray(languages, dtype=object)[by.to_numpy()]
    return pd.DataFrame({
        "condition": np.asarray(conditions, dtype=object)[index["c"].to_numpy()],
        "seed": index["seed"].to_numpy(),
        "question_id": index["item"].astype(str).to_numpy(),
        "language": language,
        "base_item": index["item"].astype(str).to_numpy(),
        "language_group": np.where(language == "English", "english", "non_english"),
        "percent": scores.reshape(-1),
    })

