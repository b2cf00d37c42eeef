# The paper: latexmk over paper/main.tex, which inputs the generated numbers, tables and figures.


rule paper:
    input:
        tex=workflow.source_path("../paper/main.tex"),
        numbers=rules.numbers.output.numbers,
        tables=rules.tables.output,
        figures=rules.figures.output,
        training_curves=rules.training_report.output.figure_pdf,
    output:
        pdf=report(f"{OUT}/paper/paper.pdf", category="Paper"),
    params:
        # latexmk finds \input'ed tables and \includegraphics'ed figures through TEXINPUTS.
        texinputs=["paper/generated", f"{OUT}/tables", f"{OUT}/figures"],
    log:
        f"logs/paper/latexmk.log",
    conda:
        "../envs/paper.yaml"
    script:
        "../scripts/build_paper.py"


def paper_pdf():
    return rules.paper.output.pdf
