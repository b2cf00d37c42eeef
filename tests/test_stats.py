"""The statistics layer: hand-worked numbers, the contract's shape, and bad input.

Every expected number here is worked out by hand in the comments (or by the textbook test it must
equal), so a broken estimator fails on arithmetic, not on a snapshot.
"""

from __future__ import annotations

import json
import math
import runpy
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from value_retention.errors import ConfigError, DataError
from value_retention.scores_csv import check as check_scores
from value_retention.scores_csv import read as read_scores
from value_retention.stats import analyse, benjamini_hochberg, cluster_mean, fieller_interval, holm, resolve_spec
from value_retention.stats.agreement import grade_counts, nominal_alpha, reliability_table
from value_retention.stats.contrasts import contrast_rows
from value_retention.stats.ratio import transfer_ratio
from value_retention.stats.simulate import simulate_scores
from value_retention.stats.tidy import epoch_means, overall_rows

REPO = Path(__file__).resolve().parent.parent
T_975_DF1 = 12.706204736174703  # scipy.stats.t.ppf(0.975, 1)


def tidy(rows: list[tuple], bench: str = "moru") -> pd.DataFrame:
    """A tidy scores table from (condition, question_id, base_item, language, epoch, score[, judge,
    dimension, seed]) tuples; judge defaults to the panel, dimension to overall, seed to 0."""
    records = []
    for row in rows:
        condition, qid, base, language, epoch, score, *rest = row
        judge, dimension, seed = (list(rest) + ["panel", "overall", 0][len(rest):])[:3]
        records.append({"bench": bench, "condition": condition, "seed": seed, "question_id": qid,
                        "base_item": base, "language": language, "epoch": epoch, "judge": judge,
                        "dimension": dimension, "score": score})
    return pd.DataFrame(records)


SPEC = {"confidence": 0.95, "bootstrap_samples": 200, "bootstrap_seed": 7, "reference_condition": "B",
        "contrasts": [["A", "B"]], "transfer_ratio": ["A", "B"]}

# Two base items, each asked in English and Malay. Condition A (2 epochs on two questions):
#   item1: En (0.2 + 0.4)/2 = 30%, Ma 50%;  item2: En 60%, Ma (0.8 + 1.0)/2 = 90%.
# Condition B lacks item2's Malay question: item1: En 10%, Ma 50%; item2: En 40%.
HAND_TABLE = [
    ("A", "1", "1", "English", 0, 0.2), ("A", "1", "1", "English", 1, 0.4),
    ("A", "1", "1", "Malay", 0, 0.5),
    ("A", "2", "2", "English", 0, 0.6),
    ("A", "2", "2", "Malay", 0, 0.8), ("A", "2", "2", "Malay", 1, 1.0),
    ("B", "1", "1", "English", 0, 0.1), ("B", "1", "1", "Malay", 0, 0.5),
    ("B", "2", "2", "English", 0, 0.4),
]


# --------------------------------------------------------------------------------------------
# Cluster-robust means, by hand.

def test_cluster_mean_by_hand():
    # mean 2.5; residual totals per cluster: a: -1.5 - 0.5 = -2, b: +2.
    # CRV1: G/(G-1) * (N-1)/(N-K) * sum(total^2) / N^2 = 2 * 1 * 8 / 16 = 1, so SE = 1, df = G - 1 = 1.
    estimate = cluster_mean([1, 2, 3, 4], ["a", "a", "b", "b"], 0.95)
    assert estimate.estimate == pytest.approx(2.5)
    assert estimate.se == pytest.approx(1.0)
    assert estimate.df == 1
    assert estimate.ci_low == pytest.approx(2.5 - T_975_DF1)
    assert estimate.ci_high == pytest.approx(2.5 + T_975_DF1)
    assert estimate.p == pytest.approx(2 * scipy_stats.t.sf(2.5, 1))
    assert (estimate.n, estimate.n_clusters) == (4, 2)


