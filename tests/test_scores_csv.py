"""The tidy scores CSV: one writer, one reader, one rule for missing values (an empty cell)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from value_retention import scores_csv
from value_retention.errors import DataError


def table(scores: list[float]) -> pd.DataFrame:
    ids = ["007", "NA", "8"][:len(scores)]
    return pd.DataFrame({"bench": "moru", "condition": "base", "seed": 0, "question_id": ids,
                         "base_item": "1", "language": "NA", "epoch": 0, "judge": scores_csv.PANEL_AVERAGE,
                         "dimension": scores_csv.OVERALL, "score": scores})


def test_a_missing_score_is_written_as_an_empty_cell_and_read_back_as_missing(tmp_path):
    path = tmp_path / "scores.csv"
    scores_csv.write(table([0.5, math.nan]), path)
    assert path.read_text().splitlines()[2].endswith(",")  # the empty cell
    read = scores_csv.read(path)
    assert list(read["question_id"]) == ["007", "NA"] and set(read["language"]) == {"NA"}  # text, not missing
    assert read["score"].iloc[0] == 0.5 and math.isnan(read["score"].iloc[1])
    rows, counts = scores_csv.check(read)
    assert counts == {"rows": 2, "rows_without_score": 1}
    assert list(rows["percent"]) == [50.0] and list(rows["language_group"]) == ["non_english"]


@pytest.mark.parametrize("spelling", ["nan", "NA", "n/a"])
def test_any_other_spelling_of_a_missing_score_is_an_error_naming_the_row(tmp_path, spelling):
    path = tmp_path / "scores.csv"
    scores_csv.write(table([0.5, 0.25, 1.0]), path)
    path.write_text(path.read_text().replace("0.25", spelling))
    with pytest.raises(DataError, match="score is not a number") as caught:
        scores_csv.read_checked(path)
    assert caught.value.row == 3 and str(path) in str(caught.value)


def test_the_reader_names_a_missing_column(tmp_path):
    path = tmp_path / "scores.csv"
    table([0.5]).drop(columns=["judge"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"scores\.csv.*missing column\(s\) judge"):
        scores_csv.read(path)
