"""Coverage at the benchmarks' sizes, on binary grades: a small draw of bench/stats_coverage.py.

The data are C/I grades averaged over 1-7 dimensions and 5 epochs per question
(value_retention/stats/simulate_grades.py), not Gaussian scores: near the floor their distribution
over questions is strongly skewed, which is what a symmetric interval cannot see. Each test checks
the statistics' interval *and* shows that the method it replaced fails the same check (measured
at these seeds, and once against the old code itself: docs/benchmarks.md). Fixed seeds: every
number is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from value_retention.stats.coverage import (
    Table,
    attainable_coverage,
    difference_intervals,
    equal_tailed_coverage,
    mean_intervals,
)
from value_retention.stats.simulate_grades import GradeModel, draw_scores, logit_level, population_mean


def test_the_grade_model_puts_conditions_at_their_levels():
    for level in (2.0, 50.0, 95.0):
        assert population_mean(logit_level(level, 1.3), 1.3) == pytest.approx(level, abs=1e-9)
    model = GradeModel(n_items=4000, levels=(2.0, 95.0))
    scores = draw_scores(model, 2, np.random.default_rng(0))["scores"]
    assert scores.shape == (2, 2, 1, 4000, 1) and scores.min() >= 0 and scores.max() <= 100
    # 8,000 questions per condition: the sample means sit within a few tenths of the levels.
    assert abs(scores[:, 0].mean() - 2.0) < 0.3 and abs(scores[:, 1].mean() - 95.0) < 0.4


def test_mean_scores_at_the_floor_keep_their_coverage_where_the_t_interval_does_not():
    """AHB's size (115 questions) at 2%: 2,000 draws, Monte-Carlo SE of a rate about 0.005.

    The Korn-Graubard interval covers 0.95 +- 0.015; the symmetric t interval it replaced covers
    about 0.92, missing almost only on the high side (the truth above the interval).
    """
    model = GradeModel(n_items=115, levels=(2.0,))
    truth = model.truths()[0]
    scores = draw_scores(model, 2000, np.random.default_rng(20260601))["scores"][:, 0, 0, :, 0]
    table = Table()
    clusters = np.arange(115)
    for draw in scores:
        intervals, degenerate = mean_intervals(draw, clusters, 0.95)
        for name, bounds in intervals.items():
            table.add("AHB floor", name, 0.95, bounds, truth, degenerate)
        low, _ = intervals["score interval (Korn-Graubard)"]
        assert low >= 0
    rows = {row["interval"]: row for row in table.rows()}
    bounded, old = rows["score interval (Korn-Graubard)"], rows["t interval (superseded)"]
    assert abs(bounded["coverage"] - 0.95) <= 0.015, bounded
    assert old["coverage"] < 0.935, old                       # fails the same test
    assert old["above"] > 3 * old["below"], old               # and its misses are one-sided


def test_the_bootstrap_t_keeps_its_coverage_with_few_clusters_where_the_percentile_bootstrap_does_not():
    """8 base items x 3 languages, a paired contrast of two conditions at 50% and 55%: 600 draws
    (Monte-Carlo SE about 0.009). The (symmetric) bootstrap-t covers 0.95 +- 0.03; the percentile
    interval it replaced covers below 0.92 (0.86 here): its resampled means are too concentrated
    at G = 8."""
    model = GradeModel(n_items=8, n_languages=3, levels=(50.0, 55.0))
    truths = model.truths()
    rng = np.random.default_rng(20260602)
    scores = draw_scores(model, 600, rng)["scores"]
    clusters = np.repeat(np.arange(8), 3)
    table = Table()
    for draw in scores:
        diffs = (draw[1, 0] - draw[0, 0]).reshape(-1)
        for name, bounds in difference_intervals(diffs, clusters, 0.95, 499, rng).items():
            table.add("8 items", name, 0.95, bounds, truths[1] - truths[0])
    rows = {row["interval"]: row for row in table.rows()}
    assert abs(rows["bootstrap-t"]["coverage"] - 0.95) <= 0.03, rows["bootstrap-t"]
    assert rows["percentile bootstrap (superseded)"]["coverage"] < 0.92, rows["percentile bootstrap (superseded)"]


def test_a_contrast_over_three_seeds_keeps_its_coverage_where_truncating_the_run_part_does_not():
    """MORU's size (67 items x 3 languages), 3 seeds whose runs move each condition's logit by
    N(0, 0.15): 1,500 draws (Monte-Carlo SE about 0.006). The recipe interval (.runs.with_runs)
    covers 0.95 +- 0.02; truncating the run part at 0 with plain Satterthwaite degrees of freedom
    covered about 0.92, because seeds that happened to agree left a small variance on many df."""
    model = GradeModel(n_items=67, n_languages=3, n_seeds=3, run_sd=0.15, levels=(50.0, 55.0))
    truths = model.truths()
    scores = draw_scores(model, 1500, np.random.default_rng(20260603))["scores"]
    clusters = np.repeat(np.arange(67), 3)
    table = Table()
    for draw in scores:
        per_seed = (draw[1] - draw[0]).reshape(3, -1).T          # questions x seeds
        for name, bounds in difference_intervals(per_seed.mean(axis=1), clusters, 0.95, 0, None,
                                                 per_seed).items():
            table.add("MORU, 3 seeds", name, 0.95, bounds, truths[1] - truths[0])
    rows = {row["interval"]: row for row in table.rows()}
    assert abs(rows["t interval"]["coverage"] - 0.95) <= 0.02, rows["t interval"]
    old = rows["t interval, run part truncated at 0 (superseded)"]
    assert old["coverage"] < 0.935, old


def test_attainable_coverage_finds_the_runs_of_a_lattice_nearest_the_nominal_level():
    """A count of mean 2.2 (about the C grades of a small cell at 2%): an interval rising with the
    count covers when the count lies in a run of values, so its coverage is P(0..4) = 0.928 or
    P(0..5) = 0.975 and never 0.95; a continuous estimate can be covered at any level; the run
    nearest the level can lie in the middle; values equal up to rounding are one value."""
    counts = np.arange(15)
    frequencies = np.round(stats.poisson.pmf(counts, 2.2) * 100_000).astype(int)
    below, above, n_values = attainable_coverage(np.repeat(counts, frequencies), 0.95)
    total = frequencies.sum()
    assert below == pytest.approx(frequencies[:5].sum() / total)
    assert above == pytest.approx(frequencies[:6].sum() / total)
    assert (below, above) == (pytest.approx(stats.poisson.cdf(4, 2.2), abs=1e-4),
                              pytest.approx(stats.poisson.cdf(5, 2.2), abs=1e-4))
    assert n_values == int((frequencies > 0).sum())
    below, above, n_values = attainable_coverage(np.random.default_rng(0).normal(size=2000), 0.95)
    assert (below, above, n_values) == (pytest.approx(0.95), pytest.approx(0.95), 2000)
    assert attainable_coverage(np.repeat([0, 1, 2, 3], [3, 95, 1, 1]), 0.95) == (pytest.approx(0.95),) * 2 + (4,)
    assert attainable_coverage([0.1 + 0.2] * 3 + [0.3] * 97, 0.95) == (0.0, 1.0, 1)


def test_equal_tailed_coverage_is_the_least_an_interval_missing_at_most_alpha_half_a_side_covers():
    """A count of mean 3: P(0) = 0.050 > 0.025, so the run must start at 0 (the low side cannot
    miss) and end at 7, the first value with at most 0.025 above it: P(0..7) = 0.988, where
    attainable_coverage finds runs at 0.950 that miss 5% on the high side. A count of mean 10:
    P(4..17) = 0.975. A continuous estimate: 0.95."""
    counts = np.arange(40)
    for mean, (first, last) in ((3.0, (0, 7)), (10.0, (4, 17))):
        frequencies = np.round(stats.poisson.pmf(counts, mean) * 1_000_000).astype(int)
        expected = stats.poisson.cdf(last, mean) - stats.poisson.cdf(first - 1, mean)
        assert equal_tailed_coverage(np.repeat(counts, frequencies), 0.95) == pytest.approx(expected, abs=1e-5)
    assert equal_tailed_coverage(np.random.default_rng(0).normal(size=2000), 0.95) == pytest.approx(0.95)
    rows = Table()
    for estimate in np.repeat(counts, np.round(stats.poisson.pmf(counts, 3.0) * 1000).astype(int)):
        rows.add("cell", "score", 0.95, (0.0, 1.0), 0.5, estimate=float(estimate))
    assert rows.rows()[0]["equal_tailed"] == pytest.approx(stats.poisson.cdf(7, 3.0), abs=2e-3)
