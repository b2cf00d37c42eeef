"""Claims as data: their validation, the verdict rules, Holm within the claims, the paper's method."""

from __future__ import annotations

import copy
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from value_retention.config import check_config, validate_schema
from value_retention.errors import ConfigError, DataError
from value_retention.stats import analyse, holm
from value_retention.stats.claims import confirm, verdict
from value_retention.stats.simulate import simulate_scores

from report_fixtures import CLAIMS_SPEC, make_stats
from test_figures import NamedList, fake_snakemake

REPO = Path(__file__).resolve().parent.parent
POWER = 0.8  # config/schema.yaml: analysis.power
CONDITIONS = {"base": 0.0, "midtrained": 8.0, "sft_dolly": -6.0, "sft_magicoder": 4.0}
CLAIMS = {
    "coding_beats_helpfulness": {"statement": "coding > helpfulness", "benchmark": "sim", "test": "difference",
                                 "compare": ["sft_magicoder", "sft_dolly"], "direction": "greater",
                                 "published": {"condition": 65.2, "minus": 35.7}},
    "helpfulness_above_midtrained": {"benchmark": "sim", "test": "difference", "compare": ["sft_dolly", "midtrained"],
                                     "direction": "greater"},   # false by construction: it is 14 points below
    "no_difference": {"benchmark": "sim", "test": "equivalence", "compare": ["base", "base_copy"], "margin": 5.0},
    "transfer": {"benchmark": "sim", "test": "transfer", "compare": ["sft_magicoder", "base"], "direction": "greater",
                 "published": {"ratio": 4.5}},
}


def sim_stats(**overrides):
    effects = {**CONDITIONS, "base_copy": 0.0}
    scores = simulate_scores(n_items=40, effects=effects, interaction={"sft_magicoder": 6.0}, item_condition_sd=2.0,
                             noise_sd=3.0, seed=21, **overrides)
    spec = {"contrasts": [], "reference_condition": "base", "claims": CLAIMS, "bootstrap_samples": 100}
    return analyse(scores, spec, "sim")


def test_claims_get_tests_verdicts_and_holm_within_the_claims_only():
    stats = sim_stats()
    assert [row["name"] for row in stats["claims"]] == list(CLAIMS)
    result = confirm({"sim": stats}, CLAIMS, 0.95, POWER)
    rows = {row["name"]: row for row in result["claims"]}
    assert result["family"]["size"] == 4 and result["family"]["members"] == list(CLAIMS)
    primary = [rows[name]["tost"]["p"] if rows[name]["test"] == "equivalence" else rows[name]["p"] for name in CLAIMS]
    assert [rows[name]["p_holm"] for name in CLAIMS] == pytest.approx(holm(primary))
    assert rows["coding_beats_helpfulness"]["verdict"] == "supported"
    assert rows["helpfulness_above_midtrained"]["verdict"] == "contradicted"
    assert rows["no_difference"]["verdict"] == "supported"          # TOST within +-5 points
    assert rows["transfer"]["verdict"] == "supported"               # 6 points more off English
    transfer = rows["transfer"]
    assert transfer["estimate"] == pytest.approx(transfer["transfer"]["gain_non_english"]
                                                 - transfer["transfer"]["gain_english"])
    assert transfer["interaction"]["condition"] == "sft_magicoder"  # the mixed model's 1-df term beside it
    assert rows["coding_beats_helpfulness"]["published"] == {"condition": 65.2, "minus": 35.7}
    assert result["counts"] == {"supported": 3, "contradicted": 1, "inconclusive": 0, "not tested": 0}
    assert all(row["mde"] > 0 for row in rows.values())
    json.dumps(result, allow_nan=False)


def test_an_underpowered_claim_is_inconclusive_with_its_mde():
    row = {"test": "difference", "direction": "greater", "estimate": 2.0, "margin": None}
    assert verdict(row, 0.2, 0.05, 4) == ("inconclusive", "Holm-adjusted p >= 0.05")
    row = {"test": "equivalence", "direction": None, "estimate": 7.0, "margin": 5.0,
           "tost": {"p": 0.6, "p_beyond": 0.02}}
    # beyond the margin, but 4 x 0.02 = 0.08 (Bonferroni over the family) is not below 0.05
    assert verdict(row, 0.6, 0.05, 4)[0] == "inconclusive"
    assert verdict(row, 0.6, 0.05, 2)[0] == "contradicted"
    assert verdict({"test": "difference", "estimate": None, "note": "no scores"}, None, 0.05, 1) == (
        "not tested", "no scores")


def test_the_paper_method_is_an_uncorrected_welch_test_of_the_means():
    stats = sim_stats()
    row = next(r for r in stats["claims"] if r["name"] == "coding_beats_helpfulness")
    method = row["paper_method"]
    assert method["t_test"] == "welch" and "Welch" in method["description"]
    # by hand: Welch's t on the per-question scores of the two conditions
    scores = simulate_scores(n_items=40, effects={**CONDITIONS, "base_copy": 0.0}, interaction={"sft_magicoder": 6.0},
                             item_condition_sd=2.0, noise_sd=3.0, seed=21)
    a = scores[scores["condition"] == "sft_magicoder"].groupby(["question_id", "language"])["score"].mean() * 100
    b = scores[scores["condition"] == "sft_dolly"].groupby(["question_id", "language"])["score"].mean() * 100
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    assert method["estimate"] == pytest.approx(a.mean() - b.mean())
    assert method["p"] == pytest.approx(2 * scipy_stats.t.sf(abs(t), df))
    assert method["df"] == pytest.approx(df)
    result = confirm({"sim": stats}, CLAIMS, 0.95, POWER)
    equivalence = next(r for r in result["claims"] if r["name"] == "no_difference")
    # the paper's reading of a non-significant difference: "no difference"
    assert equivalence["paper_method"]["verdict"] == "supported"