def test_singleton_clusters_give_the_one_sample_t_test():
    values = np.array([3.0, -1.0, 4.0, 1.5, 5.0, -2.0, 6.5])
    estimate = cluster_mean(values, np.arange(len(values)), 0.9)
    classic = scipy_stats.ttest_1samp(values, 0.0)
    assert estimate.se == pytest.approx(values.std(ddof=1) / math.sqrt(len(values)))
    assert estimate.df == len(values) - 1
    assert estimate.p == pytest.approx(classic.pvalue)
    low, high = classic.confidence_interval(0.9)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((low, high))


def test_equal_clusters_give_the_t_test_on_cluster_means():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5, 3)) + rng.normal(size=(5, 1))  # 5 clusters of 3 correlated values
    estimate = cluster_mean(values.ravel(), np.repeat(np.arange(5), 3), 0.95)
    cluster_means = values.mean(axis=1)
    assert estimate.se == pytest.approx(cluster_means.std(ddof=1) / math.sqrt(5))
    assert estimate.p == pytest.approx(scipy_stats.ttest_1samp(cluster_means, 0.0).pvalue)


def test_cluster_mean_says_why_when_it_cannot_estimate():
    assert cluster_mean([], [], 0.95).estimate is None
    one = cluster_mean([1.0, 2.0], ["a", "a"], 0.95)
    assert one.estimate == 1.5 and one.se is None and "fewer than 2 clusters" in one.note
    flat = cluster_mean([2.0, 2.0, 2.0], ["a", "b", "c"], 0.95)
    assert flat.se == 0 and flat.p is None and "zero variance" in flat.note


# --------------------------------------------------------------------------------------------
# analyse(), by hand.

def test_condition_means_by_hand():
    result = analyse(tidy(HAND_TABLE), SPEC, "moru")
    a = result["conditions"]["A"]
    # all: (30 + 50 + 60 + 90) / 4 = 57.5; cluster totals of residuals -35 and +35:
    # Var = 2 * (35^2 + 35^2) / 4^2 = 306.25, SE = 17.5.
    assert a["all"]["mean"] == pytest.approx(57.5)
    assert a["all"]["se"] == pytest.approx(17.5)
    # The score's interval is Korn-Graubard's: Clopper-Pearson at the effective size
    # n = p(1-p)/Var * (z/t_1)^2 = 0.575 * 0.425 / 0.030625 * (1.95996 / 12.7062)^2, count x = p n.
    n = 0.575 * 0.425 / 0.030625 * (scipy_stats.norm.ppf(0.975) / T_975_DF1) ** 2
    x = 0.575 * n
    assert a["all"]["ci_low"] == pytest.approx(100 * scipy_stats.beta.ppf(0.025, x, n - x + 1))
    assert a["all"]["ci_high"] == pytest.approx(100 * scipy_stats.beta.ppf(0.975, x + 1, n - x))
    assert a["all"]["interval"] == "korn_graubard" and a["all"]["degenerate"] is None
    assert 0 <= a["all"]["ci_low"] < 57.5 < a["all"]["ci_high"] <= 100
    assert (a["all"]["n_questions"], a["all"]["n_clusters"]) == (4, 2)
    # english: 30 and 60, one per cluster: SD 21.213 / sqrt(2) = 15.
    assert a["english"]["mean"] == pytest.approx(45.0)
    assert a["english"]["se"] == pytest.approx(15.0)
    assert result["conditions"]["B"]["non_english"]["mean"] == pytest.approx(50.0)
    assert result["n_questions"] == 4 and result["n_clusters"] == 2


def test_paired_contrast_by_hand():
    result = analyse(tidy(HAND_TABLE), SPEC, "moru")
    row = next(row for row in result["contrasts"] if row["group"] == "all")
    # Pairs (A - B): item1 En 20, item1 Ma 0, item2 En 20; item2 Ma has no partner in B.
    # Mean 40/3; residual totals: item1 (20/3 - 40/3) = -20/3, item2 +20/3;
    # Var = 2 * 2 * (20/3)^2 / 3^2, SE = 40/9.
    assert row["estimate"] == pytest.approx(40 / 3)
    assert row["se"] == pytest.approx(40 / 9)
    assert (row["n_pairs"], row["n_clusters"], row["df"]) == (3, 2, 1)
    assert row["p"] == pytest.approx(2 * scipy_stats.t.sf((40 / 3) / (40 / 9), 1))
    assert any("without a partner" in note and "A: 1" in note for note in result["warnings"])


