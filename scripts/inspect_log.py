"""Rule `inspect_log`: one run's generations, judgments and scores -> an Inspect eval log.

input:  generations, questions, dimensions (prepared), judgments (one per panel judge), scores
        (the score JSON), tidy (the tidy scores CSV)
output: eval_log (`O/inspect/{bench}/{condition}/seed{seed}.eval`, written by inspect_ai)
params: bench, condition, seed, scoring (the scorer version, benchmark format and AHB revision),
        generation (the generation block), model (the checkpoint's path), judges (the panel's
        judges entries, in panel order)
"""

from value_retention.inspect_logs import Run, RunFiles, write_run_log
from value_retention.provenance import record

with record(snakemake) as prov:
    params = snakemake.params
    run = Run(bench=params.bench, condition=params.condition, seed=int(params.seed),
              benchmark_format=params.scoring["format"], scorer_version=params.scoring["version"],
              revision=params.scoring["revision"], model_path=params.model,
              generation=dict(params.generation), judges={name: dict(spec) for name, spec in params.judges.items()})
    files = RunFiles(generations=snakemake.input.generations, questions=snakemake.input.questions,
                     dimensions=snakemake.input.dimensions, judgments=list(snakemake.input.judgments),
                     scores=snakemake.input.scores, tidy=snakemake.input.tidy)
    prov.add(inspect_log=write_run_log(run, files, snakemake.output.eval_log))
