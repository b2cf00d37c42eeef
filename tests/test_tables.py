"""LaTeX tables: booktabs structure, escaped names, number formats, "--" for what is missing.

Compile-free checks; tests/test_numbers.py compiles the paper with every table in it."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import pytest

from value_retention import latex, tables
from value_retention.errors import ConfigError, DataError
from value_retention.outputs import table_files

from report_fixtures import CONDITIONS, REFERENCES, make_claims, make_stats
from test_figures import NamedList, fake_snakemake

REPO = Path(__file__).resolve().parent.parent
MINUS = r"\ensuremath{-}"


def body_rows(table: str) -> list[list[str]]:
    """Data rows (cells) of a generated tabular, without rules and block titles."""
    rows = []
    for line in table.splitlines():
        if line.endswith(r"\\") and not line.startswith(r"\multicolumn"):  # skip titles and notes
            rows.append([cell.strip() for cell in line[:-2].split(" & ")])
    return rows[1:]  # drop the header


def assert_booktabs(table: str, columns: int) -> None:
    assert table.lstrip().startswith(r"\begin{tabular}")
    assert table.rstrip().endswith(r"\end{tabular}")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in table
    assert r"\hline" not in table
    unescaped = re.sub(r"\\[{}]", "", table)
    assert unescaped.count("{") == unescaped.count("}"), "unbalanced braces"
    for row in body_rows(table):
        assert len(row) == columns, row
        for cell in row:  # data cells hold text, never a bare special character
            assert not re.search(r"(?<!\\)[_%&#$]", cell), f"unescaped special character in {cell!r}"


def test_format_helpers():
    assert latex.latex_escape("sft_dolly & 100% #1 {x} ~^\\") == (
        r"sft\_dolly \& 100\% \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}")
    assert latex.fmt_pct(35.749) == "35.7"
    assert latex.fmt_pct(None) == "--" and latex.fmt_pct(float("nan")) == "--"
    assert latex.fmt_number(-3.26, 1) == MINUS + "3.3"  # a real minus sign
    assert latex.fmt_number(-0.04, 1, signed=True) == "0.0"  # no "-0.0"
    assert latex.fmt_number(2.0, 1, signed=True) == "+2.0"
    assert latex.fmt_p(0.0004) == r"\ensuremath{<}0.001"
    assert latex.fmt_p(0.04321) == "0.043"
    assert latex.fmt_p(1.0) == "1.000"
    assert latex.fmt_ci(1.0, None) == "--"
    assert latex.fmt_mean_ci({"mean": 35.7, "ci_low": 30.06, "ci_high": 41.2}) == "35.7 [30.1, 41.2]"
    assert latex.group_label("non_english") == "Non-English"


def test_headline_table_values_order_and_missing_group():
    stats = {"ahb": make_stats("ahb"), "en_only": make_stats("en_only", non_english=False)}
    table = tables.headline_table(stats).to_latex()
    assert_booktabs(table, columns=4)
    assert "Condition & All & English & Non-English" in table
    assert r"\textbf{AHB (30 questions, 10 clusters)}" in table
    assert r"\textbf{EN\_ONLY (30 questions, 10 clusters)}" in table
    rows = body_rows(table)
    assert [row[0] for row in rows[:len(CONDITIONS)]] == [latex.latex_escape(c) for c in CONDITIONS]
    sft_dolly = rows[CONDITIONS.index("sft_dolly")]
    assert sft_dolly == [r"sft\_dolly", "44.6 [39.5, 49.7]", "42.6 [37.5, 47.7]", "47.6 [42.5, 52.7]"]
    en_only = rows[len(CONDITIONS):]
    assert all(row[3] == "--" for row in en_only)  # no non-English items
    assert "sft_dolly" not in table  # always escaped


def test_contrasts_table_formats_p_values_and_names_each_contrast_once():
    table = tables.contrasts_table({"ahb": make_stats("ahb")}).to_latex()
    assert_booktabs(table, columns=6)
    rows = body_rows(table)
    assert rows[0][:2] == [rf"sft\_magicoder {MINUS} sft\_dolly", "All"]
    assert rows[1][0] == "" and rows[1][1] == "English"  # the name is not repeated
    assert rows[0][2] == "+7.3 [3.9, 10.7]"
    assert rows[0][3] == "[4.3, 10.5]"
    assert rows[0][4] == r"\ensuremath{<}0.001"  # p = 0.0004
    assert rows[0][5] == "0.001"  # Holm p = 0.0012
    assert rows[3][4] == "1.000"


def test_contrasts_without_data_are_counted_not_listed():
    table = tables.contrasts_table({"en": make_stats("en", non_english=False)}).to_latex()
    assert_booktabs(table, columns=6)
    assert "Non-English" not in table  # no rows of dashes for a group without items
    assert r"\textit{3 contrast(s) without data" in table


def test_dimensions_table_shows_difference_and_bh_q_and_escapes_names():
    table = tables.dimensions_table({"ahb": make_stats("ahb")}).to_latex()
    # the reference condition (no differences) gets no column
    assert_booktabs(table, columns=len(CONDITIONS))
    assert r"Scope\_Sensitivity \& 100\% care" in table
    assert r"\begin{tabular}[b]{@{}c@{}}sft\_\\dolly\end{tabular}" in table  # stacked header
    rows = body_rows(table)
    moral = rows[0]
    assert moral[0] == "Moral Consideration"
    assert moral[1] == "+9.0 (0.020)"  # midtrained: diff 9.0, q = 0.02


def test_mixedlm_table_handles_missing_blocks():
    stats = {"ahb": make_stats("ahb"), "en": make_stats("en", non_english=False), "none": make_stats("none")}
    stats["none"]["mixedlm"] = None
    table = tables.mixedlm_table(stats).to_latex()
    assert_booktabs(table, columns=6)
    rows = body_rows(table)
    assert rows[0] == ["AHB", "yes", "1", "12.35", "5", "0.030"]
    assert rows[1] == ["EN", "yes", "1", "--", "--", "--"]  # one language group: no interaction test
    assert rows[2] == ["NONE", "--", "--", "--", "--", "--"]


def test_published_table_puts_dashes_where_nothing_is_published_or_reproduced():
    references = {**REFERENCES, "gone": {"all": {"sft_dolly": 10.0}}}
    table = tables.published_table({"ahb": make_stats("ahb"), "moru": make_stats("moru")}, references).to_latex()
    assert_booktabs(table, columns=4)
    rows = body_rows(table)
    by_key, group = {}, None
    for row in rows:
        group = row[0] or group
        by_key.setdefault((group, row[1]), []).append(row[2:])
    assert by_key[("All", "base")][0] == ["--", "30.0 [24.9, 35.1]"]  # not published
    assert by_key[("All", r"sft\_dolly")][0] == ["35.7", "44.6 [39.5, 49.7]"]
    assert by_key[("English", r"sft\_magicoder")][0] == ["71.9", "49.9 [44.8, 55.0]"]
    assert r"\textbf{GONE}" in table  # a reference for a benchmark that did not run is still shown
    assert ["10.0", "--"] in by_key[("All", r"sft\_dolly")]


def test_published_table_rejects_an_unknown_group():
    with pytest.raises(ConfigError, match=r"references\.ahb\.spanish"):
        tables.published_table({"ahb": make_stats("ahb")}, {"ahb": {"spanish": {"base": 1.0}}})


def test_conditions_table_shows_the_tree():
    grpo = {"from": "base", "stage": "grpo", "data": "prompts_1", "reward": "code"}
    table = tables.conditions_table({"base": {"init": "tiny_llama"}, "grpo_x": grpo}).to_latex()
    assert_booktabs(table, columns=5)
    rows = body_rows(table)
    assert rows[0] == ["base", "--", "initial model", r"tiny\_llama", "--"]
    assert rows[1] == [r"grpo\_x", "base", "grpo", r"prompts\_1", "code"]


def test_write_tables_and_script(tmp_path):
    stats_path = tmp_path / "ahb.json"
    stats_path.write_text(json.dumps(make_stats("ahb")))
    outputs = table_files(str(tmp_path / "tables"))
    claims_path = tmp_path / "claims.json"
    claims_path.write_text(json.dumps(make_claims()))
    snakemake = fake_snakemake("tables", NamedList(stats=[str(stats_path)], claims=str(claims_path)),
                               NamedList(outputs),
                               {"benches": ["ahb"], "references": REFERENCES,
                                "conditions": {"base": {"init": "tiny_llama"}}})

    runpy.run_path(str(REPO / "scripts" / "tables.py"), init_globals={"snakemake": snakemake})

    for path in outputs:
        text = Path(path).read_text()
        if path.endswith(".tex"):
            assert text.startswith("% Generated") and r"\begin{tabular}" in text
        else:  # the report's page of the same table
            assert path.endswith(".html") and text.startswith("<!DOCTYPE html>") and "<table" in text
        assert json.loads(Path(path + ".prov.json").read_text())["rule"] == "tables"

    snakemake.params = NamedList(benches=["moru"], references=None, conditions=None)
    with pytest.raises(DataError, match="expected 'moru'"):  # stats inputs out of order
        runpy.run_path(str(REPO / "scripts" / "tables.py"), init_globals={"snakemake": snakemake})


def test_grading_table_names_the_scorer_version_and_every_condition_and_judge(tmp_path):
    stats = {"ahb": make_stats("ahb", judges=True), "moru": make_stats("moru")}
    text = tables.grading_table(stats).to_latex()
    assert text.count(r"scorer version paper\_era") == 2 and "scored as I (0)" in text
    assert r"gpt\_\\judge" in text and "All judges" in text  # judges sorted: gpt_judge, lexical
    # sft_dolly is the third condition: gpt_judge 3 and lexical 2 unparseable of 400 each
    assert r"sft\_dolly & 3/400 (0.75\%) & 2/400 (0.50\%) & 5/800 (0.62\%) \\" in text


def test_claims_table_sets_published_paper_method_and_ours_side_by_side():
    table = tables.claims_table(make_claims()).to_latex()
    assert_booktabs(table, columns=7)
    assert "Published" in table and "Paper's method" in table and r"$p_{\mathrm{Holm}}$" in table
    rows = {row[0]: row for row in body_rows(table)}
    sft = rows[r"ahb\_sft"]
    assert sft[1] == "AHB, All: difference"
    assert sft[2] == "65.2 vs 35.7"
    assert sft[3] == "51.9 vs 44.6, p 0.020: supported"
    assert sft[4] == "+7.3 [3.2, 11.4]" and sft[5] == "0.003" and sft[6] == "supported"
    # Equivalence: the TOST (1 - 2 alpha) interval against the margin; inconclusive gives the MDE.
    equivalence = rows[r"moru\_no\_difference"]
    assert equivalence[4] == MINUS + r"1.1 [" + MINUS + r"5.3, 3.1] (90\%) vs \ensuremath{\pm}5.0"
    assert equivalence[6] == "inconclusive (MDE 9.4)"
    assert equivalence[3].endswith("supported")  # the paper's reading of p = 0.7
    transfer = rows[r"ahb\_transfer"]
    assert transfer[2] == "ratio 4.5" and "ratio 0.60 [0.30, 0.90]" in transfer[4]
    assert transfer[6] == "contradicted" and transfer[3].endswith("not significant")
    assert "no claims declared" in tables.claims_table(None).to_latex()


def test_headline_table_says_when_every_question_scored_zero():
    stats = make_stats("ahb")
    stats["conditions"]["base"]["all"] = {**stats["conditions"]["base"]["all"], "mean": 0.0, "ci_low": 0.0,
                                          "ci_high": 11.57, "degenerate": "all 0"}
    table = tables.headline_table({"ahb": stats}).to_latex()
    assert r"0.0 (all 0; \ensuremath{\leq}11.6)" in table
    assert "[0.0, 0.0]" not in table and "[0.0, 11.6]" not in table


def test_languages_table_has_a_column_per_language_and_counts_the_rest():
    stats = {"ahb": make_stats("ahb", non_english=False), "moru": make_stats("moru")}
    table = tables.languages_table(stats).to_latex()
    assert_booktabs(table, columns=4)
    assert "Condition & English & Malay & Hindi" in table
    assert "1 language(s) with fewer than 20 questions not shown" in table
    rows = body_rows(table)
    assert rows[0] == ["base", "30.0 [24.9, 35.1]", "--", "--"]  # AHB: English only
    assert rows[len(CONDITIONS)] == ["base", "30.0 [24.9, 35.1]", "31.5 [26.4, 36.6]", "33.0 [27.9, 38.1]"]


def test_interactions_table_puts_the_paired_difference_beside_the_model_term():
    table = tables.interactions_table({"ahb": make_stats("ahb"), "en": make_stats("en", non_english=False)}).to_latex()
    assert_booktabs(table, columns=5)
    rows = body_rows(table)
    assert rows[0] == [r"sft\_magicoder \ensuremath{-} base \ensuremath{\times} non-English", "+14.0 [8.0, 20.0]",
                       r"\ensuremath{<}0.001", "+13.5 [7.4, 19.6]", r"\ensuremath{<}0.001"]
    assert "no interaction term" in table


def test_html_tables_show_the_same_cells_as_the_latex_ones_escaped_for_html():
    stats = {"ahb": make_stats("ahb"), "en": make_stats("en", non_english=False)}
    contrasts = tables.contrasts_table(stats)
    page = contrasts.to_html("Contrasts & more")
    assert page.startswith("<!DOCTYPE html>") and "<caption>Contrasts &amp; more</caption>" in page
    assert "sft_magicoder \N{MINUS SIGN} sft_dolly" in page and "+7.3 [3.9, 10.7]" in page
    assert ">&lt;0.001<" in page  # the p-value the LaTeX sets as \ensuremath{<}0.001
    assert page.count('class="row_heading level0') == len(stats)  # one spanning title per benchmark
    assert 'rowspan=' in page and ">AHB<" in page
    assert re.search(r'class="data row\d+ col0 note" >3 contrast\(s\) without data', page)  # italic
    assert contrasts.to_html("x") == contrasts.to_html("x")  # deterministic: same bytes on a re-run
    dimensions = tables.dimensions_table({"ahb": make_stats("ahb")}).to_html("Dimensions")
    assert "Scope_Sensitivity &amp; 100% care" in dimensions and "<th" in dimensions
    untitled = tables.conditions_table({"base": {"init": "tiny_llama"}}).to_html("Conditions")
    assert "row_heading" not in untitled and ">tiny_llama<" in untitled
    mixed = tables.mixedlm_table({"ahb": make_stats("ahb")}).to_html("Mixed model")
    assert "LR \N{GREEK SMALL LETTER CHI}\N{SUPERSCRIPT TWO}" in mixed and ">12.35<" in mixed


def test_a_table_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="a row has 1 cells, the header 2"):
        tables.Table(["a", "b"], [(None, [["only one"]])], align="ll")


def test_the_html_headline_names_the_configured_confidence(tmp_path):
    stats = {**make_stats("ahb"), "confidence": 0.9}
    written = tables.write_tables({"ahb": stats}, tmp_path, REFERENCES, claims=make_claims())
    headline = next(path for path in written if path.name == "table_headline.html").read_text()
    assert "with 90% CIs" in headline and "95%" not in headline