def test_holm_and_benjamini_hochberg_on_known_p_values():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max so far 0.06.
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: sorted 0.005*4/1 = 0.02, 0.01*4/2 = 0.02, 0.03*4/3 = 0.04, 0.04*4/4 = 0.04 (running min).
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert holm([]) == [] and benjamini_hochberg([]) == []


def test_holm_runs_over_the_whole_declared_family():
    scores = simulate_scores(n_items=12, effects={"base": 0.0, "mid": 3.0, "sft": 6.0}, seed=5)
    spec = {**SPEC, "reference_condition": "base", "contrasts": [["sft", "mid"], ["mid", "base"]],
            "transfer_ratio": None}
    result = analyse(scores, spec, "sim")
    rows = result["contrasts"]
    assert [(r["condition"], r["group"]) for r in rows] == [
        ("sft", "all"), ("sft", "english"), ("sft", "non_english"),
        ("mid", "all"), ("mid", "english"), ("mid", "non_english")]
    assert [r["p_holm"] for r in rows] == pytest.approx(holm([r["p"] for r in rows]))
    assert result["multiplicity"]["contrasts"]["size"] == 6


def test_a_group_identical_to_all_is_one_test_not_two():
    scores = simulate_scores(n_items=10, languages=("English",), seed=2)
    result = analyse(scores, {**SPEC, "contrasts": [["treated", "base"]], "transfer_ratio": None,
                              "reference_condition": "base"}, "sim")
    by_group = {row["group"]: row for row in result["contrasts"]}
    assert by_group["english"]["estimate"] == by_group["all"]["estimate"]
    assert by_group["non_english"]["estimate"] is None and by_group["non_english"]["p_holm"] is None
    assert result["multiplicity"]["contrasts"]["size"] == 1
    assert by_group["all"]["p_holm"] == pytest.approx(by_group["all"]["p"])
    assert by_group["english"]["p_holm"] == by_group["all"]["p_holm"]


def cell_table(scores: pd.DataFrame) -> pd.DataFrame:
    """The headline layer's input (question x condition x seed, percent), as analyse() builds it."""
    return epoch_means(overall_rows(check_scores(scores)[0]))


def test_bootstrap_is_seeded_and_sits_beside_the_t_interval():
    cells = cell_table(simulate_scores(n_items=15, item_condition_sd=3.0, seed=4))

    def contrast(seed):
        return contrast_rows(cells, [["treated", "base"]], 0.95, 300, seed, [])[0]

    row, row_again, row_other = contrast(7), contrast(7), contrast(8)
    assert (row["boot_ci_low"], row["boot_ci_high"]) == (row_again["boot_ci_low"], row_again["boot_ci_high"])
    assert row["boot_ci_low"] != row_other["boot_ci_low"]
    assert row["boot_ci_low"] < row["estimate"] < row["boot_ci_high"]
    assert row["boot_method"] == "bootstrap-t"
    # The bootstrap-t interval estimates the t quantiles from the data: of the t interval's size.
    t_width, boot_width = row["ci_high"] - row["ci_low"], row["boot_ci_high"] - row["boot_ci_low"]
    assert 0.7 < boot_width / t_width < 1.4


# --------------------------------------------------------------------------------------------
# The transfer ratio.

def test_fieller_with_a_known_denominator_is_the_scaled_t_interval():
    # var(b) = 0 and cov = 0: the set is (a -+ t sqrt(v_aa)) / b = (6 -+ 2) / 2.
    assert fieller_interval(6.0, 2.0, 1.0, 0.0, 0.0, 2.0) == {"low": 2.0, "high": 4.0, "status": "bounded"}


