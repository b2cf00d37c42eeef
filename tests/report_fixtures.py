"""Synthetic statistics and tidy scores in the contracts' exact shapes (docs/contracts.md).

Shared by tests/test_figures.py, tests/test_tables.py and tests/test_numbers.py. The values are
deterministic functions of the names, so tests can assert on them.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from value_retention.stats.grading import grading_summary

CONDITIONS = ["base", "midtrained", "sft_dolly", "sft_magicoder", "grpo_rlhflow", "grpo_magicoder"]
CONTRASTS = [["sft_magicoder", "sft_dolly"], ["grpo_magicoder", "grpo_rlhflow"], ["midtrained", "base"]]
DIMENSIONS = ["Moral Consideration", "Harm Minimization", "Evidence-Based Capacity Attribution",
              "Scope_Sensitivity & 100% care"]  # specials on purpose: LaTeX must escape them
REFERENCES = {
    "ahb": {"all": {"sft_dolly": 35.7, "sft_magicoder": 65.2, "grpo_rlhflow": 18.7, "grpo_magicoder": 32.0}},
    "moru": {"english": {"sft_dolly": 46.4, "sft_magicoder": 71.9}, "all": {"sft_dolly": 52.3, "sft_magicoder": 51.2}},
}
PAPER = {"title": "Helpfulness Hurts (reproduction) & co",
         "world_note": "Tiny world: numbers test the pipeline, 100% synthetic."}


def summary(mean: float | None, n: int = 30) -> dict[str, Any]:
    """A group summary; a group without items has nulls, as stats.analyse writes it."""
    if mean is None:
        return {"mean": None, "se": None, "ci_low": None, "ci_high": None, "n_questions": 0, "n_clusters": 0}
    return {"mean": mean, "se": 2.5, "ci_low": mean - 5.1, "ci_high": mean + 5.1, "n_questions": n,
            "n_clusters": n}


def condition_mean(index: int, group: str) -> float:
    return 30.0 + 7.3 * index + {"all": 0.0, "english": -2.0, "non_english": 3.0}[group]


def make_stats(bench: str = "ahb", conditions: list[str] = CONDITIONS, seeds: int = 1,
               non_english: bool = True, judges: bool = False, estimable: bool = True) -> dict[str, Any]:
    """A stats dict as stats.analyse would return it for one benchmark."""
    groups = ["all", "english", "non_english"]
    stats: dict[str, Any] = {
        "benchmark": bench, "confidence": 0.95, "n_questions": 30, "n_clusters": 10,
        "conditions": {
            condition: {group: summary(condition_mean(i, group) if non_english or group != "non_english" else None)
                        for group in groups}
            for i, condition in enumerate(conditions)
        },
        "contrasts": [],
        "mixedlm": {"formula": "score ~ C(condition) * C(language_group)", "re_formula": "1",
                    "vc_formula": {"item_lang": "0 + C(item_lang)"}, "params": {"Intercept": 50.0},
                    "bse": {"Intercept": 2.0}, "converged": True,
                    "warnings": ["MLE may be on the boundary of the parameter space"],
                    "lr_interaction": ({"statistic": 12.345, "df": 5, "p": 0.0304} if non_english else None)},
        "transfer_ratio": None,
        "dimensions": [],
        "judges": None,
        "seeds": {c: {str(s): condition_mean(i, "all") + (s - (seeds - 1) / 2) * 1.5 for s in range(seeds)}
                  for i, c in enumerate(conditions)},
        "warnings": ["transfer ratio: a warning", "another warning"],
        "training_warnings": [],
    }
    p_values = itertools.cycle([0.0004, 0.0213, 0.5, 1.0])
    for (condition, minus), group in itertools.product(CONTRASTS, groups):
        if condition not in conditions or minus not in conditions:
            continue
        if group == "non_english" and not non_english:  # a group without items: nulls, as analyse writes
            stats["contrasts"].append({
                "condition": condition, "minus": minus, "group": group, "estimate": None, "se": None, "df": None,
                "ci_low": None, "ci_high": None, "p": None, "p_holm": None, "boot_ci_low": None,
                "boot_ci_high": None, "n_pairs": 0, "n_clusters": 0})
            continue
        estimate = condition_mean(conditions.index(condition), group) - condition_mean(conditions.index(minus), group)
        p = next(p_values)
        stats["contrasts"].append({
            "condition": condition, "minus": minus, "group": group, "estimate": estimate, "se": 1.5,
            "df": 9, "ci_low": estimate - 3.4, "ci_high": estimate + 3.4, "p": p, "p_holm": min(1.0, 3 * p),
            "boot_ci_low": estimate - 3.0, "boot_ci_high": estimate + 3.2, "n_pairs": 30, "n_clusters": 10})
    if not non_english and "sft_magicoder" in conditions:
        stats["transfer_ratio"] = {
            "condition": "sft_magicoder", "minus": "base", "gain_english": None, "gain_non_english": None,
            "ratio": None, "fieller": {"low": None, "high": None, "status": None},
            "bootstrap": {"low": None, "high": None}, "estimable": False,
            "note": "needs paired questions in both language groups (non-English pairs: 0)"}
    if non_english and "sft_magicoder" in conditions:
        stats["transfer_ratio"] = {
            "condition": "sft_magicoder", "minus": "base", "gain_english": 4.0 if estimable else 0.4,
            "gain_non_english": 18.0, "ratio": 4.5 if estimable else 45.0,
            "fieller": {"low": 2.1, "high": 11.9, "status": "bounded"} if estimable
            else {"low": None, "high": None, "status": "unbounded"},
            "bootstrap": {"low": 2.4, "high": 9.8}, "estimable": estimable,
            "note": "" if estimable else "English gain CI covers 0 (gain_english in [-3, 4])"}
    for (i, condition), (d, dimension) in itertools.product(enumerate(conditions), enumerate(DIMENSIONS)):
        mean = min(100.0, 20.0 + 9.0 * i + 11.0 * d)
        is_reference = condition == conditions[0]
        stats["dimensions"].append({
            "condition": condition, "dimension": dimension, "mean": mean, "ci_low": mean - 8, "ci_high": mean + 8,
            "diff": None if is_reference else mean - 20.0 - 11.0 * d,
            "p": None if is_reference else 0.01 * (i + d), "p_bh": None if is_reference else min(1.0, 0.02 * (i + d))})
    if judges:
        stats["judges"] = {"alpha": 0.71234, "alpha_ci_low": 0.6, "alpha_ci_high": 0.8, "sign_agreement": []}
    stats["grading"] = grading_summary(
        [(f"results/scores/{bench}/{condition}/seed{seed}.json",
          {"run": {"bench": bench, "condition": condition, "seed": seed}, "scorer_version": "paper_era",
           "grades_by_judge": {judge: {"n_grades": 400, "n_unparseable": i + j + seed}
                               for j, judge in enumerate(["lexical", "gpt_judge"] if judges else ["lexical"])}})
         for i, condition in enumerate(conditions) for seed in range(seeds)], conditions)
    return stats


def make_scores(bench: str = "ahb", conditions: list[str] = CONDITIONS, seeds: int = 1,
                non_english: bool = True, n_items: int = 6) -> pd.DataFrame:
    """Tidy scores (contract "Scores"): panel/overall and per-dimension rows, two epochs."""
    rng = np.random.default_rng(0)
    languages = ["English", "Malay", "Hindi"] if non_english else ["English"]
    rows = []
    for (i, condition), seed, item, language, epoch in itertools.product(
            enumerate(conditions), range(seeds), range(n_items), languages, range(2)):
        for dimension in ["overall", *DIMENSIONS[:2]]:
            score = float(np.clip(condition_mean(i, "all") / 100 + rng.normal(0, 0.15), 0, 1))
            rows.append({"bench": bench, "condition": condition, "seed": seed, "question_id": f"q{item}",
                         "base_item": f"q{item}", "language": language, "epoch": epoch, "judge": "panel",
                         "dimension": dimension, "score": score})
    return pd.DataFrame(rows)
