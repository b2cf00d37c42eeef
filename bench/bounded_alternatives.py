"""The Korn-Graubard interval of a mean score beside the bounded intervals it was chosen over.

At the designs of ``bench/stats_coverage.py`` (AHB and MORU at the floor, middle and ceiling; a
condition's mean over all questions, over English, and in a small per-dimension cell) it computes,
from the same cluster-robust variance and degrees of freedom, the coverage of:

- ``KG``: Korn and Graubard's Clopper-Pearson interval at the effective size, adjusted for the
  degrees of freedom by (z / t_df)^2 (``value_retention.stats.bounded``, what the paper prints);
- ``KG-t``: the same adjusted by (t_{n-1} / t_df)^2, n the questions (the rows), as R's
  ``survey::svyciprop(method = "beta")`` does; with one question per base item (every AHB design,
  MORU's English) that factor is 1 and the column equals ``CP``;
- ``CP``: Clopper-Pearson at the unadjusted size;
- ``Jeffreys-df``, ``Wilson-df``, ``mid-p-df``: the Jeffreys, Wilson and mid-p intervals at
  Korn-Graubard's adjusted size (the mid-p one from the incomplete beta function, which takes a
  count that is not a whole number);
- ``Jeffreys``: Jeffreys at the unadjusted size;
- ``logit-t``, ``arcsine-t``: the t interval on df of the logit or the arcsine of the square
  root of the mean, with the same variance carried over by the delta method, mapped back (the
  two scales the issue suggested);
- ``Hall-t``: the t interval on df with Hall's (1992) transformation removing the mean's
  skewness (estimated from the base items' third moment), clipped to 0-100;
- ``boot-t``, ``boot-t-eq``: the studentized cluster bootstrap (the issue's third suggestion),
  from the statistics' own resampled t statistics over base items
  (``cluster.bootstrap_t_statistics``): the symmetric interval the paired contrasts print, and
  the equal-tailed one [m - q_{0.975} se, m - q_{0.025} se], which follows the skewness; both
  clipped to 0-100;

and prints one line per design (with the share of Hall-t's intervals cut at 0 or 100 while the mean
is not), then each interval's range over the designs outside the cells, its largest share of misses on
one side there (the truth below the interval, or above it: at most 0.025 for an interval true to
its 95% on both sides), and its mean width over KG's at the floor and the ceiling.
docs/benchmarks.md has the table and what it shows.

    .venv/bin/python bench/bounded_alternatives.py [--draws 4000] [--seed 31] [--boot 999]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy import optimize, special
from scipy import stats as scipy_stats
from stats_coverage import AHB_ENGLISH, LEVELS, benchmark_models
from statsmodels.stats.proportion import proportion_confint

from value_retention.stats.bounded import korn_graubard
from value_retention.stats.cluster import bootstrap_t_statistics, cluster_mean, symmetric_bootstrap_t
from value_retention.stats.coverage import Tally
from value_retention.stats.simulate_grades import draw_scores

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE


def effective_size(p: float, variance: float, df: float, n_questions: int, adjustment: str | None) -> float:
    """p (1 - p) / Var, times (t_{n-1} / t_df)^2 (``"t"``), (z / t_df)^2 (``"z"``) or nothing."""
    size = p * (1 - p) / variance
    if adjustment is None:
        return size
    reference = (scipy_stats.t.ppf(1 - ALPHA / 2, n_questions - 1) if adjustment == "t"
                 else scipy_stats.norm.ppf(1 - ALPHA / 2))
    return size * (reference / scipy_stats.t.ppf(1 - ALPHA / 2, df)) ** 2


def mid_p(count: float, size: float) -> tuple[float, float]:
    """The mid-p interval of ``count`` successes in ``size`` trials (neither a whole number)."""
    def upper_tail(q: float) -> float:  # P(X > count) + P(X = count) / 2, continued in count
        return 0.5 * (special.betainc(count, size - count + 1, q) + special.betainc(count + 1, size - count, q))
    low = optimize.brentq(lambda q: upper_tail(q) - ALPHA / 2, 0.0, 1.0)
    high = optimize.brentq(lambda q: upper_tail(q) - (1 - ALPHA / 2), 0.0, 1.0)
    return low, high


def intervals(values: np.ndarray, items: np.ndarray, variance: float, df: float, n_clusters: int,
              n_boot: int, rng: np.random.Generator) -> dict[str, tuple]:
    mean, n_questions = float(values.mean()), len(values)
    low, high, degenerate = korn_graubard(mean, variance, df, n_clusters, CONFIDENCE)
    names = ("KG", "KG-t", "CP", "Jeffreys-df", "Wilson-df", "mid-p-df", "Jeffreys", "logit-t", "arcsine-t",
             "Hall-t", "boot-t", "boot-t-eq")
    if degenerate:  # all 0 or all 100: the one-sided bound; all equal: no interval (not counted)
        return dict.fromkeys(names, (low, high))
    p, v = mean / 100, variance / 1e4
    sizes = {adjustment: effective_size(p, v, df, n_questions, adjustment) for adjustment in ("t", "z", None)}

    def scaled(adjustment, method):
        size = sizes[adjustment]
        return tuple(100 * np.asarray(proportion_confint(p * size, size, alpha=ALPHA, method=method)))
    return {"KG": (low, high), "KG-t": scaled("t", "beta"), "CP": scaled(None, "beta"),
            "Jeffreys-df": scaled("z", "jeffreys"), "Wilson-df": scaled("z", "wilson"),
            "mid-p-df": tuple(100 * np.asarray(mid_p(p * sizes["z"], sizes["z"]))),
            "Jeffreys": scaled(None, "jeffreys"), **transformed_t(p, v, df),
            "Hall-t": skew_corrected_t(values, items, variance, df), **bootstrap_t(values, items, n_boot, rng)}


def bootstrap_t(values: np.ndarray, items: np.ndarray, n_boot: int, rng: np.random.Generator) -> dict[str, tuple]:
    """The symmetric and the equal-tailed studentized cluster-bootstrap intervals, clipped to 0-100
    (one set of resamples for both; (None, None) where the standard error is 0)."""
    statistics = bootstrap_t_statistics(values, items, n_boot, rng)
    if statistics is None:
        return dict.fromkeys(("boot-t", "boot-t-eq"), (None, None))
    mean, se, t_stats = statistics
    low, high = symmetric_bootstrap_t(mean, se, t_stats, CONFIDENCE)  # the rule the contrasts print
    low_q, high_q = np.quantile(t_stats, [ALPHA / 2, 1 - ALPHA / 2], method="inverted_cdf")
    return {"boot-t": (max(low, 0.0), min(high, 100.0)),
            "boot-t-eq": (max(mean - float(high_q) * se, 0.0), min(mean - float(low_q) * se, 100.0))}


def transformed_t(p: float, variance: float, df: float) -> dict[str, tuple]:
    """The t intervals on the logit and arcsine-root scales (delta-method SEs), back on 0-100."""
    t = scipy_stats.t.ppf(1 - ALPHA / 2, df)
    logit, logit_se = special.logit(p), np.sqrt(variance) / (p * (1 - p))
    angle, angle_se = np.arcsin(np.sqrt(p)), np.sqrt(variance) / (2 * np.sqrt(p * (1 - p)))
    angles = np.clip([angle - t * angle_se, angle + t * angle_se], 0.0, np.pi / 2)
    return {"logit-t": tuple(100 * special.expit([logit - t * logit_se, logit + t * logit_se])),
            "arcsine-t": tuple(100 * np.sin(angles) ** 2)}


def skew_corrected_t(values: np.ndarray, items: np.ndarray, variance: float, df: float) -> tuple[float, float]:
    """Hall's (1992) skewness-corrected t interval of the mean of ``values`` over base ``items``.

    With W = (mean - mu) / SE and k the mean's estimated skewness (the base items' third central
    moment over G^2, divided by SE^3; SE the cluster-robust one, with its G / (G - 1) factor),
    T = W + k W^2 / 3 + k^2 W^3 / 27 + k / 6 is nearly free of skewness and increases with W, so
    {mu : |T| <= t_df} is an interval (Hall takes normal quantiles; t on df here, as for the
    other intervals); its ends are clipped to 0-100.
    """
    _, codes = np.unique(items, return_inverse=True)
    n_items, mean = int(codes.max()) + 1, float(values.mean())
    influence = np.bincount(codes, weights=values - mean) * n_items / len(values)  # mean 0, one per item
    se = np.sqrt(variance)
    skewness = float(np.mean(influence ** 3)) / n_items ** 2 / se ** 3
    t = scipy_stats.t.ppf(1 - ALPHA / 2, df)

    def w_of(target: float) -> float:  # the inverse of T(W)
        if abs(skewness) < 1e-12:
            return target
        return 3 / skewness * (np.cbrt(1 + skewness * (target - skewness / 6)) - 1)
    return max(mean - se * w_of(t), 0.0), min(mean - se * w_of(-t), 100.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=4000, help="draws per design (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=31, help="random seed (default: %(default)s)")
    parser.add_argument("--boot", type=int, default=999, help="bootstrap resamples (default: %(default)s)")
    args = parser.parse_args()
    rng, started = np.random.default_rng(args.seed), time.time()
    boot_rng = np.random.default_rng([args.seed, 1])  # its own stream: the draws stay those of earlier runs
    ranges: dict[str, list[float]] = {}
    sides: dict[str, list[float]] = {}     # the means' larger share of misses on one side
    widths: dict[str, list[float]] = {}    # mean width over KG's, at the floor and ceiling means
    for name in ("AHB", "MORU"):
        for level in LEVELS:
            models = benchmark_models(name, level)
            for part in ("all", "English", "cell"):
                model = models["cell" if part == "cell" else "all"]
                truth = model.truths()[0]
                scores = draw_scores(model, args.draws, rng)["scores"][:, 0, 0]   # draws, items, languages
                if part == "English":
                    scores = scores[:, :AHB_ENGLISH, :1] if name == "AHB" else scores[:, :, :1]
                items = np.repeat(np.arange(scores.shape[1]), scores.shape[2])
                tallies: dict[str, Tally] = {}
                counted = clipped = 0
                for draw in scores.reshape(args.draws, -1):
                    estimate = cluster_mean(draw, items, CONFIDENCE)
                    variance = 0.0 if estimate.se is None else estimate.se ** 2
                    bounds = intervals(draw, items, variance, estimate.df or 1, estimate.n_clusters, args.boot,
                                       boot_rng)
                    if bounds["KG"][0] is None:
                        continue
                    counted += 1
                    clipped += 0 < draw.mean() < 100 and (bounds["Hall-t"][0] == 0 or bounds["Hall-t"][1] == 100)
                    for method, interval in bounds.items():
                        tallies.setdefault(method, Tally(CONFIDENCE)).add(interval, truth)
                coverage = {method: tally.coverage for method, tally in tallies.items()}
                if part != "cell":
                    for method, tally in tallies.items():
                        ranges.setdefault(method, []).append(tally.coverage)
                        sides.setdefault(method, []).append(max(tally.below, tally.above) / tally.n)
                        if level != "middle":
                            widths.setdefault(method, []).append(tally.total_width / tallies["KG"].total_width)
                print(f"{name:<4} {level:<8} {part:<8} " + "  ".join(f"{m} {c:.3f}" for m, c in coverage.items())
                      + f"  (Hall-t cut: {clipped / counted:.0%})", flush=True)
    print(f"\nover the all-questions and English means ({args.draws} draws each, MC SE about "
          f"{np.sqrt(0.95 * 0.05 / args.draws):.4f}; seed {args.seed}; {time.time() - started:.0f} s):")
    for method, values in ranges.items():
        print(f"  {method:<12} {min(values):.3f}-{max(values):.3f}   misses on one side up to "
              f"{max(sides[method]):.3f}   width at the floor and ceiling {min(widths[method]):.2f}-"
              f"{max(widths[method]):.2f} x KG's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