def test_fieller_bounds_solve_the_defining_equation():
    a, b, v_aa, v_bb, v_ab, t = 9.0, 4.0, 2.0, 0.5, 0.4, 2.1
    interval = fieller_interval(a, b, v_aa, v_bb, v_ab, t)
    assert interval["status"] == "bounded" and interval["low"] < a / b < interval["high"]
    for theta in (interval["low"], interval["high"]):
        assert (a - theta * b) ** 2 == pytest.approx(t ** 2 * (v_aa - 2 * theta * v_ab + theta ** 2 * v_bb))


def test_fieller_when_the_denominator_may_be_zero():
    # A = 1 - 4 < 0, B = 5, C = 25 - 4 = 21, B^2 - AC = 88 > 0: everything outside the roots.
    exclusive = fieller_interval(5.0, 1.0, 1.0, 1.0, 0.0, 2.0)
    assert exclusive["status"] == "exclusive"
    assert exclusive["low"] == pytest.approx((5 + math.sqrt(88)) / -3)
    assert exclusive["high"] == pytest.approx((5 - math.sqrt(88)) / -3)
    # A = 0.25 - 4, C = 0.25 - 4, B^2 - AC < 0: every ratio.
    assert fieller_interval(0.5, 0.5, 1.0, 1.0, 0.0, 2.0) == {"low": None, "high": None, "status": "unbounded"}


def test_the_ratio_is_not_determined_when_the_english_gain_may_be_zero():
    scores = simulate_scores(n_items=20, effects={"base": 0.0, "treated": 0.0}, interaction={"treated": 12.0},
                             seed=11)
    result = analyse(scores, {**SPEC, "contrasts": [], "reference_condition": "base",
                              "transfer_ratio": ["treated", "base"]}, "sim")
    ratio = result["transfer_ratio"]
    # The Fieller set is reported whatever its shape (its coverage holds only unconditionally),
    # and says the ratio is not determined; the difference of gains is estimated all the same.
    assert ratio["estimable"] is False
    assert ratio["ratio"] == pytest.approx(ratio["gain_non_english"] / ratio["gain_english"])
    assert ratio["fieller"]["status"] in {"exclusive", "unbounded"}
    assert "covers 0" in ratio["note"] and "not determined" in ratio["note"] and ratio["gain_non_english"] > 5
    difference = ratio["difference"]
    assert difference["estimate"] == pytest.approx(ratio["gain_non_english"] - ratio["gain_english"])
    assert difference["ci_low"] < 12 < difference["ci_high"] and difference["p"] < 0.01
    assert any(note.startswith("transfer_ratio treated - base") for note in result["warnings"])


def test_ratio_covariance_is_zero_without_shared_items_and_estimated_with_them():
    effects, interaction = {"base": 0.0, "treated": 10.0}, {"treated": 10.0}
    ahb_like = simulate_scores(n_items=30, one_language_per_item=True, effects=effects,
                               interaction=interaction, seed=1)
    moru_like = simulate_scores(n_items=20, effects=effects, interaction=interaction,
                                item_condition_sd=4.0, seed=1)
    ratios = [transfer_ratio(cell_table(scores), "treated", "base", 0.95, []) for scores in (ahb_like, moru_like)]
    assert ratios[0]["covariance"] == pytest.approx(0.0, abs=1e-12)
    assert ratios[1]["covariance"] > 0  # shared item effects move both gains
    for ratio in ratios:
        assert ratio["estimable"] and ratio["fieller"]["status"] == "bounded"
        assert ratio["ratio"] == pytest.approx(ratio["gain_non_english"] / ratio["gain_english"])
        assert ratio["fieller"]["low"] < ratio["ratio"] < ratio["fieller"]["high"]
        # The difference of gains' variance is Var(a) + Var(b) - 2 Cov(a, b).
        assert ratio["difference"]["se"] ** 2 == pytest.approx(
            ratio["se_english"] ** 2 + ratio["se_non_english"] ** 2 - 2 * ratio["covariance"])


# --------------------------------------------------------------------------------------------
# The mixed model.

