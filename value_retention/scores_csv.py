"""The tidy scores CSV: the one file format between scoring and every reader of scores.

``O/scores/{bench}/{condition}/seed{seed}.csv`` (one run) and ``O/scores/{bench}.csv`` (every
run of a benchmark) have one row per (condition, seed, question, epoch, judge, dimension), scores
0-1, in the columns :data:`COLUMNS` (docs/contracts.md, "Scores"):

- ``judge`` is a panel judge's name, or :data:`PANEL_AVERAGE` for the rows holding the panel's
  average exactly as the scoring rules define it;
- ``dimension`` is a dimension's name, or :data:`OVERALL` for the rows holding overall(q, e).

This module is the format's only reader and writer. Its one rule for missing values: a score
no judge could give is an **empty cell**, and nothing else is missing. Identifiers are text, so
a question id "007" stays "007" and a language called "NA" stays a language.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .config import language_group
from .errors import DataError
from .jsonl import atomic_path

COLUMNS = ["bench", "condition", "seed", "question_id", "base_item", "language", "epoch", "judge",
           "dimension", "score"]
TEXT_COLUMNS = ("bench", "condition", "question_id", "base_item", "language", "judge", "dimension")
PANEL_AVERAGE = "panel"  # the judge name of the rows holding the panel's average
OVERALL = "overall"      # the dimension name of the rows holding overall(q, e)
QUESTION = ["question_id", "language"]  # what a question is (its cluster is base_item)
ROW_KEY = ["condition", "seed", *QUESTION, "epoch", "judge", "dimension"]  # unique per row
SORT_KEYS = ROW_KEY  # the order of a collected table (conditions keep the config's order)


def read(path: str | os.PathLike) -> pd.DataFrame:
    """Read a tidy scores CSV as written: identifiers as text, an empty score as NaN.

    The frame also has ``_row`` (each row's line number, for errors) and ``attrs["source"]``.
    Check it with :func:`check` before computing with it.
    """
    try:
        frame = pd.read_csv(path, dtype={column: str for column in TEXT_COLUMNS},
                            keep_default_na=False, na_values={"score": [""]})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"not a readable CSV ({exc})", path) from None
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}", path)
    frame = frame[COLUMNS].copy()
    frame["_row"] = np.arange(len(frame)) + 2  # line 1 is the header
    frame.attrs["source"] = os.fspath(path)  # so that later errors can name the file
    return frame


def read_checked(path: str | os.PathLike, benchmark: str | None = None) -> pd.DataFrame:
    """:func:`read`, then :func:`check`: the rows every estimate and figure is computed from."""
    rows, _ = check(read(path), benchmark=benchmark, source=path)
    return rows


def write(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a tidy scores table (its :data:`COLUMNS`) atomically; a missing score is an empty cell."""
    missing = [column for column in COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"a tidy scores table needs the column(s) {', '.join(missing)}")
    with atomic_path(path) as tmp:
        table[COLUMNS].to_csv(tmp, index=False, na_rep="")


def collect(paths: Sequence[str | os.PathLike], out_path: str | os.PathLike) -> int:
    """Concatenate tidy tables into one, conditions in input order and the rest sorted, written
    atomically; returns the row count."""
    if not paths:
        raise ValueError("collecting tidy scores needs at least one table")
    table = pd.concat([read(path) for path in paths], ignore_index=True)
    # Conditions keep the order of the inputs (the rule lists them in the config's order); every
    # other key is sorted, so the table is deterministic and reads in the study's order.
    condition_rank = {name: rank for rank, name in enumerate(dict.fromkeys(table["condition"]))}
    table = table.sort_values(
        SORT_KEYS, kind="stable",
        key=lambda column: column.map(condition_rank) if column.name == "condition" else column,
    ).reset_index(drop=True)
    write(table, out_path)
    return len(table)


def check(scores: pd.DataFrame, benchmark: str | None = None,
          source: str | os.PathLike | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Validate a tidy scores table; return the scored rows and counts of what was set aside.

    Errors (DataError naming the row) for what would make any estimate wrong: a missing column,
    another benchmark's rows, a score outside 0-1 or not a number, a seed or epoch that is not an
    integer, an empty identifier, a duplicated row, a question filed under two base items.
    Rows without a score (a dimension no judge could grade) are dropped and counted. The rows
    returned also have ``percent`` (100 x score, the scale the paper reports) and
    ``language_group`` (english or non_english).
    """
    source = source if source is not None else scores.attrs.get("source")
    missing = [column for column in COLUMNS if column not in scores.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}", source)
    frame = scores.copy()
    if "_row" not in frame.columns:
        frame["_row"] = np.arange(len(frame)) + 2  # as if read from a CSV with a header line
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].astype("string").str.strip()
        _fail_where(frame, frame[column].isna() | (frame[column] == ""), f"empty {column}", source)
    if benchmark is not None:
        _fail_where(frame, frame["bench"] != benchmark,
                    f"row of another benchmark (this file is for '{benchmark}')", source)
    for column in ("seed", "epoch"):
        frame[column] = _integers(frame, column, source)
    frame["score"] = _scores(frame, source)
    _fail_where(frame, frame.duplicated(ROW_KEY), "duplicate row for (condition, seed, question_id, "
                "language, epoch, judge, dimension)", source)
    bases = frame.groupby(QUESTION, sort=False)["base_item"].transform("nunique")
    _fail_where(frame, bases > 1, "this (question_id, language) appears under more than one base_item",
                source)
    unscored = frame["score"].isna()
    counts = {"rows": int(len(frame)), "rows_without_score": int(unscored.sum())}
    clean = frame.loc[~unscored].copy()
    clean["percent"] = 100.0 * clean["score"]
    clean["language_group"] = clean["language"].map(language_group)
    return clean, counts


def _fail_where(frame: pd.DataFrame, bad: pd.Series, message: str, source) -> None:
    """Raise a DataError naming the first row where ``bad`` holds."""
    if bad.any():
        first = frame.loc[bad.to_numpy()].iloc[0]
        raise DataError(f"{message} ({int(bad.sum())} row(s); first: {_describe(first)})",
                        source, int(first["_row"]))


def _describe(row: pd.Series) -> str:
    return ", ".join(f"{column}={row[column]!r}" for column in ("condition", "seed", "question_id",
                                                                 "language", "judge", "dimension"))


def _integers(frame: pd.DataFrame, column: str, source) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values.round() != values)
    _fail_where(frame, bad, f"{column} is not an integer", source)
    return values.astype(int)


def _scores(frame: pd.DataFrame, source) -> pd.Series:
    """Scores as floats: NaN stays missing (an empty cell), anything else must be a number in 0-1."""
    text = frame["score"].astype("string").str.strip()
    values = pd.to_numeric(frame["score"], errors="coerce")
    given = frame["score"].notna() & (text != "")
    _fail_where(frame, given & values.isna(), "score is not a number (a missing score is an empty cell)",
                source)
    _fail_where(frame, (values < 0) | (values > 1), "score outside 0-1", source)
    return values.astype(float)
