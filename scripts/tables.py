"""Snakemake script: write the paper's tables (LaTeX, and HTML for the report) from the statistics.

input.stats: one file per benchmark, in params.benches order; input.claims: the claims file (the
claims rule's). params.references: the config's
``references`` block; params.conditions: the config's ``conditions`` block, for the condition
tree table (the run's config block when the rule does not pass it). output: exactly
``value_retention.outputs.table_files(<tables dir>)``: per table its LaTeX fragment (for the
paper) and its HTML page (for the report).
"""

from pathlib import Path

from value_retention import stats_json, tables
from value_retention.outputs import check_declared, table_files
from value_retention.provenance import record

with record(snakemake) as prov:
    params = snakemake.params
    outdir = Path(snakemake.output[0]).parent
    expected = check_declared(table_files(outdir), snakemake.output, "tables",
                              "value_retention.outputs.table_files(<dir>)")
    stats = {bench: data for bench, (_, data) in stats_json.read_all(snakemake.input.stats, params.benches).items()}
    claims = stats_json.read_claims(snakemake.input.claims)
    written = tables.write_tables(stats, outdir, references=params.references, conditions=params.conditions,
                                  claims=claims)
    assert {str(path) for path in written} == expected, "outputs.table_files and tables.write_tables disagree"
    prov.add(tables=sorted(expected))
