"""Make a tiny dataset's raw file from seeded templates (value_retention.tiny_world)."""

from value_retention import tiny_world
from value_retention.jsonl import write_jsonl
from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    rows = tiny_world.make_dataset(spec["generator"], int(spec["n"]), int(snakemake.params.seed))
    prov.add(generator=spec["generator"], n_rows=write_jsonl(snakemake.output.raw, rows))
