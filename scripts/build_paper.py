"""Build the paper PDF with latexmk from the generated numbers, tables and figures."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from value_retention.provenance import record

with record(snakemake) as prov:
    tex = Path(snakemake.input.tex).resolve()
    search_path = [str(Path(p).resolve()) for p in snakemake.params.texinputs]
    env = {**os.environ, "TEXINPUTS": os.pathsep.join([str(tex.parent), *search_path]) + os.pathsep}
    with tempfile.TemporaryDirectory(prefix="latexmk-") as build:
        # Build in a scratch folder, then move the PDF into place: a failed or killed build never
        # leaves a PDF that looks complete. latexmk's output goes to the job's log (record()).
        subprocess.run(
            ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
             f"-outdir={build}", "-jobname=paper", str(tex)],
            env=env, check=True, stdin=subprocess.DEVNULL,
        )
        Path(snakemake.output.pdf).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(os.path.join(build, "paper.pdf"), snakemake.output.pdf)
    prov.add(latexmk=shutil.which("latexmk"))
