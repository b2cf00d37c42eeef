"""Simulation checks: data drawn with known effects, item random effects and clustering.

MORU's shape throughout (every base item asked in English, Malay and Hindi), so questions of one
item are correlated and the clustering matters. Fixed seeds: every number here is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from value_retention.stats import analyse, cluster_mean
from value_retention.stats.simulate import simulate_scores, truth_contrast

LANGUAGES = ("English", "Malay", "Hindi")
NON_ENGLISH_SHARE = 2 / 3


def spec(contrasts, transfer_ratio=None, reference="base"):
    return {"confidence": 0.95, "bootstrap_samples": 400, "bootstrap_seed": 1,
            "reference_condition": reference, "contrasts": contrasts, "transfer_ratio": transfer_ratio}


def test_contrasts_and_transfer_ratio_recover_the_truth():
    effects = {"base": 0.0, "midtrained": 4.0, "sft": 12.0}
    interaction = {"sft": 6.0}  # the sft gain is 12 points on English items, 18 on the others
    scores = simulate_scores(n_items=60, languages=LANGUAGES, effects=effects, interaction=interaction,
                             baseline=45.0, item_sd=6.0, question_sd=2.0, noise_sd=4.0,
                             item_condition_sd=3.0, n_seeds=2, n_epochs=2, seed=21)
    result = analyse(scores, spec([["sft", "midtrained"], ["midtrained", "base"]], ["sft", "base"]), "sim")
    for row in result["contrasts"]:
        share = {"all": NON_ENGLISH_SHARE, "english": 0.0, "non_english": 1.0}[row["group"]]
        truth = truth_contrast(effects, interaction, row["condition"], row["minus"], share)
        assert abs(row["estimate"] - truth) < 3 * row["se"], row
        assert abs(row["estimate"] - truth) < 2.0, row  # within 2 percentage points
        assert row["n_pairs"] == 60 * (3 if row["group"] == "all" else 2 if row["group"] == "non_english" else 1)
        # Two seeds: the run component joins the variance, on Satterthwaite df between S - 1 and G - 1.
        assert row["n_clusters"] == 60 and 1 <= row["df"] <= 59
        assert row["scope"] == "recipe" and row["n_seeds"] == 2
    ratio = result["transfer_ratio"]
    assert ratio["estimable"]
    assert ratio["fieller"]["low"] < 18 / 12 < ratio["fieller"]["high"]
    assert ratio["difference"]["ci_low"] < 6.0 < ratio["difference"]["ci_high"]
    assert ratio["ratio"] == pytest.approx(1.5, abs=0.25)


def test_cluster_robust_intervals_keep_their_coverage_where_naive_ones_do_not():
    """Paired differences d = 5 + w_item + e: 6 base items x 3 languages, the item term (SD 6)
    dominating the per-question noise (SD 2.8), so an item's three differences are strongly
    correlated (intra-item correlation 36 / (36 + 8) = 0.82).

    Over 800 draws the 95% cluster-robust t interval (CRV1, G - 1 = 5 df) must cover the truth at
    0.95 +- 0.03 (the binomial SD of the rate is 0.008). Two broken methods fail the same test,
    which is the point of it (measured at this seed):
    - ignoring the clustering (each question its own cluster, 17 df) covers about 0.76: its SE is
      too small by about sqrt(1 + 2 x 0.82) = 1.6;
    - the right SE with a normal instead of a t(G - 1) critical value covers about 0.90.
    """
    rng = np.random.default_rng(2024)
    n_draws, n_items, n_languages, effect = 800, 6, 3, 5.0
    differences = (effect + rng.normal(0, 6.0, (n_draws, n_items, 1))
                   + rng.normal(0, 2.0 * np.sqrt(2), (n_draws, n_items, n_languages)))
    items = np.repeat(np.arange(n_items), n_languages)
    questions = np.arange(n_items * n_languages)
    z = scipy_stats.norm.ppf(0.975)
    covered = {"cluster": 0, "naive": 0, "normal_df": 0}
    for draw in differences.reshape(n_draws, -1):
        robust = cluster_mean(draw, items, 0.95)
        naive = cluster_mean(draw, questions, 0.95)
        covered["cluster"] += robust.ci_low <= effect <= robust.ci_high
        covered["naive"] += naive.ci_low <= effect <= naive.ci_high
        covered["normal_df"] += abs(robust.estimate - effect) <= z * robust.se
    rate = {method: count / n_draws for method, count in covered.items()}
    assert abs(rate["cluster"] - 0.95) <= 0.03, rate
    assert abs(rate["naive"] - 0.95) > 0.03, rate       # fails the same test
    assert abs(rate["normal_df"] - 0.95) > 0.03, rate   # fails the same test


def test_mixedlm_recovers_a_known_interaction_and_the_lr_test_rejects_it():
    scores = simulate_scores(n_items=40, languages=LANGUAGES, effects={"base": 0.0, "treated": 5.0},
                             interaction={"treated": 8.0}, item_sd=6.0, question_sd=3.0, noise_sd=4.0,
                             n_seeds=2, item_seed_sd=2.0, seed=5)
    mixed = analyse(scores, spec([]), "sim")["mixedlm"]
    term = "C(condition)[T.treated]:C(language_group)[T.non_english]"
    assert mixed["converged"]
    assert abs(mixed["params"][term] - 8.0) < 3 * mixed["bse"][term]
    assert abs(mixed["params"]["C(condition)[T.treated]"] - 5.0) < 3 * mixed["bse"]["C(condition)[T.treated]"]
    assert mixed["lr_interaction"]["df"] == 1 and mixed["lr_interaction"]["p"] < 1e-6
    # Variance components, percent^2, against the truth: base item 6^2 = 36, question 3^2 = 9,
    # item x seed 2^2 = 4, residual 4^2 = 16 (one epoch per cell). Loose bounds: 40 items.
    components = mixed["variance_components"]
    assert 15 < components["base_item"] < 80
    assert 4 < components["item_lang"] < 16
    assert 1 < components["seed"] < 9
    assert 10 < components["residual"] < 25


def test_lr_test_does_not_reject_without_an_interaction():
    scores = simulate_scores(n_items=40, languages=LANGUAGES, effects={"base": 0.0, "treated": 5.0},
                             item_sd=6.0, question_sd=3.0, noise_sd=4.0, seed=6)
    mixed = analyse(scores, spec([]), "sim")["mixedlm"]
    assert mixed["lr_interaction"]["p"] > 0.05
    term = "C(condition)[T.treated]:C(language_group)[T.non_english]"
    assert abs(mixed["params"][term]) < 3 * mixed["bse"][term]
