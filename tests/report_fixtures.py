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
    scope = {"interval": "korn_graubard", "n_seeds": 1, "se_runs": None, "scope": "checkpoints"}
    if mean is None:
        return {"mean": None, "se": None, "df": None, "ci_low": None, "ci_high": None, "degenerate": None,
                "n_questions": 0, "n_clusters": 0, **scope}
    if mean == 0:  # every question scored 0: a one-sided bound, as stats.bounded writes it
        return {"mean": 0.0, "se": 0.0, "df": n - 1, "ci_low": 0.0, "ci_high": 11.57, "degenerate": "all 0",
                "n_questions": n, "n_clusters": n, **scope}
    return {"mean": mean, "se": 2.5, "df": n - 1, "ci_low": mean - 5.1, "ci_high": mean + 5.1, "degenerate": None,
            "n_questions": n, "n_clusters": n, **scope}


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
    no_difference = {"estimate": None, "se": None, "df": None, "ci_low": None, "ci_high": None, "p": None}
    if not non_english and "sft_magicoder" in conditions:
        stats["transfer_ratio"] = {
            "condition": "sft_magicoder", "minus": "base", "gain_english": None, "gain_non_english": None,
            "difference": no_difference, "ratio": None, "fieller": {"low": None, "high": None, "status": None},
            "estimable": False,
            "note": "needs at least 2 paired questions in each language group (non-English pairs: 0)"}
    if non_english and "sft_magicoder" in conditions:
        gain_english = 4.0 if estimable else 0.4
        stats["transfer_ratio"] = {
            "condition": "sft_magicoder", "minus": "base", "gain_english": gain_english,
            "gain_non_english": 18.0, "ratio": 18.0 / gain_english,
            "difference": {"estimate": 18.0 - gain_english, "se": 3.0, "df": 29.0, "ci_low": 12.0 - gain_english,
                           "ci_high": 24.0 - gain_english, "p": 0.0002},
            "fieller": {"low": 2.1, "high": 11.9, "status": "bounded"} if estimable
            else {"low": None, "high": None, "status": "unbounded"},
            "estimable": estimable,
            "note": "" if estimable else "the English gain's 95% interval [-3.00, 3.80] covers 0"}
        stats["mixedlm"]["interaction_terms"] = [
            {"condition": "sft_magicoder", "minus": "base", "estimate": 13.5, "se": 3.1, "z": 4.35, "p": 0.00001,
             "ci_low": 7.4, "ci_high": 19.6, "method": "Wald, REML fixed effects"}]
    languages = ["English", "Malay", "Hindi"] if non_english else ["English"]
    stats["languages"] = {
        "min_items": 20, "reference_condition": conditions[0], "included": languages,
        "excluded": {"Mandarin": 11} if non_english else {},
        "by_language": {language: {"n_questions": 30, "gains": {},
                                   "means": {c: summary(condition_mean(i, "all") + 1.5 * k)
                                             for i, c in enumerate(conditions)}}
                        for k, language in enumerate(languages)}}
    stats["inference_scope"] = {"n_seeds": seeds, "scope": "recipe" if seeds > 1 else "checkpoints",
                                "statement": "Each condition was trained once (one seed), so the intervals describe "
                                             "these trained checkpoints." if seeds == 1 else
                                             f"Each condition was trained {seeds} times (seeds)."}
    stats["claims"] = []
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


CLAIMS_SPEC = {
    "ahb_sft": {"statement": "Coding SFT beats helpfulness SFT on AHB & co", "benchmark": "ahb", "test": "difference",
                "compare": ["sft_magicoder", "sft_dolly"], "direction": "greater",
                "published": {"condition": 65.2, "minus": 35.7}},
    "moru_no_difference": {"statement": "No difference on MORU", "benchmark": "moru", "test": "equivalence",
                           "compare": ["sft_magicoder", "sft_dolly"], "margin": 5.0,
                           "published": {"condition": 51.2, "minus": 52.3}},
    "ahb_transfer": {"statement": "Larger gain off English", "benchmark": "ahb", "test": "transfer",
                     "compare": ["sft_magicoder", "base"], "direction": "greater", "published": {"ratio": 4.5}},
}


