"""Coverage of every interval the paper prints, and the claims' error rates, at the benchmarks' sizes.

Draws C/I grades from the model of value_retention/stats/simulate_grades.py (question, dimension
and item x condition effects on the logit scale, 5 epochs, questions with 1-7 dimensions) at the
benchmarks' sizes: AHB (115 questions, one per base item, 30 of them English) and MORU (67 base
items x English, Malay, Hindi), each at the floor (2%), the middle (50%) and the ceiling (95%).
Per draw it computes, with the statistics' own functions:

- a condition's mean score over all questions, over one language (AHB English: 30 questions;
  MORU English: 67) and in a small per-dimension cell (AHB: 22 questions with one dimension;
  MORU: 12 items x 3 languages): the bounded Korn-Graubard interval beside the old t interval;
- a paired contrast of two conditions (levels a few points apart): t interval, bootstrap-t, and
  the old percentile bootstrap; its TOST (1 - 2 alpha) interval; the same at 8 items x 3 languages,
  where the old percentile bootstrap fails;
- the difference of non-English and English gains and the Fieller set of their ratio;
- Krippendorff's alpha between two judges (each flips the true grade with probability 0.15):
  the studentized bootstrap over base items;
- with 2, 3 and 5 seeds and run effects of logit SD 0, 0.05, 0.15 and 0.3 (MORU, middle): the
  recipe intervals beside run-blind ones and the old run part truncated at 0;

and prints each interval's coverage with its Monte-Carlo standard error, the share of misses on
either side, and its mean width (points; a Fieller set's column is not a width). Then the claims'
error rates: a difference claim with no true difference (wrong verdicts at most alpha), an
equivalence claim at its margin (supported at most alpha), a difference claim at its minimum
detectable effect (supported about 80% of the time), and a family of 8 null claims under Holm
(any wrong verdict at most alpha).

    .venv/bin/python bench/stats_coverage.py [--draws 2000] [--boot 999] [--seed 1] [--only AHB]
        [--plot coverage.png]

``--plot`` draws every check of the current statistics as its coverage minus the nominal level
(points) with +- 2 Monte-Carlo SE, against the band, grouped by interval (docs/stats_coverage.png).

The ``attainable`` column of a mean gives the two coverages nearest the nominal one (at or below,
at or above) that an interval rising with the estimate can reach at that design, and how many
values the estimate took (``coverage.attainable_coverage``): a small cell near a bound holds a
few C grades, and its few values can leave no coverage inside the band within reach. Its
``tails`` column gives the least coverage of such an interval that misses on each side at most
(1 - nominal) / 2 of the time (``coverage.equal_tailed_coverage``): near 0% the estimate is often
0, an interval there holds the truth, the low side can hardly miss, and so a 95% interval that
keeps each side's misses within 2.5% covers 0.975 or more. Both columns bind only intervals whose
ends depend on the data through the estimate alone; Korn-Graubard's also use the questions'
spread, of which little is left when the grades are few.

Exits with status 1 if an interval of the current statistics (not a superseded one) covers
outside [nominal - 0.01, nominal + 0.01] (where no interval can reach that band: from its low
end to the nearest reachable coverage above it, plus 0.01, marked ``reach``; where every interval
keeping each side's misses within (1 - nominal) / 2 covers above the band, and this one covers
above the band too, misses on each side at most (1 - nominal) / 2 + 0.01 of the time, and is within
0.01 of the least of them, marked ``tails``) or a claim error
rate is above its bound by more than 2 Monte-Carlo SE. Takes about 1 s per 20 draws of all
designs on one core (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time

import numpy as np

from value_retention.stats.agreement import bootstrap_alpha, nominal_alpha
from value_retention.stats.claims import minimum_detectable_effect, tost, verdict
from value_retention.stats.cluster import cluster_mean
from value_retention.stats.contrasts import holm
from value_retention.stats.coverage import Table, cells_frame, difference_intervals, mean_intervals
from value_retention.stats.ratio import transfer_ratio
from value_retention.stats.simulate_grades import GradeModel, draw_scores

CONFIDENCE = 0.95
LEVELS = {"floor": 2.0, "middle": 50.0, "ceiling": 95.0}
GAP = {"floor": 1.0, "middle": 5.0, "ceiling": -3.0}  # condition B minus condition A, points
AHB_ENGLISH = 30
JUDGE_FLIP = 0.15
TOLERANCE = 0.01
RUN_SDS = (0.0, 0.05, 0.15, 0.3)  # run effects on the logit scale: none, small, the bench's, large


def benchmark_models(name: str, level: str) -> dict[str, GradeModel]:
    levels = (LEVELS[level], LEVELS[level] + GAP[level])
    if name == "AHB":
        return {"all": GradeModel(n_items=115, levels=levels),
                "cell": GradeModel(n_items=22, dimensions=1, levels=levels)}
    return {"all": GradeModel(n_items=67, n_languages=3, levels=levels),
            "cell": GradeModel(n_items=12, n_languages=3, dimensions=1, levels=levels)}


def languages_of(name: str) -> list[str]:
    if name == "AHB":
        return ["English"] * AHB_ENGLISH + ["Other"] * (115 - AHB_ENGLISH)
    return ["English", "Malay", "Hindi"]


def population_alpha(model: GradeModel, rng: np.random.Generator) -> float:
    """Alpha over a very large sample of questions (its probability limit, to MC error ~1e-3)."""
    pooled = GradeModel(**{**model.__dict__, "n_items": 20_000, "levels": model.levels[:1]})
    return nominal_alpha(judge_counts(draw_scores(pooled, 1, rng, JUDGE_FLIP), 0)[0])


def judge_counts(draw: dict, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Units (question, dimension, epoch) x {I, C} counts of condition 0's two judges, and units' items."""
    grades = draw["judge_grades"][index, 0, 0]                   # items, languages, dims, epochs, 2
    graded = draw["graded"][index, 0, 0]
    ones = grades.sum(axis=-1)[graded]
    items = np.broadcast_to(np.arange(grades.shape[0])[:, None, None, None], graded.shape)[graded]
    return np.column_stack([2 - ones, ones]), items


