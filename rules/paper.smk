# The paper: latexmk over paper/main.tex, which inputs the generated numbers, tables and figures.


rule sources_table:
    # Every model, dataset and benchmark the run used, with the commit its download resolved to
    # (or the generator that made it): the methods section's table.
    input:
        list(USED_SOURCES.values()),
    output:
        table=f"{OUT}/tables/table_sources.tex",
    log:
        f"{LOGS}/sources_table.log",
    conda:
        "../envs/analyze.yaml"
    params:
        sources=USED_SOURCES,
    script:
        "../scripts/sources_table.py"


rule paper:
    input:
        # The repository's file itself (not Snakemake's source cache, which is gone after the run:
        # provenance records this path, and the env check re-runs the script from it).
        tex=os.path.join(workflow.basedir, "paper", "main.tex"),
        sources=rules.sources_table.output.table,
        numbers=rules.numbers.output.numbers,
        tables=rules.tables.output,
        figures=rules.figures.output,
        training_curves=rules.training_report.output.figure_pdf,
    output:
        pdf=report(f"{OUT}/paper/paper.pdf", caption="../report/paper.rst", category="Paper"),
    log:
        f"{LOGS}/paper.log",
    # Where the system's TeX Live is (envs/paper.yaml: conda has none that builds main.tex).
    localrule: True
    conda:
        "../envs/paper.yaml"
    params:
        # latexmk finds the \input'ed numbers and tables and the \includegraphics'ed figures
        # through TEXINPUTS: paper/ holds only sources, every generated file is in results_dir.
        texinputs=[f"{OUT}/paper", f"{OUT}/tables", f"{OUT}/figures"],
    script:
        "../scripts/build_paper.py"
