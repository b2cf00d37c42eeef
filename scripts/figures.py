"""Snakemake script: draw the paper's figures from the statistics and the tidy scores.

input.stats, input.scores: one file per benchmark, in params.benches order.
output: exactly ``value_retention.outputs.figure_files(<figures dir>, params.benches)``.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a cluster node

from value_retention import figures, scores_csv, stats_json
from value_retention.errors import ConfigError
from value_retention.outputs import check_declared, figure_files
from value_retention.provenance import record

with record(snakemake) as prov:
    benches = list(snakemake.params.benches)
    outdir = Path(snakemake.output[0]).parent
    expected = check_declared(figure_files(outdir, benches), snakemake.output,
                              "figures", "value_retention.outputs.figure_files(<dir>, benches)")
    stats = {bench: data for bench, (_, data) in stats_json.read_all(snakemake.input.stats, benches).items()}
    score_paths = list(snakemake.input.scores)
    if len(score_paths) != len(benches):
        raise ConfigError(f"{len(score_paths)} score files for {len(benches)} benchmarks",
                          key="rule figures: input.scores")
    scores = {bench: scores_csv.read_checked(path, bench) for bench, path in zip(benches, score_paths)}
    written = figures.make_all(stats, scores, outdir)
    assert {str(path) for path in written} == expected, "outputs.figure_files and figures.make_all disagree"
    prov.add(figures=sorted(expected))
