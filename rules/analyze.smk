# Statistics per benchmark, the claims' verdicts over all of them, then the figures, LaTeX tables
# and number macros the paper inputs, and the exploration notebook of the tidy scores.

from value_retention.outputs import figure_files, table_files


rule statistics:
    input:
        scores=rules.collect_scores.output.scores,
        # the runs' score JSONs: the scorer version and unparseable grades per judge
        runs=expand(rules.score.output.scores, condition=CONDITIONS, seed=SEEDS, allow_missing=True),
        training=rules.training_report.output.summary,  # its learning-check warnings join the stats'
    output:
        stats=f"{OUT}/stats/{{bench}}.json",
    log:
        f"{LOGS}/statistics/{{bench}}.log",
    conda:
        "../envs/analyze.yaml"
    threads: job_resource("statistics", "cpus")
    resources:
        # Mixed models and cluster bootstraps over every condition.
        cpus_per_task=job_resource("statistics", "cpus"),
        mem_mb=job_resource("statistics", "mem_mb"),
        runtime=job_resource("statistics", "runtime"),
    params:
        spec=config["analysis"],
        bench="{bench}",
        conditions=CONDITIONS,  # tables and figures follow the config's order
    script:
        "../scripts/statistics.py"


rule claims:
    input:
        stats=expand(rules.statistics.output.stats, bench=BENCHMARKS),
    output:
        claims=f"{OUT}/stats/claims.json",
    log:
        f"{LOGS}/claims.log",
    conda:
        "../envs/analyze.yaml"
    params:
        benches=BENCHMARKS,
        claims=config["analysis"]["claims"],
        confidence=config["analysis"]["confidence"],
        power=config["analysis"]["power"],
    script:
        "../scripts/claims.py"


rule figures:
    input:
        stats=expand(rules.statistics.output.stats, bench=BENCHMARKS),
        scores=expand(rules.collect_scores.output.scores, bench=BENCHMARKS),
    output:
        for_report(figure_files(f"{OUT}/figures", BENCHMARKS)),
    log:
        f"{LOGS}/figures.log",
    conda:
        "../envs/analyze.yaml"
    params:
        benches=BENCHMARKS,
    script:
        "../scripts/figures.py"


rule tables:
    input:
        stats=expand(rules.statistics.output.stats, bench=BENCHMARKS),
        claims=rules.claims.output.claims,
    output:
        for_report(table_files(f"{OUT}/tables")),
    log:
        f"{LOGS}/tables.log",
    conda:
        "../envs/analyze.yaml"
    params:
        benches=BENCHMARKS,
        references=config["references"],
        conditions=config["conditions"],
    script:
        "../scripts/tables.py"


rule numbers:
    input:
        stats=expand(rules.statistics.output.stats, bench=BENCHMARKS),
        claims=rules.claims.output.claims,
    output:
        numbers=f"{OUT}/paper/numbers.tex",
    log:
        f"{LOGS}/numbers.log",
    conda:
        "../envs/analyze.yaml"
    params:
        benches=BENCHMARKS,
        references=config["references"],
        paper=config["paper"],
        panel=PANEL_JUDGES,
    script:
        "../scripts/numbers.py"


rule explore_notebook:
    input:
        scores=expand(rules.collect_scores.output.scores, bench=BENCHMARKS),
        stats=expand(rules.statistics.output.stats, bench=BENCHMARKS),
    output:
        summary=f"{OUT}/notebooks/language_means.csv",
    log:
        # The executed notebook, with its outputs, is kept for reading.
        notebook=f"{OUT}/notebooks/explore_scores.ipynb",
    conda:
        "../envs/analyze.yaml"
    notebook:
        "../notebooks/explore_scores.ipynb"