def test_several_seeds_make_the_claims_describe_the_recipe():
    stats = sim_stats(n_seeds=3, run_sd=1.0)
    row = next(r for r in stats["claims"] if r["name"] == "coding_beats_helpfulness")
    assert row["scope"] == "recipe" and row["n_seeds"] == 3
    assert confirm({"sim": stats}, CLAIMS, 0.95, POWER)["scope"] == "recipe"


def test_confirm_names_what_is_missing():
    stats = sim_stats()
    with pytest.raises(DataError, match="benchmark 'other'"):
        confirm({"sim": stats}, {**CLAIMS, "x": {**CLAIMS["transfer"], "benchmark": "other"}}, 0.95, POWER)
    with pytest.raises(DataError, match="no test of claim 'y'"):
        confirm({"sim": stats}, {**CLAIMS, "y": CLAIMS["transfer"]}, 0.95, POWER)


@pytest.mark.parametrize("change, key, message", [
    (lambda c: c.update(benchmark="mmlu"), "analysis.claims.ahb_sft_coding_beats_helpfulness.benchmark",
     "benchmark 'mmlu' is not declared"),
    (lambda c: c.update(compare=["sft_magicoder", "sft_alpaca"]),
     "analysis.claims.ahb_sft_coding_beats_helpfulness.compare", "condition 'sft_alpaca' is not declared"),
    (lambda c: c.update(group="spanish"), "analysis.claims.ahb_sft_coding_beats_helpfulness", "spanish"),
    (lambda c: c.update(test="equivalence"), "analysis.claims.ahb_sft_coding_beats_helpfulness.margin",
     "needs a positive margin"),
    (lambda c: c.update(margin=3.0), "analysis.claims.ahb_sft_coding_beats_helpfulness.margin",
     "only an equivalence claim"),
    (lambda c: c.pop("direction"), "analysis.claims.ahb_sft_coding_beats_helpfulness.direction", "direction"),
])
def test_a_bad_claim_is_a_config_error_naming_its_key(tiny_config, change, key, message):
    config = copy.deepcopy(tiny_config)
    change(config["analysis"]["claims"]["ahb_sft_coding_beats_helpfulness"])
    with pytest.raises(ConfigError) as error:
        validate_schema(config)
        check_config(config)
    assert key in str(error.value) and message in str(error.value)


def test_a_transfer_claim_uses_both_language_groups(tiny_config):
    config = copy.deepcopy(tiny_config)
    config["analysis"]["claims"]["ahb_transfer_over_base"]["group"] = "english"
    with pytest.raises(ConfigError, match=r"analysis\.claims\.ahb_transfer_over_base\.group.*'all'"):
        check_config(config)


def test_adding_a_claim_is_a_config_change(tiny_config):
    config = copy.deepcopy(tiny_config)
    config["analysis"]["claims"]["moru_grpo"] = {"benchmark": "moru", "test": "difference",
                                                 "compare": ["grpo_magicoder", "grpo_rlhflow"], "direction": "greater"}
    validate_schema(config)
    check_config(config)


def test_claims_script_writes_the_claims_file(tmp_path):
    ahb, moru = make_stats("ahb"), make_stats("moru")
    ahb["claims"] = [{"name": "ahb_sft", "benchmark": "ahb", "group": "all", "test": "difference",
                      "condition": "sft_magicoder", "minus": "sft_dolly", "direction": "greater", "margin": None,
                      "estimate": 7.3, "se": 2.0, "df": 29.0, "ci_low": 3.2, "ci_high": 11.4, "p": 0.001,
                      "scope": "checkpoints", "paper_method": None},
                     {"name": "ahb_transfer", "benchmark": "ahb", "group": "all", "test": "transfer",
                      "condition": "sft_magicoder", "minus": "base", "direction": "greater", "margin": None,
                      "estimate": None, "se": None, "df": None, "ci_low": None, "ci_high": None, "p": None,
                      "note": "no scores", "paper_method": None}]
    moru["claims"] = [{"name": "moru_no_difference", "benchmark": "moru", "group": "all", "test": "equivalence",
                       "condition": "sft_magicoder", "minus": "sft_dolly", "direction": None, "margin": 5.0,
                       "estimate": -1.1, "se": 1.0, "df": 66.0, "ci_low": -3.1, "ci_high": 0.9, "p": 0.3,
                       "tost": {"p": 0.0003, "p_beyond": 1.0}, "scope": "checkpoints", "paper_method": None}]
    paths = []
    for stats in (ahb, moru):
        paths.append(tmp_path / f"{stats['benchmark']}.json")
        paths[-1].write_text(json.dumps(stats))
    out = tmp_path / "claims.json"
    snakemake = fake_snakemake("claims", NamedList(stats=[str(p) for p in paths]), NamedList(claims=str(out)),
                               {"benches": ["ahb", "moru"], "claims": CLAIMS_SPEC, "confidence": 0.95, "power": POWER})
    runpy.run_path(str(REPO / "scripts" / "claims.py"), init_globals={"snakemake": snakemake})
    result = json.loads(out.read_text())
    verdicts = {row["name"]: row["verdict"] for row in result["claims"]}
    assert verdicts == {"ahb_sft": "supported", "moru_no_difference": "supported", "ahb_transfer": "not tested"}
    assert result["family"]["size"] == 2  # an untested claim stays out of the family
    assert json.loads((tmp_path / "claims.json.prov.json").read_text())["rule"] == "claims"
