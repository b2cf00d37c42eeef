"""``analyse``: the tidy scores of one benchmark in, the statistics JSON of docs/contracts.md out.

The layers, in the order a reader meets them in the output:

1. ``conditions``: per condition and language group, the mean over questions (each question first
   averaged over its epochs, then over seeds) with an interval that stays within 0-100
   (:mod:`.bounded`);
2. ``contrasts``: the declared paired contrasts (descriptive), t and bootstrap-t intervals,
   Holm-adjusted within themselves (``multiplicity.contrasts`` says what the family is);
3. ``claims``: the tests of the declared claims on this benchmark (:mod:`.claims`; their Holm
   family and verdicts are the ``claims`` rule's, over every benchmark);
4. ``mixedlm``: the condition x language mixed model, its omnibus interaction test and the 1-df
   interaction term of every claimed transfer;
5. ``transfer_ratio``: the difference and the ratio of non-English and English gains;
6. ``languages``: every language with enough questions, on its own;
7. ``dimensions``: the exploratory per-dimension table, Benjamini-Hochberg across it;
8. ``judges``: agreement between the panel's judges (null with one judge);
9. ``seeds``, ``inference_scope``: per condition and seed, the mean; and what the intervals
   describe (the training recipe with several seeds, the trained checkpoints with one);
10. ``grading``: the scorer version and the unparseable grades per condition and judge
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
from ..claims_spec import resolve_claims
from ..errors import DataError
from ..jsonl import plain
from ..scores_csv import QUESTION
from .agreement import judge_agreement
from .claims import claim_tests
from .contrasts import adjust_contrast_family, condition_summaries, contrast_rows, dimension_table
from .languages import languages_block
from .mixed import mixedlm_block
from .ratio import transfer_ratio
from .tidy import dimension_rows, epoch_means, incomplete_seed_coverage, overall_rows, seed_means

log = logging.getLogger(__name__)


def resolve_spec(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The analysis block checked against the config schema, with its defaults filled in;
    ConfigError (naming the key) on a bad value, a malformed claim included."""
    resolved = schema.resolved("analysis", spec, key="analysis")
    resolve_claims(resolved["claims"])  # what a schema cannot say of a claim, naming its key
    resolved["contrasts"] = [list(pair) for pair in resolved["contrasts"]]
    return resolved


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
    summaries = condition_summaries(cells, conf, notes)
    contrasts = contrast_rows(cells, spec["contrasts"], conf, n_boot, boot_seed, notes)
    contrast_family = adjust_contrast_family(contrasts)
    timer.lap("conditions and contrasts")
    claims = resolve_claims(spec["claims"])
    transfer_pairs = [[claim["condition"], claim["minus"]] for claim in claims
                      if claim["test"] == "transfer" and claim["benchmark"] == benchmark]
    if spec["transfer_ratio"] is not None:
        transfer_pairs.append(list(spec["transfer_ratio"]))
    mixedlm = mixedlm_block(cells, spec["reference_condition"], notes,
                            pairs=list(map(list, dict.fromkeys(map(tuple, transfer_pairs)))), confidence=conf)
    timer.lap("mixed model")
    claim_rows = claim_tests(cells, claims, benchmark, conf, spec["paper_t_test"],
                             mixedlm["interaction_terms"], notes)
    ratio = None
    if spec["transfer_ratio"] is None:
        notes.append("transfer_ratio: not configured (analysis.transfer_ratio)")
    else:
        ratio = transfer_ratio(cells, *spec["transfer_ratio"], conf, notes)
    languages = languages_block(cells, int(spec["min_language_items"]), spec["reference_condition"], conf, notes)
    timer.lap("claims, transfer and languages")
    dimension_cells = epoch_means(dimension_rows(rows), by=["dimension"])
    dimensions, dimension_family = dimension_table(dimension_cells, spec["reference_condition"], conf, notes)
    timer.lap("dimensions")
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
        "conditions": summaries,
        "contrasts": contrasts,
        "claims": claim_rows,
        "multiplicity": {"contrasts": contrast_family, "dimensions": dimension_family},
        "mixedlm": mixedlm,
        "transfer_ratio": ratio,
        "languages": languages,
        "dimensions": dimensions,
        "judges": judges,
        "seeds": seed_summaries(cells),
        "seed_spread": seed_spread(cells),
        "inference_scope": inference_scope(cells),
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
    "Variance of a mean or paired contrast: statsmodels' CRV1 cluster-robust covariance of an OLS on a "
    "constant (factor G/(G-1)); with several seeds, its questions' part plus the spread of the seed "
    "means, two stages on Satterthwaite df (the seed part at its 65% upper bound); contrasts pair "
    "conditions within seed. Score means (conditions, "
    "languages, dimensions): Korn-Graubard intervals (Clopper-Pearson at the effective sample size, "
    "df-adjusted), inside 0-100; differences: t intervals, beside a studentized cluster bootstrap "
    "(bootstrap-t) over base items. Claims: two-sided t tests, TOST for equivalence, the difference of "
    "gains for transfer; Holm within the claims only (the claims rule). Descriptive contrasts: Holm "
    "within themselves; per-dimension table: Benjamini-Hochberg. Judge agreement: nominal alpha, "
    "symmetric studentized bootstrap over base items. Percent scale (0-100)."
)


def inference_scope(cells: pd.DataFrame) -> dict[str, Any]:
    """What the intervals describe: the training recipe (several seeds) or these checkpoints (one)."""
    n_seeds = int(cells.groupby("condition")["seed"].nunique().max())
    if n_seeds > 1:
        statement = (f"Each condition was trained {n_seeds} times (seeds); the intervals include the "
                     "run-to-run variation, so they describe the training recipe.")
        if n_seeds == 2:  # bench/stats_coverage.py: 2-seed rows (docs/benchmarks.md)
            statement += (" With 2 seeds that variation rests on one degree of freedom: the intervals "
                          "are wide, and with large run effects they cover less than stated; 3 or more "
                          "seeds are advised.")
    else:
        statement = ("Each condition was trained once (one seed), so the intervals describe these trained "
                     "checkpoints: they account for the sampling of questions and answers, not for the "
                     "variation between training runs.")
    return {"n_seeds": n_seeds, "scope": "recipe" if n_seeds > 1 else "checkpoints", "statement": statement}


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
