"""Snakemake script: write <results_dir>/paper/numbers.tex, one \\newcommand per quoted number.

input.stats: one file per benchmark, in params.benches order; input.claims: the claims file.
params.references, params.paper and params.panel: the config's ``references``, ``paper`` and
``panel`` (the run's config ``panel`` when the rule does not pass it). output.numbers: numbers.tex.
The sidecar's ``macros`` maps every macro to its source file and key (``value-retention audit``).
"""

from value_retention import stats_json
from value_retention.numbers import write_numbers
from value_retention.provenance import record

with record(snakemake) as prov:
    params = snakemake.params
    stats = stats_json.read_all(snakemake.input.stats, params.benches)
    claims = (snakemake.input.claims, stats_json.read_claims(snakemake.input.claims))
    macros = write_numbers(stats, snakemake.output.numbers, references=params.references,
                           paper=params.paper, panel=params.panel,
                           claims=claims)
    prov.add(macros=macros)