def test_mixedlm_drops_the_item_language_component_on_ahb_shaped_data():
    scores = simulate_scores(n_items=24, one_language_per_item=True, seed=3)
    mixed = analyse(scores, {**SPEC, "reference_condition": "base", "contrasts": [],
                             "transfer_ratio": None}, "sim")["mixedlm"]
    assert mixed["vc_formula"] == {}
    assert mixed["dropped_components"][0]["component"] == "item_lang"
    assert "single question" in mixed["dropped_components"][0]["reason"]
    assert mixed["re_formula"] == "1" and mixed["groups"] == "base_item"
    assert mixed["reference_condition"] == "base"
    assert "C(condition)[T.treated]" in mixed["params"]
    assert mixed["lr_interaction"]["df"] == 1


def test_mixedlm_with_one_language_group_skips_the_interaction_with_a_reason():
    scores = simulate_scores(n_items=12, languages=("English",), seed=3)
    result = analyse(scores, {**SPEC, "reference_condition": "base", "contrasts": [],
                              "transfer_ratio": None}, "sim")
    mixed = result["mixedlm"]
    assert mixed["formula"] == "score ~ C(condition)"
    assert mixed["lr_interaction"] is None and "single language group" in mixed["lr_interaction_note"]
    assert any("single language group" in note for note in result["warnings"])


def test_mixedlm_records_fit_warnings_instead_of_raising_them():
    # Several seeds with no seed variation at all: the seed component sits on its boundary (0).
    scores = simulate_scores(n_items=12, n_seeds=3, item_seed_sd=0.0, seed=9)
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        result = analyse(scores, {**SPEC, "reference_condition": "base", "contrasts": [],
                                  "transfer_ratio": None}, "sim")
    mixed = result["mixedlm"]
    assert mixed["vc_formula"] == {"item_lang": "0 + C(item_lang)", "seed": "0 + C(seed)"}
    assert set(mixed["variance_components"]) == {"base_item", "item_lang", "seed", "residual"}
    assert any("boundary" in text for text in mixed["warnings"])
    assert not [w for w in escaped if issubclass(w.category, ConvergenceWarning)]
    assert any(note.startswith("mixedlm:") and "warning" in note for note in result["warnings"])


# --------------------------------------------------------------------------------------------
# Judges.

def judge_table() -> pd.DataFrame:
    """Two judges on one dimension, 4 English questions, conditions A, B, C (1 seed, 1 epoch).

    j1  A: 1 1 0 0   B: .5 .5 0 0    C: 0 0 0 0
    j2  A: 1 0 0 0   B: .5 .5 .5 0   C: 0 0 0 0
    (.5 = the judge's mean over two variable assignments.) The overall rows equal the dimension
    rows; the panel is the judges' mean.
    """
    grades = {"j1": {"A": [1, 1, 0, 0], "B": [.5, .5, 0, 0], "C": [0, 0, 0, 0]},
              "j2": {"A": [1, 0, 0, 0], "B": [.5, .5, .5, 0], "C": [0, 0, 0, 0]}}
    rows = []
    for condition in "ABC":
        for index in range(4):
            qid = f"q{index}"
            panel = (grades["j1"][condition][index] + grades["j2"][condition][index]) / 2
            for judge, score in (("j1", grades["j1"][condition][index]),
                                 ("j2", grades["j2"][condition][index]), ("panel", panel)):
                for dimension in ("Moral Consideration", "overall"):
                    rows.append((condition, qid, qid, "English", 0, score, judge, dimension))
    return tidy(rows)


def test_nominal_alpha_by_hand():
    table = reliability_table(judge_table().assign(percent=0.0), ["j1", "j2"])
    counts, tally = grade_counts(table)
    # Usable units (grades only, both judges): A (1,1) (1,0) (0,0) (0,0), B q3 (0,0), C 4 x (0,0).
    # B q0, q1, q2 hold an assignment average (.5) and are left out.
    assert tally == {"n_units": 9, "n_units_averaged": 3, "n_units_single_judge": 0}
    # Values: 18, of which three 1s (n_1 = 3, n_0 = 15); one disagreeing unit (o_01 + o_10 = 2).
    # Nominal alpha = 1 - (n - 1) * 2 / (2 * n_0 * n_1) = 1 - 17 * 2 / (2 * 15 * 3) = 1 - 34/90.
    assert nominal_alpha(counts) == pytest.approx(1 - 34 / 90)


