"""Snakemake script for rule `judge`: grade one generations file with one judge.

input:  generations, questions, dimensions
output: judgments
params: judge (name), spec (the judges entry), cache_dir (shared response cache),
        scoring (the scorer version, benchmark format and AHB revision: rules/evaluate.smk's
        judge_scoring), draw_scope (the run, "{bench}/{condition}/seed{seed}": stochastic judge
        draws in different runs are independent)
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
        revision=snakemake.params.scoring["revision"],
        version=snakemake.params.scoring["version"],
        benchmark_format=snakemake.params.scoring["format"],
        draw_scope=snakemake.params.draw_scope,
    )
    # The judge's effective settings: model, base URL, temperature, and the *name* of the
    # environment variable holding its key, never the key.
    prov.add(judge=stats.pop("judge"), scorer_version=stats.pop("scorer"), judge_stats=stats)
