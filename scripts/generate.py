"""Rule `generate`: a condition's model answers every benchmark question `epochs` times."""

from value_retention.generation import generate_answers
from value_retention.provenance import record

with record(snakemake) as prov:
    totals = generate_answers(
        model_dir=snakemake.input.model,
        questions_path=snakemake.input.questions,
        spec=dict(snakemake.params.spec),
        condition=snakemake.params.condition,
        seed=int(snakemake.params.seed),
        out_path=snakemake.output.generations,
    )
    prov.add(**totals)
