"""Normalise a raw dataset to the format its training stage reads (docs/contracts.md)."""

from value_retention import datasets_io
from value_retention.provenance import record

with record(snakemake) as prov:
    counts = datasets_io.prepare(
        snakemake.input.raw,
        snakemake.params.spec["format"],
        snakemake.output.data,
        id_prefix=snakemake.wildcards.get("dataset"),
    )
    prov.add(counts=counts)
