"""Rule `statistics`: one benchmark's tidy scores -> its statistics JSON (docs/contracts.md).

input.scores is the collected tidy CSV, input.runs the runs' score JSONs (their scorer version
and unparseable grades per judge) and input.training the training summary (whose learning-check
warnings the statistics report too), output.stats the JSON; params.spec is the config's
`analysis` block and params.bench the benchmark's name. The optional params.conditions (the
config's condition names) sets the order of conditions in the output; without it they follow the
CSV's order (collect_scores keeps the config's).
"""

from value_retention import scores_csv, stats, stats_json, training_report
from value_retention.jsonl import read_json
from value_retention.provenance import record

with record(snakemake) as prov:
    scores = scores_csv.read(snakemake.input.scores)
    conditions = snakemake.params.get("conditions")
    grading = stats.grading_summary(stats.read_runs(snakemake.input.runs), conditions)
    result = stats.analyse(scores, snakemake.params.spec, snakemake.params.bench,
                           conditions=conditions, grading=grading)
    result = training_report.carry_warnings(result, read_json(snakemake.input.training))
    stats_json.write(snakemake.output.stats, result)
    prov.add(n_questions=result["n_questions"], n_clusters=result["n_clusters"],
             n_warnings=len(result["warnings"]), warnings=result["warnings"],
             scorer_version=grading["scorer_version"], n_grades_unparseable=grading["n_unparseable"])