def make_claims() -> dict[str, Any]:
    """A claims file (contract "Claims") as stats.claims.confirm writes it: one claim per verdict kind."""
    paper = {"t_test": "welch", "description": "Welch's unpaired two-sample t-test on per-question scores "
             "(unequal variances), uncorrected", "df": 57.0, "ratio": None}
    claims = [
        {"name": "ahb_sft", "statement": CLAIMS_SPEC["ahb_sft"]["statement"], "benchmark": "ahb", "group": "all",
         "test": "difference", "condition": "sft_magicoder", "minus": "sft_dolly", "direction": "greater",
         "margin": None, "estimate": 7.3, "se": 2.0, "df": 29.0, "ci_low": 3.2, "ci_high": 11.4, "p": 0.001,
         "p_holm": 0.003, "verdict": "supported", "verdict_reason": "Holm-adjusted p < 0.05", "mde": 6.9,
         "scope": "checkpoints", "published": CLAIMS_SPEC["ahb_sft"]["published"],
         "paper_method": {**paper, "mean_condition": 51.9, "mean_minus": 44.6, "estimate": 7.3, "p": 0.02,
                          "verdict": "supported"}},
        {"name": "moru_no_difference", "statement": CLAIMS_SPEC["moru_no_difference"]["statement"],
         "benchmark": "moru", "group": "all", "test": "equivalence", "condition": "sft_magicoder",
         "minus": "sft_dolly", "direction": None, "margin": 5.0, "estimate": -1.1, "se": 2.5, "df": 66.0,
         "ci_low": -6.1, "ci_high": 3.9, "p": 0.66,
         "tost": {"margin": 5.0, "p_lower": 0.06, "p_upper": 0.01, "p": 0.06, "ci_low": -5.3, "ci_high": 3.1,
                  "level": 0.9, "p_beyond": 1.0},
         "p_holm": 0.12, "verdict": "inconclusive", "verdict_reason": "neither", "mde": 9.4, "scope": "checkpoints",
         "published": CLAIMS_SPEC["moru_no_difference"]["published"],
         "paper_method": {**paper, "mean_condition": 51.2, "mean_minus": 52.3, "estimate": -1.1, "p": 0.7,
                          "verdict": "supported"}},
        {"name": "ahb_transfer", "statement": CLAIMS_SPEC["ahb_transfer"]["statement"], "benchmark": "ahb",
         "group": "all", "test": "transfer", "condition": "sft_magicoder", "minus": "base", "direction": "greater",
         "margin": None, "estimate": -2.0, "se": 0.8, "df": 29.0, "ci_low": -3.6, "ci_high": -0.4, "p": 0.01,
         "p_holm": 0.02, "verdict": "contradicted", "verdict_reason": "opposite", "mde": 2.7, "scope": "checkpoints",
         "published": {"ratio": 4.5},
         "transfer": {"gain_english": 5.0, "gain_non_english": 3.0, "ratio": 0.6,
                      "fieller": {"low": 0.3, "high": 0.9, "status": "bounded"}, "estimable": True},
         "paper_method": {**paper, "estimate": -2.1, "p": 0.2, "ratio": 0.58, "verdict": "not significant"}},
    ]
    return {"confidence": 0.95, "alpha": 0.05, "power": 0.8, "mde_level": 0.05 / 3,
            "family": {"method": "holm", "size": 3, "members": [c["name"] for c in claims], "definition": "..."},
            "scope": "checkpoints", "claims": claims,
            "counts": {"supported": 1, "contradicted": 1, "inconclusive": 1, "not tested": 0}, "warnings": []}


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