def test_judge_block_reports_alpha_and_sign_agreement():
    result = analyse(judge_table(), {**SPEC, "reference_condition": "C", "transfer_ratio": None,
                                     "contrasts": [["A", "B"], ["A", "C"]]}, "moru")
    judges = result["judges"]
    assert judges["judges"] == ["j1", "j2"] and judges["level"] == "nominal"
    assert judges["alpha"] == pytest.approx(1 - 34 / 90)
    assert judges["alpha_ci_low"] <= judges["alpha"] <= judges["alpha_ci_high"]
    assert judges["n_units_averaged"] == 3
    signs = {(row["condition"], row["minus"]): row for row in judges["sign_agreement"]}
    # A - B: j1 (50 - 25) = +25, j2 (25 - 37.5) = -12.5, panel +6.25: the judges disagree.
    assert signs[("A", "B")]["by_judge"] == pytest.approx({"j1": 25.0, "j2": -12.5})
    assert signs[("A", "B")]["panel_estimate"] == pytest.approx(6.25)
    assert signs[("A", "B")]["same_sign"] is False
    assert signs[("A", "C")]["same_sign"] is True


def test_a_single_judge_gives_no_judge_block():
    result = analyse(tidy(HAND_TABLE), SPEC, "moru")
    assert result["judges"] is None
    assert any(note.startswith("judges:") for note in result["warnings"])


# --------------------------------------------------------------------------------------------
# Dimensions and seeds.

def test_dimension_table_with_benjamini_hochberg():
    scores = simulate_scores(n_items=10, effects={"base": 0.0, "mid": 2.0, "sft": 8.0},
                             dimensions=("Care", "Scope"), seed=6)
    result = analyse(scores, {**SPEC, "reference_condition": "base", "contrasts": [],
                              "transfer_ratio": None}, "sim")
    rows = result["dimensions"]
    assert {(row["condition"], row["dimension"]) for row in rows} == {
        (c, d) for c in ("base", "mid", "sft") for d in ("Care", "Scope")}
    tested = [row for row in rows if row["p"] is not None]
    assert len(tested) == 4 and all(row["condition"] != "base" for row in tested)
    assert [row["p_bh"] for row in tested] == pytest.approx(benjamini_hochberg([row["p"] for row in tested]))
    base_care = next(r for r in rows if r["condition"] == "base" and r["dimension"] == "Care")
    sft_care = next(r for r in rows if r["condition"] == "sft" and r["dimension"] == "Care")
    assert sft_care["diff"] == pytest.approx(sft_care["mean"] - base_care["mean"])  # all questions paired
    assert result["multiplicity"]["dimensions"]["size"] == 4


def test_seeds_are_averaged_for_the_headline_and_reported_apart():
    rows = [("A", "1", "1", "English", 0, 0.2, "panel", "overall", 0),
            ("A", "1", "1", "English", 0, 0.6, "panel", "overall", 1),
            ("A", "2", "2", "English", 0, 0.4, "panel", "overall", 0),
            ("A", "2", "2", "English", 0, 0.8, "panel", "overall", 1)]
    result = analyse(tidy(rows), {**SPEC, "contrasts": [], "transfer_ratio": None}, "moru")
    assert result["seeds"] == {"A": {"0": pytest.approx(30.0), "1": pytest.approx(70.0)}}
    assert result["seed_spread"]["A"]["sd"] == pytest.approx(math.sqrt(800))
    # Headline: question 1 = (20 + 60)/2 = 40, question 2 = 60; mean 50 over 2 questions (not 4 cells).
    assert result["conditions"]["A"]["all"]["mean"] == pytest.approx(50.0)
    assert result["conditions"]["A"]["all"]["n_questions"] == 2


# --------------------------------------------------------------------------------------------
# Input checking and the contract.

