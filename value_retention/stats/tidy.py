"""From the checked tidy scores to the tables the statistics work on.

The tidy CSV and its checks are :mod:`value_retention.scores_csv`'s (docs/contracts.md,
"Scores"): one row per (condition, seed, question, epoch, judge, dimension), with ``percent``
(0-100) and ``language_group`` added by the check. Every estimate in this package starts from
one of three tables built here:

- *cells*: one row per (condition, seed, question), the question's score averaged over the epochs
  in which it has a value (the benchmark's own rule: average within question first);
- *questions*: cells averaged over seeds, one row per (condition, question): the headline layer;
- the same two for each dimension, for the per-dimension table.

A question is the pair (question_id, language); its cluster is ``base_item`` (on MORU one item
asked in three languages, on AHB the question itself).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..scores_csv import OVERALL, PANEL_AVERAGE, QUESTION
from ..stats_json import GROUPS

# --------------------------------------------------------------------------------------------
# The tables every estimate starts from.

def epoch_means(rows: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (condition, seed, question[, *by]): the mean over the epochs with a value."""
    keys = ["condition", "seed", *QUESTION, "base_item", "language_group", *by]
    return rows.groupby(keys, sort=False, as_index=False).agg(percent=("percent", "mean"),
                                                             n_epochs=("epoch", "nunique"))


def seed_means(cells: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (condition, question[, *by]): the mean over the seeds in which it was scored."""
    keys = ["condition", *QUESTION, "base_item", "language_group", *by]
    return cells.groupby(keys, sort=False, as_index=False).agg(percent=("percent", "mean"),
                                                              n_seeds=("seed", "nunique"))


def incomplete_seed_coverage(cells: pd.DataFrame) -> dict[str, int]:
    """Per condition, how many questions lack a score in some of that condition's seeds."""
    seeds_of_condition = cells.groupby("condition", sort=False)["seed"].transform("nunique")
    seeds_of_question = cells.groupby(["condition", *QUESTION], sort=False)["seed"].transform("nunique")
    short = cells[seeds_of_question < seeds_of_condition].drop_duplicates(["condition", *QUESTION])
    return {condition: int(n) for condition, n in short["condition"].value_counts(sort=False).items()}


def select_group(table: pd.DataFrame, group: str) -> pd.DataFrame:
    """Rows of one language group; ``all`` keeps every row."""
    if group == "all":
        return table
    if group not in GROUPS:
        raise ValueError(f"unknown language group {group!r}; expected one of {GROUPS}")
    return table[table["language_group"] == group]


def overall_rows(rows: pd.DataFrame, judge: str = PANEL_AVERAGE) -> pd.DataFrame:
    """The overall(q) rows of one judge (the panel's average by default)."""
    return rows[(rows["judge"] == judge) & (rows["dimension"] == OVERALL)]


def dimension_rows(rows: pd.DataFrame, judge: str = PANEL_AVERAGE) -> pd.DataFrame:
    """The per-dimension score(q, d) rows of one judge (the panel's average by default)."""
    return rows[(rows["judge"] == judge) & (rows["dimension"] != OVERALL)]


def seed_matrix(frame: pd.DataFrame, value: str = "percent") -> tuple[pd.DataFrame, np.ndarray | None]:
    """Per question: ``value`` averaged over the seeds that have it, and the questions x seeds matrix.

    ``frame`` has one row per (question, seed) with ``base_item`` and ``language_group``; the
    first return value has one row per question (columns ``question_id``, ``language``,
    ``base_item``, ``language_group``, ``value``, ``n_seeds``), the second its values per seed
    (NaN where a question was not scored in a seed), or None with a single seed.
    """
    keys = [*QUESTION, "base_item", "language_group"]
    if frame["seed"].nunique() == 1 and not frame.duplicated(keys).any():  # the common case, without a pivot
        questions = frame[[*keys, value]].reset_index(drop=True)
        return questions.assign(n_seeds=1), None
    wide = frame.pivot_table(index=keys, columns="seed", values=value, aggfunc="mean", sort=False)
    matrix = wide.to_numpy(float)
    questions = wide.index.to_frame(index=False)
    questions[value] = np.nanmean(matrix, axis=1) if matrix.size else np.array([], dtype=float)
    questions["n_seeds"] = (~np.isnan(matrix)).sum(axis=1)
    return questions, (matrix if matrix.shape[1] > 1 else None)
