"""Rule `collect_scores`: every (condition, seed) tidy table of one benchmark, in one CSV."""

from value_retention import scores_csv
from value_retention.provenance import record

with record(snakemake) as prov:
    n_rows = scores_csv.collect(list(snakemake.input.tidy), snakemake.output.scores)
    prov.add(n_files=len(snakemake.input.tidy), n_rows=n_rows)
