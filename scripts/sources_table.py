"""Rule `sources_table`: the methods section's table of every input and the commit it came from."""

from dataclasses import asdict

from value_retention import pinning
from value_retention.jsonl import atomic_path
from value_retention.provenance import record

with record(snakemake) as prov:
    paths = {tuple(key.split("/", 1)): path for key, path in snakemake.params.sources.items()}
    found = pinning.sources(snakemake.config, snakemake.config["resources_dir"], paths)
    with atomic_path(snakemake.output.table) as tmp:
        tmp.write_text(pinning.sources_table(found), encoding="utf-8")
    prov.add(sources=[asdict(source) for source in found])