def run_design(table: Table, name: str, level: str, draws: int, boot: int, rng: np.random.Generator) -> None:
    design = f"{name} {level} ({LEVELS[level]:g}%)"
    models = benchmark_models(name, level)
    model, cell_model = models["all"], models["cell"]
    truths, cell_truths = model.truths(), cell_model.truths()
    alpha_truth = population_alpha(model, rng)
    languages = languages_of(name)
    english = np.array([language == "English" for language in languages])
    data = draw_scores(model, draws, rng)
    judged = draw_scores(GradeModel(**{**model.__dict__, "levels": model.levels[:1]}), draws, rng, JUDGE_FLIP)
    cells = draw_scores(cell_model, draws, rng)["scores"]
    gap = truths[1] - truths[0]
    for index in range(draws):
        scores = data["scores"][index]                           # conditions, seeds, items, languages
        items = np.repeat(np.arange(model.n_items), model.n_languages)
        a, b = scores[0, 0].reshape(-1), scores[1, 0].reshape(-1)
        intervals, degenerate = mean_intervals(a, items, CONFIDENCE)
        for interval, bounds in intervals.items():
            table.add(design, f"mean, all questions: {interval}", CONFIDENCE, bounds, truths[0], degenerate, a.mean())
        if name == "AHB":
            language_values, language_items = scores[0, 0, english, 0], np.flatnonzero(english)
        else:
            language_values, language_items = scores[0, 0, :, 0], np.arange(model.n_items)
        intervals, degenerate = mean_intervals(language_values, language_items, CONFIDENCE)
        for interval, bounds in intervals.items():
            table.add(design, f"mean, English: {interval}", CONFIDENCE, bounds, truths[0], degenerate,
                      language_values.mean())
        cell = cells[index, 0, 0].reshape(-1)
        cell_items = np.repeat(np.arange(cell_model.n_items), cell_model.n_languages)
        intervals, degenerate = mean_intervals(cell, cell_items, CONFIDENCE)
        for interval, bounds in intervals.items():
            table.add(design, f"mean, dimension cell: {interval}", CONFIDENCE, bounds, cell_truths[0], degenerate,
                      cell.mean())
        for interval, bounds in difference_intervals(b - a, items, CONFIDENCE, boot, rng).items():
            table.add(design, f"paired contrast: {interval}", CONFIDENCE, bounds, gap)
        difference = cluster_mean(b - a, items, CONFIDENCE)
        test = tost(difference.estimate, difference.se, difference.df, 5.0, CONFIDENCE)
        table.add(design, "paired contrast: TOST 90% interval", 1 - 2 * (1 - CONFIDENCE),
                  (test["ci_low"], test["ci_high"]), gap)
        transfer = transfer_ratio(cells_frame(scores, ["A", "B"], languages), "B", "A", CONFIDENCE, [])
        table.add(design, "difference of gains (non-English - English)", CONFIDENCE,
                  (transfer["difference"]["ci_low"], transfer["difference"]["ci_high"]), 0.0)
        table.add(design, "ratio of gains: Fieller set", CONFIDENCE, fieller_hit(transfer["fieller"], 1.0), 0.0)
        counts, units_items = judge_counts(judged, index)
        table.add(design, "judge agreement (alpha): studentized bootstrap over base items", CONFIDENCE,
                  bootstrap_alpha(counts, units_items, CONFIDENCE, boot, rng), alpha_truth)


