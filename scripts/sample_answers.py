"""Rule `sample_answers`: a few answers per condition beside their grades -> an HTML page for the
report (value_retention.sample_answers; docs/contracts.md).

input:  questions (prepared), generations (one per condition, in params.conditions order, of
        params.run_seed), judgments (per condition, one per panel judge, in panel order)
output: page (`O/report/sample_answers_{bench}.html`)
params: bench, conditions, panel, run_seed, spec (the config's `report` block: sample_answers,
        sample_seed)
"""

from value_retention.benchmarks import load_prepared
from value_retention.provenance import record
from value_retention.sample_answers import write_sample_answers

with record(snakemake) as prov:
    params = snakemake.params
    questions, _ = load_prepared(snakemake.input.questions, snakemake.input.dimensions)
    conditions, panel = list(params.conditions), list(params.panel)
    judgments = list(snakemake.input.judgments)  # condition-major: expand() over conditions, then judges
    per_condition = len(panel)
    assert len(judgments) == len(conditions) * per_condition, "one judgments file per condition and panel judge"
    shown = write_sample_answers(
        params.bench, questions,
        generations=dict(zip(conditions, snakemake.input.generations, strict=True)),
        judgments={condition: judgments[i * per_condition:(i + 1) * per_condition]
                   for i, condition in enumerate(conditions)},
        panel=panel, n=params.spec["sample_answers"], seed=params.spec["sample_seed"],
        run_seed=int(params.run_seed), out_path=snakemake.output.page)
    prov.add(**shown)
