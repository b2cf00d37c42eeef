"""Make a tiny AHB-like or MORU-like benchmark's raw files (value_retention.tiny_world)."""

from value_retention import tiny_world
from value_retention.jsonl import write_jsonl
from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    questions, dimensions = tiny_world.make_benchmark(spec["format"], int(snakemake.params.seed),
                                                      spec.get("n_items"))
    prov.add(n_questions=write_jsonl(snakemake.output.questions, questions),
             n_dimensions=write_jsonl(snakemake.output.dimensions, dimensions))