def fieller_hit(fieller: dict, ratio: float) -> tuple[float, float]:
    """A Fieller set of any shape, as an interval around 0 that holds 0 exactly when the set holds ``ratio``."""
    status, low, high = fieller["status"], fieller["low"], fieller["high"]
    inside = (status == "unbounded" or (status == "bounded" and low <= ratio <= high)
              or (status == "exclusive" and not low < ratio < high))
    return (-1.0, 1.0) if inside else (1.0, 2.0)


def run_small_clusters(table: Table, draws: int, boot: int, rng: np.random.Generator) -> None:
    design = "8 items x 3 languages (middle)"
    model = GradeModel(n_items=8, n_languages=3, levels=(50.0, 55.0))
    truths = model.truths()
    data = draw_scores(model, draws, rng)["scores"]
    items = np.repeat(np.arange(8), 3)
    for index in range(draws):
        diff = (data[index, 1, 0] - data[index, 0, 0]).reshape(-1)
        for interval, bounds in difference_intervals(diff, items, CONFIDENCE, boot, rng).items():
            table.add(design, f"paired contrast: {interval}", CONFIDENCE, bounds, truths[1] - truths[0])


def run_seeds(table: Table, draws: int, rng: np.random.Generator, n_seeds: int, run_sd: float) -> None:
    design = f"MORU middle, {n_seeds} seeds, run SD {run_sd:g}"
    model = GradeModel(n_items=67, n_languages=3, n_seeds=n_seeds, run_sd=run_sd, levels=(50.0, 55.0))
    truths = model.truths()
    data = draw_scores(model, draws, rng)["scores"]
    items = np.repeat(np.arange(67), 3)
    for index in range(draws):
        scores = data[index]                                        # conditions, seeds, items, languages
        per_seed = scores[0].reshape(n_seeds, -1).T                  # questions x seeds
        intervals, degenerate = mean_intervals(per_seed.mean(axis=1), items, CONFIDENCE, per_seed)
        table.add(design, "mean: score interval with runs", CONFIDENCE,
                  intervals["score interval (Korn-Graubard)"], truths[0], degenerate)
        blind, _ = mean_intervals(per_seed.mean(axis=1), items, CONFIDENCE)
        table.add(design, "mean: score interval without runs (superseded)", CONFIDENCE,
                  blind["score interval (Korn-Graubard)"], truths[0])
        diffs = (scores[1] - scores[0]).reshape(n_seeds, -1).T
        for interval, bounds in difference_intervals(diffs.mean(axis=1), items, CONFIDENCE, 0, rng, diffs).items():
            table.add(design, f"paired contrast: {interval}", CONFIDENCE, bounds, truths[1] - truths[0])


