"""Write a benchmark's raw question and dimension files from the hub or from local files.

A local rule: it runs where the network is. Repositories and revisions come from the config.
"""

from value_retention import benchmarks
from value_retention.provenance import record

with record(snakemake) as prov:
    prov.add(download=benchmarks.download(snakemake.params.spec, snakemake.output.questions,
                                          snakemake.output.dimensions))
