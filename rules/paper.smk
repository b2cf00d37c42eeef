# The paper: latexmk over paper/main.tex, which inputs the generated numbers, tables and figures.


rule paper:
    input:
        tex=workflow.source_path("../paper/main.tex"),
        numbers=rules.numbers.output.numbers,
        tables=rules.tables.output,
        figures=rules.figures.output,
        training_curves=rules.training_report.output.figure_pdf,
    output:
        pdf=report(f"{OUT}/paper/paper.pdf", caption="../report/paper.rst", category="Paper"),
    log:
        f"{LOGS}/paper.log",
    conda:
        "../envs/paper.yaml"
    params:
        # latexmk finds the \input'ed numbers and tables and the \includegraphics'ed figures
        # through TEXINPUTS: paper/ holds only sources, every generated file is in results_dir.
        texinputs=[f"{OUT}/paper", f"{OUT}/tables", f"{OUT}/figures"],
    script:
        "../scripts/build_paper.py"