def claim_rates(draws: int, rng: np.random.Generator) -> list[dict]:
    """Error rates and power of the claim verdicts (module docstring)."""
    alpha = 1 - CONFIDENCE
    rows = []
    items = np.arange(115)

    def difference_tests(levels, n_draws):
        model = GradeModel(n_items=115, levels=levels)
        data = draw_scores(model, n_draws, rng)["scores"]
        return [cluster_mean(data[i, 1, 0, :, 0] - data[i, 0, 0, :, 0], items, CONFIDENCE) for i in range(n_draws)]

    def claim_row(estimate, test="difference", margin=None):
        return {"test": test, "direction": "greater", "margin": margin, "estimate": estimate.estimate,
                "tost": tost(estimate.estimate, estimate.se, estimate.df, margin or 5.0, CONFIDENCE)}

    null = difference_tests((50.0, 50.0), draws)
    wrong = [verdict(claim_row(e), e.p, alpha, 1)[0] != "inconclusive" for e in null]
    rows.append({"check": "difference claim, no true difference: wrong verdicts", "rate": np.mean(wrong),
                 "bound": alpha, "kind": "at most"})
    families = [null[i:i + 8] for i in range(0, len(null) - 7, 8)]
    any_wrong = []
    for family in families:
        adjusted = holm([e.p for e in family])
        any_wrong.append(any(verdict(claim_row(e), p, alpha, 8)[0] != "inconclusive"
                             for e, p in zip(family, adjusted)))
    rows.append({"check": "8 null claims under Holm: any wrong verdict", "rate": np.mean(any_wrong),
                 "bound": alpha, "kind": "at most", "n": len(families)})
    mde = float(np.mean([minimum_detectable_effect(e.se, e.df, alpha, 0.8, "difference") for e in null]))
    at_mde = difference_tests((50.0, 50.0 + mde), draws)
    supported = [verdict(claim_row(e), e.p, alpha, 1)[0] == "supported" for e in at_mde]
    rows.append({"check": f"difference claim at its MDE ({mde:.2f} points): supported", "rate": np.mean(supported),
                 "bound": 0.8, "kind": "about"})
    at_margin = difference_tests((50.0, 55.0), draws)
    model_gap = GradeModel(n_items=115, levels=(50.0, 55.0)).truths()
    margin = float(model_gap[1] - model_gap[0])
    equivalent = [verdict(claim_row(e, "equivalence", margin), tost(e.estimate, e.se, e.df, margin, CONFIDENCE)["p"],
                          alpha, 1)[0] == "supported" for e in at_margin]
    rows.append({"check": f"equivalence claim at its margin ({margin:.2f} points): supported",
                 "rate": np.mean(equivalent), "bound": alpha, "kind": "at most"})
    for row in rows:
        n = row.get("n", draws)
        row["mc_se"] = math.sqrt(max(row["rate"] * (1 - row["rate"]), 1e-12) / n)
    return rows


def coverage_mark(row: dict) -> str:
    """``yes`` within the band; ``reach`` where the estimate takes so few values that no interval
    rising with it can cover inside the band (``coverage.attainable_coverage``) and this one covers
    between the band's low end and the nearest reachable coverage above the nominal one (plus the
    band's half-width); ``tails`` where every such interval that misses on each side at most
    (1 - nominal) / 2 of the time covers above the band (``coverage.equal_tailed_coverage``), and
    this one covers above the band, misses on each side at most that (plus the half-width) and
    covers no more than that least (plus the half-width); ``NO`` otherwise."""
    low, high = row["nominal"] - TOLERANCE, row["nominal"] + TOLERANCE
    if low <= row["coverage"] <= high:
        return "yes"
    if row["attainable"] is not None:
        below, above, _ = row["attainable"]
        if below < low and above > high and low <= row["coverage"] <= above + TOLERANCE:
            return "reach"
    if row["equal_tailed"] is not None:
        tail = (1 - row["nominal"]) / 2 + TOLERANCE
        if (row["coverage"] > high and row["equal_tailed"] > high and row["below"] <= tail
                and row["above"] <= tail and row["coverage"] <= row["equal_tailed"] + TOLERANCE):
            return "tails"
    return "NO"


MARK_STYLES = {  # told apart by shape and fill, for a black-and-white printer
    "yes": {"marker": "o", "color": "black", "markerfacecolor": "black", "label": "inside the band"},
    "NO": {"marker": "^", "color": "black", "markerfacecolor": "white", "label": "outside the band"},
    "tails": {"marker": "s", "color": "black", "markerfacecolor": "0.6",
              "label": "outside, where no interval missing at most alpha/2 a side gets in"},
    "reach": {"marker": "D", "color": "black", "markerfacecolor": "0.6",
              "label": "outside, where no interval rising with the mean gets in"},
}


