"""``analyse``: the tidy scores of one benchmark in, the statistics JSON of docs/contracts.md out.

The layers, in the order a reader meets them in the output:

1. ``conditions``: per condition and language group, the mean over questions (each question first
   averaged over its epochs, then over seeds) with a cluster-robust t interval;
2. ``contrasts``: the pre-declared paired contrasts, Holm-adjusted as one family
   (``multiplicity.contrasts`` says what the family is);
3. ``mixedlm``: the condition x language mixed model and its interaction test;
4. ``transfer_ratio``: non-English gain / English gain with Fieller and bootstrap intervals;
5. ``dimensions``: the exploratory per-dimension table, Benjamini-Hochberg across it;
6. ``judges``: agreement between the panel's judges (null with one judge);
7. ``seeds``: per condition and seed, the mean, so the seed spread is visible;
8. ``grading``: the scorer version and the unparseable grades per condition and judge
   (:mod:`.grading`, from the runs' score files).

Everything is in percent (0-100). A value that cannot be estimated is null, and ``warnings`` says
why; nothing is dropped without being counted there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import schema, scores_csv
from ..errors import DataError
from ..jsonl import plain
from ..scores_csv import QUESTION
from .agreement import judge_agreement
from .contrasts import adjust_contrast_family, condition_summaries, contrast_rows, dimension_table
from .mixed import mixedlm_block
from .ratio import transfer_ratio
from .tidy import dimension_rows, epoch_means, incomplete_seed_coverage, overall_rows, seed_means

log = logging.getLogger(__name__)

def resolve_spec(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The analysis block checked against the config schema, with its defaults filled in;
    ConfigError (naming the key) on a bad value."""
    return schema.resolved("analysis", spec, key="analysis")


