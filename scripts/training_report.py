"""Rule `training_report`: every trained model's training log -> the training summary and the
training-curves figure (value_retention.training_report; docs/contracts.md).

input.models: the model directories, in the order of params.runs ({condition, seed} each).
"""

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node

from value_retention import training_report
from value_retention.jsonl import write_json
from value_retention.provenance import record

with record(snakemake) as prov:
    summary = training_report.summarise(snakemake.params.runs, list(snakemake.input.models))
    write_json(snakemake.output.summary, summary)
    stem = snakemake.output.figure_pdf.removesuffix(".pdf")
    written = training_report.plot_training_curves(summary, stem)
    assert sorted(map(str, written)) == sorted([snakemake.output.figure_pdf, snakemake.output.figure_png])
    prov.add(n_runs=len(summary["runs"]), warnings=summary["warnings"])
