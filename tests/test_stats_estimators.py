"""The new estimators against independent computations: libraries and hand formulas.

Each estimator of value_retention.stats is checked against a computation that does not share its
code: statsmodels' OLS on resampled data for the bootstrap-t's per-resample standard errors, a
two-way ANOVA (statsmodels ``anova_lm``) for the run component, statsmodels' ``ttost_paired`` for
TOST, the ``krippendorff`` package for the cluster-bootstrap alpha, the noncentral t for the
minimum detectable effect, and ``MixedLMResults.t_test`` for the 1-df interaction terms.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from krippendorff import alpha as krippendorff_alpha
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import ttost_paired

from value_retention.scores_csv import check as check_scores
from value_retention.stats import analyse
from value_retention.stats.agreement import alpha_from_totals, binary_alpha_totals, jackknife_se
from value_retention.stats.bounded import korn_graubard, score_mean
from value_retention.stats.claims import minimum_detectable_effect, tost
from value_retention.stats.cluster import (
    bootstrap_t_interval,
    bootstrap_t_statistics,
    cluster_mean,
    cluster_weights,
    resampled_mean_and_variance,
)
from value_retention.stats.mixed import fit_recorded, interaction_term, model_frame
from value_retention.stats.ratio import transfer_ratio
from value_retention.stats.runs import SeedSpread, seed_spread, with_runs
from value_retention.stats.simulate import simulate_scores
from value_retention.stats.tidy import epoch_means, overall_rows


def test_korn_graubard_is_clopper_pearson_at_the_effective_size():
    # mean 10%, Var 4 (percent^2) on 29 df: n = 0.1 * 0.9 / 0.0004 * (z / t_29)^2.
    n = 0.09 / 0.0004 * (scipy_stats.norm.ppf(0.975) / scipy_stats.t.ppf(0.975, 29)) ** 2
    low, high, degenerate = korn_graubard(10.0, 4.0, 29, 30, 0.95)
    assert (low / 100, high / 100) == pytest.approx(proportion_confint(0.1 * n, n, alpha=0.05, method="beta"))
    assert degenerate is None and 0 < low < 10 < high
    # asymmetric near the floor: more room above than below
    assert high - 10 > 10 - low


def test_all_zero_cells_get_a_one_sided_bound_and_say_so():
    estimate = score_mean(np.zeros(20), np.arange(20), 0.95)
    assert estimate.degenerate == "all 0" and estimate.ci_low == 0
    # P(all 20 items score 0) <= (1 - p)^20 = 0.025 at the bound
    assert (1 - estimate.ci_high / 100) ** 20 == pytest.approx(0.025)
    assert "every question scored 0" in estimate.note
    full = score_mean(np.full(10, 100.0), np.arange(10), 0.95)
    assert full.degenerate == "all 100" and full.ci_high == 100 and (full.ci_low / 100) ** 10 == pytest.approx(0.025)
    flat = score_mean(np.full(5, 40.0), np.arange(5), 0.95)
    assert flat.degenerate == "all equal" and flat.ci_low is None


def test_resampled_standard_errors_equal_statsmodels_on_the_resampled_data():
    rng = np.random.default_rng(3)
    values = rng.normal(10, 4, 24)
    clusters = np.repeat(np.arange(8), 3)
    codes, weights = cluster_weights(clusters, 5, rng)
    means, variances = resampled_mean_and_variance(values, codes, weights)
    for mean, variance, counts in zip(means, variances, weights):
        # the resample itself: each drawn cluster repeated, the copies counted as distinct clusters
        rows = [(value, f"{cluster}-{copy}") for cluster, count in enumerate(counts) for copy in range(count)
                for value in values[codes == cluster]]
        y = np.array([value for value, _ in rows])
        groups = pd.factorize(np.array([label for _, label in rows]))[0]
        fit = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster", cov_kwds={"groups": groups})
        assert mean == pytest.approx(y.mean())
        assert variance == pytest.approx(fit.bse[0] ** 2)


def test_bootstrap_t_statistics_studentize_each_resample_by_its_own_se():
    values = np.random.default_rng(4).normal(10, 4, 24)
    clusters = np.repeat(np.arange(8), 3)
    mean, se, t_stats = bootstrap_t_statistics(values, clusters, 6, np.random.default_rng(9))
    full = sm.OLS(values, np.ones(24)).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    assert mean == pytest.approx(values.mean()) and se == pytest.approx(full.bse[0])
    # the same resamples, drawn again from the same seed, each studentized by its own CRV1 SE
    # (resampled_mean_and_variance, which the test above checks against statsmodels per resample)
    codes, weights = cluster_weights(clusters, 6, np.random.default_rng(9))
    means, variances = resampled_mean_and_variance(values, codes, weights)
    assert t_stats == pytest.approx((means - mean) / np.sqrt(variances))
    # the symmetric interval the contrasts print takes the |t| quantile of the same statistics
    low, high = bootstrap_t_interval(values, clusters, 0.8, 6, np.random.default_rng(9))
    q = np.quantile(np.abs(t_stats), 0.8, method="inverted_cdf")
    assert (low, high) == pytest.approx((mean - q * se, mean + q * se))
    assert bootstrap_t_statistics(values[:3], np.zeros(3), 6, np.random.default_rng(1)) is None  # one base item


def test_the_run_component_is_the_two_way_anova_estimate():
    """One question per item, 3 seeds: sigma^2_run = (MS_seed - MS_residual) / n, from anova_lm."""
    rng = np.random.default_rng(5)
    n, seeds = 40, 3
    values = rng.normal(0, 3, (n, 1)) + rng.normal(0, 2, (1, seeds)) + rng.normal(0, 1, (n, seeds))
    frame = pd.DataFrame({"y": values.ravel(), "q": np.repeat(np.arange(n), seeds), "s": np.tile(np.arange(seeds), n)})
    table = sm.stats.anova_lm(smf.ols("y ~ C(q) + C(s)", frame).fit())
    expected = (table.loc["C(s)", "mean_sq"] - table.loc["Residual", "mean_sq"]) / n
    spread = seed_spread(values, np.arange(n))
    assert spread.run == pytest.approx(expected / seeds) and spread.df == 2
    assert spread.noise == pytest.approx(table.loc["Residual", "mean_sq"] / n / seeds)


def test_several_seeds_add_the_run_component_to_a_contrast():
    scores = simulate_scores(n_items=30, effects={"base": 0.0, "treated": 5.0}, n_seeds=3, run_sd=3.0,
                             item_sd=5.0, noise_sd=3.0, seed=8)
    result = analyse(scores, {"contrasts": [["treated", "base"]], "reference_condition": "base"}, "sim")
    row = next(r for r in result["contrasts"] if r["group"] == "all")
    one_seed = analyse(scores[scores["seed"] == 0], {"contrasts": [["treated", "base"]]}, "sim")
    single = next(r for r in one_seed["contrasts"] if r["group"] == "all")
    assert row["scope"] == "recipe" and row["n_seeds"] == 3 and row["se_runs"] > 0
    assert single["scope"] == "checkpoints" and single["se_runs"] is None and single["df"] == 29
    assert row["df"] < 29  # Satterthwaite: the run part has S - 1 = 2 df
    assert result["inference_scope"]["scope"] == "recipe"
    assert "checkpoints" in one_seed["inference_scope"]["statement"]


def test_tost_is_statsmodels_ttost_paired_with_one_question_per_item():
    rng = np.random.default_rng(9)
    a, b = rng.normal(50, 10, 40), rng.normal(51, 10, 40)
    estimate = cluster_mean(a - b, np.arange(40), 0.95)
    ours = tost(estimate.estimate, estimate.se, estimate.df, 5.0, 0.95)
    p, lower, upper = ttost_paired(a, b, -5.0, 5.0)
    assert ours["p"] == pytest.approx(p)
    assert ours["p_lower"] == pytest.approx(lower[1]) and ours["p_upper"] == pytest.approx(upper[1])
    # the (1 - 2 alpha) interval lies inside the margin exactly when TOST rejects at alpha
    assert (ours["p"] < 0.05) == (-5 < ours["ci_low"] and ours["ci_high"] < 5)


def test_the_minimum_detectable_effect_has_the_stated_power():
    se, df, level = 2.0, 29, 0.05 / 8
    mde = minimum_detectable_effect(se, df, level, 0.8, "difference")
    t_crit = scipy_stats.t.ppf(1 - level / 2, df)
    delta = mde / se  # noncentrality of the t statistic at the MDE
    power = scipy_stats.nct.sf(t_crit, df, delta) + scipy_stats.nct.cdf(-t_crit, df, delta)
    assert power == pytest.approx(0.8, abs=1e-4)


def test_alpha_from_item_totals_equals_the_krippendorff_package():
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 3, (60, 1))
    counts = np.column_stack([counts[:, 0], 2 - counts[:, 0]])  # two judges per unit
    expected = krippendorff_alpha(value_counts=counts, level_of_measurement="nominal")
    assert alpha_from_totals(binary_alpha_totals(counts).sum(axis=0)) == pytest.approx(expected)
    three = np.column_stack([counts[:, 0] + 1, counts[:, 1]])  # units graded by three judges
    assert alpha_from_totals(binary_alpha_totals(three).sum(axis=0)) == pytest.approx(
        krippendorff_alpha(value_counts=three, level_of_measurement="nominal"))


def test_difference_of_gains_is_the_interaction_coefficient_of_an_ols_on_the_paired_differences():
    scores = simulate_scores(n_items=25, effects={"base": 0.0, "treated": 6.0}, interaction={"treated": 4.0},
                             item_condition_sd=3.0, seed=12)
    cells = epoch_means(overall_rows(check_scores(scores)[0]))
    block = transfer_ratio(cells, "treated", "base", 0.95, [])
    wide = cells.pivot_table(index=["question_id", "language", "base_item", "language_group"], columns="condition",
                             values="percent").reset_index()
    wide["diff"] = wide["treated"] - wide["base"]
    fit = smf.ols("diff ~ C(language_group)", wide).fit(cov_type="cluster",
                                                        cov_kwds={"groups": pd.factorize(wide["base_item"])[0]})
    term = "C(language_group)[T.non_english]"
    assert block["difference"]["estimate"] == pytest.approx(fit.params[term])
    assert block["difference"]["se"] == pytest.approx(fit.bse[term])


def test_interaction_term_equals_statsmodels_t_test_on_the_same_fit():
    scores = simulate_scores(n_items=20, effects={"base": 0.0, "mid": 2.0, "sft": 6.0}, interaction={"sft": 5.0},
                             seed=13)
    cells = epoch_means(overall_rows(check_scores(scores)[0]))
    data = model_frame(cells, "base")
    formula = "score ~ C(condition) * C(language_group)"
    fit, _ = fit_recorded(formula, data, {"item_lang": "0 + C(item_lang)"}, reml=True, label="test")
    term = interaction_term(fit, "sft", "mid", "base", 0.95)
    model = smf.mixedlm(formula, data, groups="base_item", re_formula="1",
                        vc_formula={"item_lang": "0 + C(item_lang)"}).fit(reml=True, method=["powell", "lbfgs"])
    names = list(model.fe_params.index)
    contrast = np.zeros(len(names))  # over the fixed effects only (k_fe columns)
    contrast[names.index("C(condition)[T.sft]:C(language_group)[T.non_english]")] = 1
    contrast[names.index("C(condition)[T.mid]:C(language_group)[T.non_english]")] = -1
    check = model.t_test(contrast[None, :])
    assert term["estimate"] == pytest.approx(float(check.effect[0]), rel=1e-6)
    assert term["se"] == pytest.approx(float(check.sd[0, 0]), rel=1e-6)
    assert term["p"] == pytest.approx(float(check.pvalue), rel=1e-5, abs=1e-12)
    assert math.isfinite(term["z"])


def test_the_jackknife_se_of_alpha_recomputes_alpha_without_each_item():
    rng = np.random.default_rng(6)
    ones = rng.integers(0, 3, 90)
    counts = np.column_stack([2 - ones, ones])
    items = np.repeat(np.arange(30), 3)  # 30 items of 3 graded cells each
    per_item = np.zeros((30, 3))
    np.add.at(per_item, items, binary_alpha_totals(counts))
    leave_out = np.array([krippendorff_alpha(value_counts=counts[items != g], level_of_measurement="nominal")
                          for g in range(30)])
    expected = math.sqrt(29 / 30 * ((leave_out - leave_out.mean()) ** 2).sum())
    assert jackknife_se(per_item.sum(axis=0)[None, :], per_item, np.ones((1, 30)))[0] == pytest.approx(expected)


def test_with_runs_adds_the_seed_spread_to_the_questions_part_and_bounds_the_seed_df():
    """V = (V_CR - N/S) + s^2/S; the seed part enters Satterthwaite's df at its 65% upper bound
    s^2 (S-1) / chi^2_{0.35, S-1}, with chi^2_{0.35, 2} = -2 ln 0.65 (the chi^2_2 quantile in closed form)."""
    spread = SeedSpread(seed_means=2.0, noise=0.5, df=2)
    variance, df = with_runs(3.0, 40, spread)
    bound = 2.0 * 2 / (-2 * math.log(0.65))
    assert variance == pytest.approx(2.5 + 2.0)
    assert df == pytest.approx((2.5 + bound) ** 2 / (2.5 ** 2 / 40 + bound ** 2 / 2))
    assert 4.6 < df < 4.7  # plain Satterthwaite with the plug-in 2.0 would give 9.4
    variance, df = with_runs(0.2, 40, spread)  # the questions' part would be negative: held at 0
    assert variance == pytest.approx(2.0) and df == pytest.approx(2.0)
    with pytest.raises(ValueError, match="nan"):
        with_runs(float("nan"), 40, spread)


def test_two_seeds_are_called_out_as_one_degree_of_freedom():
    scores = simulate_scores(n_items=30, effects={"base": 0.0, "treated": 5.0}, n_seeds=2, run_sd=3.0,
                             item_sd=5.0, noise_sd=3.0, seed=8)
    scope = analyse(scores, {"contrasts": [["treated", "base"]]}, "sim")["inference_scope"]
    assert scope["scope"] == "recipe" and "one degree of freedom" in scope["statement"]
    three = simulate_scores(n_items=30, effects={"base": 0.0, "treated": 5.0}, n_seeds=3, run_sd=3.0,
                            item_sd=5.0, noise_sd=3.0, seed=8)
    assert "degree of freedom" not in analyse(three, {"contrasts": [["treated", "base"]]}, "sim")["inference_scope"][
        "statement"]
