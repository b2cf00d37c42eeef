"""Number macros: valid names, values that match the stats, keys that resolve, collisions caught;
and the paper compiles against generated files."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from value_retention import figures, numbers, pinning, stats_json, tables, training_report
from value_retention.errors import ConfigError, DataError
from value_retention.scores_csv import check as check_scores

from report_fixtures import PAPER, REFERENCES, make_claims, make_scores, make_stats
from test_figures import NamedList, fake_snakemake

MINUS = r"\ensuremath{-}"
REPO = Path(__file__).resolve().parent.parent
NEWCOMMAND = re.compile(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\} % (.*)$")


def build(tmp_path, stats_by_bench, references=REFERENCES, panel=("lexical",)):
    with_paths = {bench: (f"results/stats/{bench}.json", stats) for bench, stats in stats_by_bench.items()}
    out = tmp_path / "numbers.tex"
    macros = numbers.write_numbers(with_paths, out, references, PAPER, list(panel))
    return macros, out.read_text()


def as_float(text: str) -> float:
    return float(text.replace(r"\ensuremath{-}", "-").replace("+", ""))


def test_camel_case_names():
    assert numbers.camel("sft_dolly") == "SftDolly"
    assert numbers.camel("non_english") == "NonEnglish"
    assert numbers.camel("grpo_v2") == "GrpoVTwo"
    assert numbers.camel("AHB-2.2") == "AHBTwoTwo"
    assert numbers.macro_name("ahb", "all", "sft_dolly", "Mean") == "AhbAllSftDollyMean"
    with pytest.raises(ValueError):
        numbers.macro_name("__", "--")


def test_resolve_key_follows_dicts_and_lists():
    data = {"contrasts": [{"p": 0.1}, {"p": 0.2}], "a": {"b": None}}
    assert numbers.resolve_key(data, "contrasts.1.p") == 0.2
    assert numbers.resolve_key(data, "a.b") is None
    with pytest.raises(KeyError):
        numbers.resolve_key(data, "contrasts.2.p")


def test_every_macro_is_valid_and_defined_once_in_the_file(tmp_path):
    macros, text = build(tmp_path, {"ahb": make_stats("ahb", seeds=2, judges=True), "moru": make_stats("moru")})
    defined = [NEWCOMMAND.match(line) for line in text.splitlines() if line.startswith(r"\newcommand")]
    assert all(defined), "every line is one \\newcommand with a provenance comment"
    assert [m.group(1) for m in defined] == list(macros)
    for name, entry in macros.items():
        assert re.fullmatch(r"[A-Za-z]+", name)
        value = entry["value"]
        unescaped = re.sub(r"\\[{}%]", "", value)
        assert unescaped.count("{") == unescaped.count("}"), name
        assert not re.search(r"(?<!\\)%", value), f"{name}: a bare % would comment out the rest"
        for used in entry.get("uses", []):
            assert used in macros, f"{name} uses undefined {used}"
        # the audit command reads a value back as the line's last {...}
        match = re.search(r"\\newcommand\{\\" + name + r"\}\{(.*)\}", text)
        assert match and match.group(1) == value, name
    assert macros["AhbAllSftDollyMean"] == {"value": "44.6", "source": "results/stats/ahb.json",
                                            "key": "conditions.sft_dolly.all.mean"}


def test_values_match_the_stats_their_keys_name(tmp_path):
    stats = {"ahb": make_stats("ahb", seeds=2, judges=True), "moru": make_stats("moru", estimable=False)}
    config = {"references": REFERENCES, "paper": PAPER, "panel": ["lexical"], "benchmarks": {"ahb": {}, "moru": {}}}
    macros, _ = build(tmp_path, stats)
    checked = 0
    for name, entry in macros.items():
        if entry["source"] is None:
            continue
        data = config if entry["source"] == "config" else stats[Path(entry["source"]).stem]
        resolved = numbers.resolve_key(data, entry["key"])  # raises if the key does not resolve
        value = entry["value"]
        if isinstance(resolved, float) and value not in ("n/a", "not estimable"):
            if value == r"\ensuremath{<}0.001":
                assert resolved < 0.001, name
            else:
                decimals = len(value.split(".")[1]) if "." in value else 0
                scale = 100 if name == "ConfidencePercent" else 1
                assert as_float(value) == pytest.approx(resolved * scale, abs=0.51 * 10 ** -decimals), name
            checked += 1
    assert checked > 150
    assert macros["AhbAllSftMagicoderMinusSftDollyPHolm"]["value"] == "0.001"
    assert macros["AhbAllSftMagicoderMinusSftDollyP"]["value"] == r"\ensuremath{<}0.001"
    assert macros["AhbAllSftDollyPublished"] == {"value": "35.7", "source": "config",
                                                 "key": "references.ahb.all.sft_dolly"}
    assert macros["AhbNQuestions"]["value"] == "30"
    assert macros["AhbNSeeds"]["value"] == "2"
    assert macros["AhbJudgeAlpha"]["value"] == "0.71"
    assert macros["JudgePanel"]["value"] == r"\texttt{lexical}"
    assert macros["PaperTitle"]["value"] == r"Helpfulness Hurts (reproduction) \& co"
    assert macros["WorldNote"]["value"].endswith(r"100\% synthetic.")


def test_transfer_ratio_estimable_and_not(tmp_path):
    macros, _ = build(tmp_path, {"ahb": make_stats("ahb"), "moru": make_stats("moru", estimable=False)})
    assert macros["AhbTransferRatio"]["value"] == "4.50"
    assert macros["AhbTransferRatio"]["key"] == "transfer_ratio.ratio"
    assert macros["AhbTransferDifference"] == {"value": "+14.0", "source": "results/stats/ahb.json",
                                               "key": "transfer_ratio.difference.estimate"}
    assert macros["AhbTransferFiellerSet"]["value"] == "[2.10, 11.90]"
    statement = macros["AhbTransferStatement"]["value"]
    assert "a difference of" in statement and "their ratio is" in statement
    # The difference of gains is the statistic either way; the ratio's set is always shown.
    assert macros["MoruTransferFiellerSet"]["value"] == "every ratio"
    statement = macros["MoruTransferStatement"]["value"]
    assert "a difference of" in statement and "not determined" in statement and "their ratio is" not in statement


def test_claim_macros_trace_to_the_claims_file(tmp_path):
    stats = {bench: (f"results/stats/{bench}.json", make_stats(bench)) for bench in ("ahb", "moru")}
    book = numbers.build_macros(stats, REFERENCES, PAPER, ["lexical"],
                                claims=("results/stats/claims.json", make_claims()))
    macros = book.macros
    assert macros["ClaimAhbSftVerdict"] == {"value": "supported", "source": "results/stats/claims.json",
                                            "key": "claims.0.verdict"}
    assert macros["ClaimAhbSftPHolm"]["value"] == "0.003"
    # An equivalence claim quotes TOST's interval.
    assert macros["ClaimMoruNoDifferenceCILow"] == {"value": MINUS + "5.3", "source": "results/stats/claims.json",
                                                    "key": "claims.1.tost.ci_low"}
    assert macros["ClaimMoruNoDifferenceMde"]["value"] == "9.4"
    assert "minimum detectable effect" in macros["ClaimMoruNoDifferenceSentence"]["value"]
    assert "minimum detectable effect" not in macros["ClaimAhbSftSentence"]["value"]
    assert macros["ClaimAhbSftStatement"]["value"] == r"Coding SFT beats helpfulness SFT on AHB \& co"
    assert macros["ClaimsList"]["value"].count(r"\item") == 3
    summary = macros["ClaimsSummary"]["value"]
    assert r"\ClaimsSupported{} supported" in summary and "not tested" not in summary
    assert macros["InferenceScopeStatement"]["value"].startswith("Each condition was trained once")
    assert macros["MoruLangMalaySftDollyMean"]["value"] == "46.1"
    assert macros["AhbSftMagicoderMinusBaseInteractionEstimate"]["value"] == "+13.5"
    assert "1-df term" in macros["AhbInteractionStatement"]["value"]
    for name, entry in macros.items():  # every macro built from others names them, and they exist
        for used in entry.get("uses", []):
            assert used in macros, (name, used)


def test_english_only_benchmark_has_no_interaction_and_no_transfer(tmp_path):
    stats = make_stats("en", non_english=False)
    macros, _ = build(tmp_path, {"en": stats}, references={})
    assert macros["EnNonEnglishBaseMean"] == {"value": "n/a", "source": "results/stats/en.json",
                                              "key": "conditions.base.non_english.mean"}
    assert macros["EnNonEnglishSftMagicoderMinusSftDollyEstimate"]["value"] == "n/a"
    assert macros["EnLrP"]["value"] == "n/a"
    assert "not tested" in macros["EnInteractionStatement"]["value"]
    transfer = macros["EnTransferStatement"]["value"]
    assert "can be estimated" in transfer and "n/a" not in transfer
    assert "One judge" in macros["EnJudgeStatement"]["value"]

    # a stats file that writes the whole empty group as null, or has no transfer block at all
    stats["conditions"]["base"]["non_english"] = None
    stats["transfer_ratio"] = None
    macros, _ = build(tmp_path, {"en": stats}, references={})
    assert macros["EnNonEnglishBaseMean"] == {"value": "n/a", "source": "results/stats/en.json",
                                              "key": "conditions.base.non_english"}
    assert "not computed" in macros["EnTransferStatement"]["value"]


def test_collision_is_an_error(tmp_path):
    stats = make_stats("ahb", conditions=["sft_dolly", "sft-dolly"])
    with pytest.raises(ConfigError, match=r"\\AhbAllSftDollyMean"):
        build(tmp_path, {"ahb": stats})


def test_stats_files_are_read_in_benchmark_order_and_checked(tmp_path):
    ahb, moru = tmp_path / "ahb.json", tmp_path / "moru.json"
    ahb.write_text(json.dumps(make_stats("ahb")))
    moru.write_text(json.dumps({"benchmark": "moru"}))
    assert list(stats_json.read_all([ahb], ["ahb"])) == ["ahb"]
    with pytest.raises(DataError, match="expected 'moru'"):
        stats_json.read_all([ahb], ["moru"])
    with pytest.raises(DataError, match=r"moru\.json.*no 'conditions'"):
        stats_json.read_all([moru], ["moru"])
    with pytest.raises(ConfigError, match="2 benchmarks"):
        stats_json.read_all([ahb], ["ahb", "moru"])


def test_numbers_script_records_macros_in_the_sidecar(tmp_path):
    stats_path = tmp_path / "ahb.json"
    stats_path.write_text(json.dumps(make_stats("ahb")))
    out = tmp_path / "generated" / "numbers.tex"
    claims_path = tmp_path / "claims.json"
    claims_path.write_text(json.dumps(make_claims()))
    snakemake = fake_snakemake("numbers", NamedList(stats=[str(stats_path)], claims=str(claims_path)),
                               NamedList(numbers=str(out)),
                               {"benches": ["ahb"], "references": REFERENCES, "paper": PAPER, "panel": ["lexical"]})

    runpy.run_path(str(REPO / "scripts" / "numbers.py"), init_globals={"snakemake": snakemake})

    sidecar = json.loads(Path(str(out) + ".prov.json").read_text())
    assert sidecar["macros"]["AhbAllBaseMean"] == {"value": "30.0", "source": str(stats_path),
                                                   "key": "conditions.base.all.mean"}
    assert sidecar["macros"]["ClaimAhbSftVerdict"] == {"value": "supported", "source": str(claims_path),
                                                       "key": "claims.0.verdict"}
    assert r"\newcommand{\AhbAllBaseMean}{30.0}" in out.read_text()


def generate_paper_inputs(root: Path, stats_by_bench: dict, seeds: int) -> dict[str, Path]:
    """numbers.tex, the tables and the figures, laid out as the paper rule's TEXINPUTS expects."""
    dirs = {name: root / name for name in ("generated", "tables", "figures")}
    numbers.write_numbers({b: (f"results/stats/{b}.json", s) for b, s in stats_by_bench.items()},
                          dirs["generated"] / "numbers.tex", REFERENCES, PAPER, ["lexical", "judge_2"],
                          claims=("results/stats/claims.json", make_claims()))
    conditions = {"base": {"init": "tiny_llama"}, "sft_dolly": {"from": "base", "stage": "sft", "data": "dolly"}}
    tables.write_tables(stats_by_bench, dirs["tables"], REFERENCES, conditions, claims=make_claims())
    scores = {b: check_scores(make_scores(b, seeds=seeds, non_english=bool(s["conditions"]["base"]["non_english"])))[0]
              for b, s in stats_by_bench.items()}
    figures.make_all(stats_by_bench, scores, dirs["figures"])
    runs = [{"condition": "sft_dolly", "seed": 0, "stage": "sft", "warnings": [],
             "history": [{"step": 1, "loss": 3.0, "grad_norm": 1.0}, {"step": 2, "loss": 2.0, "grad_norm": 0.5}]}]
    training_report.plot_training_curves({"runs": runs, "warnings": []}, dirs["figures"] / "training_curves")
    sources = [pinning.Source("models", "llama", "revision", "org/llama_&_co", "main", "0" * 40),
               pinning.Source("datasets", "dolly", "revision", "data/dolly.jsonl", None, None, "a local file")]
    (dirs["tables"] / "table_sources.tex").write_text(pinning.sources_table(sources), encoding="utf-8")
    return dirs


