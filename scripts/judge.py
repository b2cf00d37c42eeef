"""Snakemake script for rule `judge`: grade one generations file with one judge.

input:  generations, questions, dimensions
output: judgments
params: judge (name), spec (the judges entry), cache_dir (shared response cache),
        revision (optional: the AHB data revision for the grader prompt; absent or None for MORU)
"""

from value_retention.judges import judge_file
from value_retention.provenance import record

with record(snakemake) as prov:
    stats = judge_file(
        snakemake.input.generations,
        snakemake.input.questions,
        snakemake.input.dimensions,
        judge_name=snakemake.params.judge,
        spec=dict(snakemake.params.spec),
        cache_dir=snakemake.params.cache_dir,
        out_path=snakemake.output.judgments,
        revision=snakemake.params.get("revision"),
    )
    # The judge's effective settings: model, base URL, temperature, and the *name* of the
    # environment variable holding its key, never the key.
    prov.add(judge=stats.pop("judge"), judge_stats=stats)
