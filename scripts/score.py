"""Rule `score`: the panel's grades -> the score JSON and the tidy per-question table.

The JSON is what `value-retention score --scorer-version V` (scoring.score_files) writes for the
same files, plus the run's labels under "run" (bench, condition, seed), which the statistics read.
params.scorer_version names the benchmark's scorer version; judgment rows of another are an error.
"""

from value_retention import scores_csv, scoring
from value_retention.jsonl import write_json
from value_retention.provenance import record

with record(snakemake) as prov:
    benchmark = snakemake.params.benchmark  # the format: ahb or moru
    questions, dimensions, judgments = scoring.load_scoring_inputs(
        benchmark, snakemake.input.questions, snakemake.input.dimensions, list(snakemake.input.judgments))

    version = snakemake.params.scorer_version
    run = {"bench": snakemake.params.bench, "condition": snakemake.params.condition,
           "seed": int(snakemake.params.seed)}
    # Every answer's every tagged dimension must have been judged: a missing judgment fails the job.
    result = scoring.score_benchmark(questions, dimensions, judgments, benchmark=benchmark,
                                     scorer_version=version, run=run, allow_missing=False)
    write_json(snakemake.output.scores, result)

    tidy = scoring.tidy_scores(questions, dimensions, judgments, bench=snakemake.params.bench,
                               condition=snakemake.params.condition,
                               seed=int(snakemake.params.seed), benchmark=benchmark, scorer_version=version)
    scores_csv.write(tidy, snakemake.output.tidy)

    prov.add(scorer_version=result["scorer_version"],
             overall_mean=result["overall_mean"],
             n_questions_scored=result["n_questions_scored"],
             n_questions_unscored=result["n_questions_unscored"],
             n_grades=result["n_grades"],
             n_grades_unparseable=result["n_grades_unparseable"],
             grades_by_judge=result["grades_by_judge"],
             n_tidy_rows=len(tidy))