def analyse(scores: pd.DataFrame, spec: Mapping[str, Any], benchmark: str,
            conditions: Sequence[str] | None = None,
            grading: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every statistic of one benchmark, as the plain dict written to ``O/stats/{bench}.json``.

    ``conditions`` (optional) is the config's condition order, which every block then follows;
    without it conditions come in the order the scores list them. ``grading`` is the block
    :func:`.grading.grading_summary` makes from the runs' score files (null, with a warning, when
    not given).
    """
    spec = resolve_spec(spec)
    notes: list[str] = []
    rows, counts = scores_csv.check(scores, benchmark)
    rows = in_condition_order(rows, conditions, notes)
    if counts["rows_without_score"]:
        notes.append(f"{counts['rows_without_score']} of {counts['rows']} score rows have no score "
                     "(no usable grade) and were left out")
    headline = overall_rows(rows)
    if headline.empty:
        raise DataError("no panel overall rows (judge='panel', dimension='overall'): nothing to analyse",
                        scores.attrs.get("source"))
    cells = epoch_means(headline)            # question x condition x seed
    questions = seed_means(cells)            # question x condition
    for condition, n in incomplete_seed_coverage(cells).items():
        notes.append(f"{condition}: {n} question(s) are missing from some seeds; their headline "
                     "score averages the seeds they have")
    conf, n_boot, boot_seed = spec["confidence"], int(spec["bootstrap_samples"]), int(spec["bootstrap_seed"])

    timer = _Timer()
    contrasts = contrast_rows(questions, spec["contrasts"], conf, n_boot, boot_seed, notes)
    contrast_family = adjust_contrast_family(contrasts)
    timer.lap("conditions and contrasts")
    mixedlm = mixedlm_block(cells, spec["reference_condition"], notes)
    timer.lap("mixed model")
    ratio = None
    if spec["transfer_ratio"] is None:
        notes.append("transfer_ratio: not configured (analysis.transfer_ratio)")
    else:
        ratio = transfer_ratio(questions, *spec["transfer_ratio"], conf, n_boot, boot_seed, notes)
    dimension_questions = seed_means(epoch_means(dimension_rows(rows), by=["dimension"]), by=["dimension"])
    dimensions, dimension_family = dimension_table(dimension_questions, spec["reference_condition"],
                                                   conf, notes)
    timer.lap("transfer ratio and dimensions")
    judges = judge_agreement(rows, spec["contrasts"], conf, n_boot, boot_seed, notes)
    if judges is None:
        notes.append("judges: fewer than two individual judges in the scores; agreement not defined")
    if grading is None:
        notes.append("grading: no score files of the runs were given; unparseable grades not reported")
    timer.lap("judge agreement")

    result = {
        "benchmark": benchmark,
        "confidence": conf,
        "n_questions": int(questions[QUESTION].drop_duplicates().shape[0]),
        "n_clusters": int(questions["base_item"].nunique()),
        "conditions": condition_summaries(questions, conf, notes),
        "contrasts": contrasts,
        "multiplicity": {"contrasts": contrast_family, "dimensions": dimension_family},
        "mixedlm": mixedlm,
        "transfer_ratio": ratio,
        "dimensions": dimensions,
        "judges": judges,
        "seeds": seed_summaries(cells),
        "seed_spread": seed_spread(cells),
        "grading": dict(grading) if grading is not None else None,
        "counts": counts,
        "spec": spec,
        "method": METHOD_NOTE,
        "warnings": list(dict.fromkeys(notes)),
    }
    log.info("%s: %d questions in %d clusters, %d conditions; %s", benchmark, result["n_questions"],
             result["n_clusters"], len(result["conditions"]), timer)
    return plain(result)


METHOD_NOTE = (
    "Unit: the question (question_id, language), averaged over epochs then seeds; cluster: base_item. "
    "Means and paired contrasts: OLS on a constant with statsmodels' CRV1 cluster-robust covariance "
    "(factor G/(G-1)*(N-1)/(N-K)), t intervals on G-1 df; cluster-bootstrap percentile intervals "
    "resample base items. Holm across the declared contrast family; Benjamini-Hochberg across the "
    "per-dimension table. Percent scale (0-100)."
)


def in_condition_order(rows: pd.DataFrame, conditions: Sequence[str] | None, notes: list[str]) -> pd.DataFrame:
    """Rows sorted (stably) so that conditions appear in ``conditions``' order, unlisted ones last."""
    if conditions is None:
        return rows
    present = set(rows["condition"])
    absent = [name for name in conditions if name not in present]
    if absent:
        notes.append(f"conditions without scores: {', '.join(absent)}")
    rank = {name: index for index, name in enumerate(conditions)}
    order = rows["condition"].map(lambda name: rank.get(name, len(rank)))
    return rows.iloc[np.argsort(order.to_numpy(), kind="stable")]


def seed_summaries(cells: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per condition, per seed: the mean over questions (the contract's ``seeds``)."""
    means = cells.groupby(["condition", "seed"], sort=False)["percent"].mean()
    summary: dict[str, dict[str, float]] = {}
    for (condition, seed), value in means.items():
        summary.setdefault(condition, {})[str(seed)] = float(value)
    return summary


def seed_spread(cells: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per condition: how far the seed means spread (SD is null with a single seed)."""
    means = cells.groupby(["condition", "seed"], sort=False)["percent"].mean()
    spread = {}
    for condition, values in means.groupby(level="condition", sort=False):
        spread[condition] = {"n_seeds": int(len(values)),
                             "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
                             "min": float(values.min()), "max": float(values.max())}
    return spread


class _Timer:
    """Wall time per stage, for one log line at the end."""

    def __init__(self):
        self.last, self.laps = time.time(), []

    def lap(self, name: str) -> None:
        now = time.time()
        self.laps.append(f"{name} {now - self.last:.1f} s")
        log.info("statistics: %s done in %.1f s", name, now - self.last)
        self.last = now

    def __str__(self) -> str:
        return ", ".join(self.laps)