def plot_coverage(rows: list[dict], path: str) -> None:
    """Each current interval's coverage minus its nominal level, by interval and design (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from value_retention.figures import STYLE, TEXT_WIDTH_IN

    rows = [row for row in rows if "superseded" not in row["interval"]]
    families = list(dict.fromkeys(row["interval"] for row in rows))
    lines: list[tuple[str, dict | None]] = []  # a family's heading, then its designs
    for family in families:
        lines.append((family, None))
        lines.extend((row["design"], row) for row in rows if row["interval"] == family)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 0.13 * len(lines) + 1.2), layout="constrained")
        ax.axvspan(-100 * TOLERANCE, 100 * TOLERANCE, color="0.88", zorder=0)
        ax.axvline(0, color="0.5", linewidth=0.6, zorder=1)
        seen = set()
        for y, (label, row) in enumerate(lines):
            if row is None:
                ax.text(-0.01, y, label, transform=ax.get_yaxis_transform(), ha="right", va="center",
                        fontsize=6.5, fontweight="bold")
                continue
            mark = coverage_mark(row)
            style = dict(MARK_STYLES[mark])
            legend = style.pop("label")
            ax.errorbar(100 * (row["coverage"] - row["nominal"]), y, xerr=200 * row["mc_se"], linestyle="none",
                        markersize=3.5, elinewidth=0.7, capsize=1.5, zorder=3,
                        label=None if mark in seen else legend, **style)
            seen.add(mark)
        ax.set_yticks([y for y, (_, row) in enumerate(lines) if row is not None],
                      [label for label, row in lines if row is not None], fontsize=5.5)
        ax.set_ylim(len(lines) - 0.5, -0.5)
        ax.set_xlabel("coverage minus nominal level (percentage points; bars: +- 2 Monte-Carlo SE; "
                      "shaded: the band)")
        fig.legend(loc="outside upper center", ncols=2, frameon=False)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=120)
        plt.close(fig)
    # Black and white already: 16 grey levels keep it sharp and the docs' picture small.
    Image.open(buffer).convert("L").quantize(16).save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=2000, help="draws per design (default: %(default)s)")
    parser.add_argument("--boot", type=int, default=999, help="bootstrap resamples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    parser.add_argument("--only", default=None, help="run only designs whose name contains this (default: all)")
    parser.add_argument("--plot", default=None, help="also draw the checks into this PNG (default: none)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    table, started = Table(), time.time()
    for name in ("AHB", "MORU"):
        for level in LEVELS:
            if args.only is None or args.only in f"{name} {level}":
                run_design(table, name, level, args.draws, args.boot, rng)
                print(f"# {name} {level}: done after {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    if args.only is None or args.only in "small clusters seeds":
        run_small_clusters(table, args.draws, args.boot, rng)
        for n_seeds in (2, 3, 5):
            for run_sd in RUN_SDS:
                run_seeds(table, args.draws, rng, n_seeds, run_sd)
    failures = 0
    print(f"{'design':<40} {'interval':<68} {'nominal':>7} {'cover':>6} {'MC SE':>6} {'below':>6} {'above':>6} "
          f"{'degen':>5} {'width':>6} {'attainable':>18} {'tails':>6}  ok")
    rows = table.rows()
    for row in rows:
        current = "superseded" not in row["interval"]
        mark = coverage_mark(row)
        failures += current and mark == "NO"
        reach = "-" if row["attainable"] is None else "{:.3f}|{:.3f} ({})".format(*row["attainable"])
        tails = "-" if row["equal_tailed"] is None else f"{row['equal_tailed']:.3f}"
        print(f"{row['design']:<40} {row['interval']:<68} {row['nominal']:>7.2f} {row['coverage']:>6.3f} "
              f"{row['mc_se']:>6.3f} {row['below']:>6.3f} {row['above']:>6.3f} {row['degenerate']:>5d} "
              f"{row['width']:>6.2f} {reach:>18} {tails:>6}  {mark if current else '(old)'}")
    if args.plot:
        plot_coverage(rows, args.plot)
    if args.only is None:
        print()
        for row in claim_rates(args.draws, rng):
            if row["kind"] == "at most":
                ok = row["rate"] <= row["bound"] + 2 * row["mc_se"]
            else:
                ok = abs(row["rate"] - row["bound"]) <= max(0.02, 2 * row["mc_se"])
            failures += not ok
            print(f"{row['check']:<70} rate {row['rate']:.3f} (MC SE {row['mc_se']:.3f}), {row['kind']} "
                  f"{row['bound']:.2f}  {'yes' if ok else 'NO'}")
    print(f"\n{args.draws} draws per design, {args.boot} bootstrap resamples, seed {args.seed}: "
          f"{time.time() - started:.0f} s; {failures} check(s) outside their bounds")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
