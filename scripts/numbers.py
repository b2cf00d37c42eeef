"""Snakemake script: write <results_dir>/paper/numbers.tex, one \\newcommand per quoted number.

input.stats: one file per benchmark, in params.benches order. params.references, params.paper and
params.panel: the config's ``references``, ``paper`` and ``panel`` (the run's config ``panel``
when the rule does not pass it). output.numbers: numbers.tex.
The sidecar's ``macros`` maps every macro to its source file and key (``value-retention audit``).
"""

from value_retention.numbers import read_stats, write_numbers
from value_retention.provenance import record

with record(snakemake) as prov:  # noqa: F821 (Snakemake injects `snakemake`)
    params = snakemake.params  # noqa: F821
    stats = read_stats(snakemake.input.stats, params.benches)  # noqa: F821
    macros = write_numbers(stats, snakemake.output.numbers, references=params.references,  # noqa: F821
                           paper=params.paper, panel=params.get("panel", snakemake.config.get("panel")))  # noqa: F821
    prov.add(macros=macros)