def test_paper_compiles_against_generated_files(tmp_path):
    assert shutil.which("latexmk"), "latexmk is not installed: `make setup` installs it (make test does)"
    # an English-only benchmark and a condition name with digits, to exercise the odd cases
    conditions = ["base", "midtrained", "sft_dolly", "sft_magicoder", "grpo_v2"]
    stats = {"ahb": make_stats("ahb", conditions=conditions, seeds=2, judges=True),
             "en_only": make_stats("en_only", conditions=conditions, non_english=False)}
    stats["ahb"]["training_warnings"] = ["grpo_v2 seed 0 (grpo): zero reward spread at every logged step"]
    dirs = generate_paper_inputs(tmp_path, stats, seeds=2)
    env = {**os.environ, "TEXINPUTS": f"{dirs['generated']}:{dirs['tables']}:{dirs['figures']}:"}

    result = subprocess.run(
        ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-outdir={tmp_path / 'paper'}",
         str(REPO / "paper" / "main.tex")],
        env=env, capture_output=True, text=True, timeout=180)

    log = (tmp_path / "paper" / "main.log").read_text(errors="replace")
    assert result.returncode == 0, log[-3000:]
    pdf = tmp_path / "paper" / "main.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 50_000
    assert "undefined" not in log.lower(), "an undefined reference or macro"
    assert "Overfull \\hbox" not in log, "something is wider than the text"


def test_unparseable_grades_and_the_scorer_version_are_macros(tmp_path):
    macros, _ = build(tmp_path, {"ahb": make_stats("ahb", judges=True)}, references={})
    assert macros["AhbScorerVersion"]["value"] == r"\texttt{paper\_era}"
    assert macros["AhbSftDollyGptJudgeNUnparseable"] == {
        "value": "3", "source": "results/stats/ahb.json",
        "key": "grading.by_condition.sft_dolly.judges.gpt_judge.n_unparseable"}
    assert macros["AhbSftDollyUnparseablePercent"]["value"] == "0.62"
    statement = macros["GradingMethods"]["value"]
    assert r"\AhbGradingStatement{}" == statement
    assert "scorer version" in macros["AhbGradingStatement"]["value"]
