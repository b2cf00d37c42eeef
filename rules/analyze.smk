# Statistics per benchmark, then the figures, LaTeX tables and number macros the paper inputs, and
# the exploration notebook of the tidy scores.

from value_retention.outputs import figure_files, table_files


def for_report(paths, category):
    """PNG figures and LaTeX tables go into `snakemake --report`; the PDFs are for the paper."""
    return [report(p, category=category) if p.endswith((".png", ".tex")) and "heatmaps" not in p else p
            for p in paths]


rule statistics:
    input:
        scores=f"{OUT}/scores/{{bench}}.csv",
        training=rules.training_report.output.summary,  # its learning-check warnings join the stats'
    output:
        stats=f"{OUT}/stats/{{bench}}.json",
    params:
        spec=config["analysis"],
        bench="{bench}",
        conditions=CONDITIONS,  # tables and figures follow the config's order
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/statistics.py"


rule figures:
    input:
        stats=all_stats(),
        scores=all_scores(),
    output:
        for_report(figure_files(f"{OUT}/figures", BENCHMARKS), category="Figures"),
    params:
        benches=BENCHMARKS,
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/figures.py"


rule tables:
    input:
        stats=all_stats(),
    output:
        for_report(table_files(f"{OUT}/tables"), category="Tables"),
    params:
        benches=BENCHMARKS,
        references=config.get("references", {}),
        conditions=config["conditions"],
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/tables.py"


rule numbers:
    input:
        stats=all_stats(),
    output:
        numbers="paper/generated/numbers.tex",
    params:
        benches=BENCHMARKS,
        references=config.get("references", {}),
        paper=config.get("paper", {}),
        panel=PANEL,
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/numbers.py"


rule explore_notebook:
    input:
        scores=all_scores(),
        stats=all_stats(),
    output:
        summary=f"{OUT}/notebooks/language_means.csv",
    log:
        # The executed notebook, with its outputs, is kept for reading.
        notebook=f"{OUT}/notebooks/explore_scores.ipynb",
    conda:
        "../envs/analyze.yaml"
    notebook:
        "../notebooks/explore_scores.ipynb"


def notebook_output():
    return rules.explore_notebook.output.summary
