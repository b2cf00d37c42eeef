# What `snakemake --report` shows beyond the figures and tables: a few answers per condition
# beside their grades, and the executed exploration notebook as a page.


rule sample_answers:
    input:
        questions=benchmark_file("questions"),
        dimensions=benchmark_file("dimensions"),
        # the first seed's run of every condition; judgments per condition in panel order
        generations=expand(
            rules.generate.output.generations,
            condition=CONDITIONS,
            seed=SEEDS[0],
            allow_missing=True,
        ),
        judgments=expand(
            rules.judge.output.judgments,
            condition=CONDITIONS,
            judge=PANEL_JUDGES,
            seed=SEEDS[0],
            allow_missing=True,
        ),
    output:
        page=report(
            f"{OUT}/report/sample_answers_{{bench}}.html",
            caption="../report/sample_answers.rst",
            category="Generation",
            subcategory="{bench}",
        ),
    log:
        f"{LOGS}/sample_answers/{{bench}}.log",
    conda:
        "../envs/analyze.yaml"
    params:
        bench="{bench}",
        conditions=CONDITIONS,
        panel=PANEL_JUDGES,
        run_seed=SEEDS[0],
        spec=config["report"],
    script:
        "../scripts/sample_answers.py"


rule notebook_page:
    input:
        notebook=rules.explore_notebook.log.notebook,
    output:
        page=report(
            f"{OUT}/notebooks/explore_scores.html",
            caption="../report/notebook.rst",
            category="Statistical analysis",
            subcategory="Notebook",
        ),
    log:
        f"{LOGS}/notebook_page.log",
    conda:
        "../envs/analyze.yaml"
    script:
        "../scripts/notebook_page.py"
