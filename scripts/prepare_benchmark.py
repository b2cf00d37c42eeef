"""Prepare a benchmark: questions per (id, language), dimensions, and a report of every skipped row."""

from value_retention import benchmarks
from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    report = benchmarks.prepare(
        snakemake.input.questions, snakemake.input.dimensions, spec["format"],
        languages=spec["languages"], strict_tags=spec["strict_tags"],
        questions_out=snakemake.output.questions, dimensions_out=snakemake.output.dimensions,
        report_out=snakemake.output.report,
    )
    prov.add(n_raw=report["n_raw"], n_kept=report["n_kept"], n_skipped=len(report["skipped"]),
             n_dropped_tags=len(report["dropped_tags"]), languages=report["languages"],
             not_selected=report["not_selected"])
