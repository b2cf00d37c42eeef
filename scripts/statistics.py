"""Rule `statistics`: one benchmark's tidy scores -> its statistics JSON (docs/contracts.md).

input.scores is the collected tidy CSV, input.training the training summary (whose learning-check
warnings the statistics report too), output.stats the JSON; params.spec is the config's
`analysis` block and params.bench the benchmark's name. The optional params.conditions (the
config's condition names) sets the order of conditions in the output; without it they follow the
CSV, which collect_scores sorts by name.
"""

import logging

from value_retention import stats, training_report
from value_retention.jsonl import read_json, write_json
from value_retention.provenance import record

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

with record(snakemake) as prov:  # noqa: F821 (snakemake is injected by the script directive)
    scores = stats.load_scores(snakemake.input.scores)
    result = stats.analyse(scores, snakemake.params.spec, snakemake.params.bench,
                           conditions=snakemake.params.get("conditions"))
    result = training_report.carry_warnings(result, read_json(snakemake.input.training))
    write_json(snakemake.output.stats, result)
    prov.add(n_questions=result["n_questions"], n_clusters=result["n_clusters"],
             n_warnings=len(result["warnings"]), warnings=result["warnings"])