@pytest.mark.parametrize("change, message, row", [
    (lambda df: df.drop(columns="base_item"), "missing column(s) base_item", None),
    (lambda df: df.assign(score=[*df["score"][:3], 1.5, *df["score"][4:]]), "outside 0-1", 5),
    (lambda df: df.assign(bench=["ahb", *df["bench"][1:]]), "another benchmark", 2),
    (lambda df: pd.concat([df, df.iloc[[2]]], ignore_index=True), "duplicate row", 11),
    (lambda df: df.assign(epoch=["x", *df["epoch"][1:]]), "epoch is not an integer", 2),
    (lambda df: df.assign(base_item=["9", *df["base_item"][1:]]), "more than one base_item", 2),
])
def test_bad_input_is_an_error_naming_the_row(change, message, row):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        analyse(change(tidy(HAND_TABLE)), SPEC, "moru")
    assert caught.value.row == row


def test_missing_scores_are_counted_not_silently_dropped():
    table = tidy(HAND_TABLE)
    table.loc[0, "score"] = np.nan  # A item1 English epoch 0 had no usable grade
    result = analyse(table, SPEC, "moru")
    assert result["counts"] == {"rows": 9, "rows_without_score": 1}
    assert any("1 of 9 score rows have no score" in note for note in result["warnings"])
    assert result["conditions"]["A"]["english"]["mean"] == pytest.approx((40 + 60) / 2)  # epoch 1 only


def test_the_scores_csv_is_read_with_ids_as_text_and_errors_name_the_file(tmp_path):
    path = tmp_path / "moru.csv"
    table = tidy(HAND_TABLE)
    table["question_id"] = ["NA", "NA", "NA", "2", "2", "2", "NA", "NA", "2"]  # "NA" is an id, not missing
    table.loc[4, "score"] = np.nan
    table.to_csv(path, index=False)
    loaded = read_scores(path)
    assert loaded["question_id"].iloc[0] == "NA" and math.isnan(loaded["score"].iloc[4])
    assert analyse(loaded, SPEC, "moru")["counts"]["rows_without_score"] == 1
    path.write_text(path.read_text().replace("0.6", "abc"))
    with pytest.raises(DataError, match="score is not a number") as caught:
        analyse(read_scores(path), SPEC, "moru")
    assert str(path) in str(caught.value) and caught.value.row == 5


def test_bad_spec_names_the_key():
    with pytest.raises(ConfigError, match="analysis.confidence"):
        resolve_spec({"confidence": 1.5})
    with pytest.raises(ConfigError, match="unknown key"):
        resolve_spec({"contrast": []})


def test_output_follows_the_contract_and_is_strict_json(tiny_config):
    conditions = list(tiny_config["conditions"])
    scores = simulate_scores(n_items=12, effects={name: 2.0 * i for i, name in enumerate(conditions)},
                             n_epochs=2, dimensions=("Care",), seed=2)
    result = analyse(scores, tiny_config["analysis"], "sim")
    assert {"benchmark", "confidence", "n_questions", "n_clusters", "conditions", "contrasts", "mixedlm",
            "transfer_ratio", "dimensions", "judges", "seeds", "warnings"} <= set(result)
    assert set(result["conditions"]) == set(conditions)
    assert set(result["conditions"]["base"]) == {"all", "english", "non_english"}
    assert {"mean", "se", "ci_low", "ci_high", "n_questions", "n_clusters"} <= set(result["conditions"]["base"]["all"])
    assert len(result["contrasts"]) == 3 * len(tiny_config["analysis"]["contrasts"])
    assert {"condition", "minus", "group", "estimate", "se", "df", "ci_low", "ci_high", "p", "p_holm",
            "boot_ci_low", "boot_ci_high", "boot_method", "n_pairs", "n_clusters", "interval", "degenerate",
            "n_seeds", "se_runs", "scope"} == set(result["contrasts"][0])
    assert {"statistic", "df", "p"} <= set(result["mixedlm"]["lr_interaction"])
    assert {"low", "high", "status"} == set(result["transfer_ratio"]["fieller"])
    assert 0 < result["conditions"]["base"]["all"]["mean"] < 100  # percent, not 0-1
    json.dumps(result, allow_nan=False)  # no NaN anywhere: unknowns are null


