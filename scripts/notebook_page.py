"""Rule `notebook_page`: the executed exploration notebook -> an HTML page for the report.

input:  notebook (`O/notebooks/explore_scores.ipynb`, executed by the explore_notebook rule, with
        its outputs and figures)
output: page (`O/notebooks/explore_scores.html`), nbconvert's HTML export; nothing is re-run
"""

import nbformat
from nbconvert import HTMLExporter

from value_retention.jsonl import atomic_path
from value_retention.provenance import record

with record(snakemake) as prov:
    notebook = nbformat.read(snakemake.input.notebook, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    with atomic_path(snakemake.output.page) as tmp:
        tmp.write_text(body, encoding="utf-8")
    prov.add(cells=len(notebook.cells))
