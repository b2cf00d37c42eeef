"""Normalise a raw dataset to the format its training stage reads (docs/contracts.md)."""

from value_retention import datasets_io
from value_retention.provenance import record

with record(snakemake) as prov:
    counts = datasets_io.prepare(
        snakemake.input.raw,
        snakemake.params.spec["format"],
        snakemake.output.data,
        id_prefix=snakemake.wildcards.get("dataset"),
        warn_row_bytes=snakemake.params.spec.get("warn_row_bytes", datasets_io.LARGE_ROW_BYTES),
    )
    prov.add(counts=counts)