def test_statistics_script_writes_the_json_and_its_sidecar(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tidy(HAND_TABLE).to_csv("moru.csv", index=False)
    warning = "grpo_x seed 0 (grpo): zero reward spread at every logged step (6): ..."
    Path("summary.json").write_text(json.dumps({"runs": [], "warnings": [warning]}))

    class Named(list):
        """Enough of Snakemake's Namedlist for the script and provenance.record."""

        def __init__(self, **items):  # a named list's items are items of the container too
            super().__init__(item for value in items.values()
                             for item in (value if isinstance(value, list) else [value]))
            self.__dict__.update(items)
            self._items = items

        def items(self):
            return self._items.items()

        def get(self, key, default=None):
            return self._items.get(key, default)

    snakemake = type("Snakemake", (), {})()
    runs = []
    for condition in ("A", "B"):
        runs.append(f"run_{condition}.json")
        Path(runs[-1]).write_text(json.dumps({
            "run": {"bench": "moru", "condition": condition, "seed": 0}, "scorer_version": "current",
            "grades_by_judge": {"lexical": {"n_grades": 10, "n_unparseable": 1}}}))
    snakemake.input = Named(scores="moru.csv", runs=runs, training="summary.json")
    snakemake.output = Named(stats="stats/moru.json")
    snakemake.params = Named(spec=SPEC, bench="moru", conditions=["B", "A"])
    snakemake.wildcards = Named(bench="moru")
    snakemake.rule, snakemake.config = "statistics", {"analysis": SPEC}
    runpy.run_path(str(REPO / "scripts" / "statistics.py"), init_globals={"snakemake": snakemake})
    written = json.loads(Path("stats/moru.json").read_text())
    assert written["conditions"]["A"]["all"]["mean"] == pytest.approx(57.5)
    assert written["training_warnings"] == [warning] and f"training: {warning}" in written["warnings"]
    assert list(written["conditions"]) == ["B", "A"]  # the config's order, not the CSV's
    assert list(written["grading"]["by_condition"]) == ["B", "A"] and written["grading"]["n_unparseable"] == 2
    sidecar = json.loads(Path("stats/moru.json.prov.json").read_text())
    assert sidecar["rule"] == "statistics" and sidecar["inputs"][0]["path"] == "moru.csv"
    assert sidecar["n_questions"] == 4


def test_grading_summary_counts_unparseable_grades_per_condition_and_judge():
    from value_retention.stats import grading_summary

    def run(condition, seed, counts, version="paper_era"):
        return (f"scores/ahb/{condition}/seed{seed}.json",
                {"run": {"bench": "ahb", "condition": condition, "seed": seed}, "scorer_version": version,
                 "grades_by_judge": {judge: {"n_grades": n, "n_unparseable": u} for judge, (n, u) in counts.items()}})

    runs = [run("sft", 0, {"a": (100, 2), "b": (100, 0)}), run("base", 0, {"a": (50, 5)}),
            run("sft", 1, {"a": (100, 3), "b": (100, 1)})]
    grading = grading_summary(runs, conditions=["base", "sft"])
    assert list(grading["by_condition"]) == ["base", "sft"]  # the config's order
    assert grading["by_condition"]["sft"]["judges"]["a"] == {"n_grades": 200, "n_unparseable": 5,
                                                              "unparseable_percent": 2.5}
    assert grading["by_condition"]["sft"]["n_unparseable"] == 6 and grading["n_grades"] == 450
    assert grading["judges"]["a"]["n_unparseable"] == 10
    assert grading["scorer_version"] == "paper_era" and grading["scorer"]["unparseable_rule"] == "scored as I (0)"
    with pytest.raises(DataError, match="one benchmark is graded by one version") as error:
        grading_summary([*runs, run("base", 1, {"a": (1, 0)}, version="current")])
    assert error.value.path == "scores/ahb/base/seed1.json"
