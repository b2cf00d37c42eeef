"""Write a dataset's raw file from the hub (source: hub) or a local file (source: local).

A local rule: it runs where the network is. A gated repository's token comes from HF_TOKEN in the
environment, never from the config.
"""

from value_retention import datasets_io
from value_retention.provenance import record

with record(snakemake) as prov:
    prov.add(download=datasets_io.download(snakemake.params.spec, snakemake.output.raw))
