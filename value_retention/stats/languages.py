"""Per-language estimates: every benchmark language with enough questions, on its own.

The language groups (English, non-English) lump Malay and Hindi together on MORU, and some thirty
languages on AHB. Here each language with at least ``analysis.min_language_items`` questions gets
its own condition means (bounded intervals, :mod:`.bounded`) and each condition's paired gain
over the reference condition (t intervals), clustered by base item as everywhere else; a language
with fewer questions is listed under ``excluded`` with its count, so nothing disappears silently.
A language's questions are one per base item, so within a language the clusters are the
questions themselves.
"""

from __future__ import annotations

import pandas as pd

from ..scores_csv import QUESTION
from .contrasts import estimate_fields, over_seeds, paired_cells


def language_order(cells: pd.DataFrame) -> pd.Series:
    """Questions per language, English first, then by count (ties by name)."""
    counts = cells.drop_duplicates(QUESTION)["language"].value_counts()
    frame = pd.DataFrame({"language": counts.index, "n": counts.to_numpy()})
    frame["not_english"] = frame["language"].str.lower() != "english"
    frame = frame.sort_values(["not_english", "n", "language"], ascending=[True, False, True])
    return pd.Series(frame["n"].to_numpy(), index=frame["language"].to_numpy())


def summary_of(estimate) -> dict:
    return {"mean": estimate.estimate, **estimate_fields(estimate), "n_questions": estimate.n,
            "n_clusters": estimate.n_clusters}


def languages_block(cells: pd.DataFrame, min_items: int, reference: str | None, confidence: float,
                    notes: list[str]) -> dict:
    """The contract's ``languages`` block."""
    counts = language_order(cells)
    included = [language for language, n in counts.items() if n >= min_items]
    excluded = {language: int(n) for language, n in counts.items() if n < min_items}
    if excluded:
        notes.append(f"languages: {len(excluded)} language(s) with fewer than {min_items} questions have no "
                     "estimate of their own (languages.excluded)")
    conditions = list(pd.unique(cells["condition"]))
    if reference not in conditions:
        reference = None
    by_language = {}
    for language in included:
        rows = cells[cells["language"] == language]
        means = {}
        for condition in conditions:
            estimate, _ = over_seeds(rows[rows["condition"] == condition], "percent", confidence, bounded=True)
            means[condition] = summary_of(estimate)
        gains = {}
        for condition in conditions if reference else []:
            if condition == reference:
                continue
            diffs, _ = paired_cells(rows, condition, reference)
            estimate, _ = over_seeds(diffs, "diff", confidence)
            gains[condition] = {"estimate": estimate.estimate, **estimate_fields(estimate), "p": estimate.p,
                                "n_pairs": estimate.n}
        by_language[language] = {"n_questions": int(counts[language]), "means": means, "gains": gains}
    return {"min_items": int(min_items), "reference_condition": reference, "included": included,
            "excluded": excluded, "by_language": by_language}
