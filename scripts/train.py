"""Rule `train`: one training stage (midtrain, sft or grpo) from the parent condition's model.

A stage with `gpus` above 1 is started on that many processes through accelerate (launch.py).
"""

from value_retention import launch, training
from value_retention.provenance import record

with record(snakemake) as prov:
    training_log = launch.train_stage(
        stage=snakemake.params.stage,
        parent_dir=snakemake.input.parent,
        data_path=snakemake.input.data,
        spec=dict(snakemake.params.spec),
        reward_spec=dict(snakemake.params.reward) if snakemake.params.reward else None,
        out_dir=snakemake.output.model,
        seed=int(snakemake.params.seed),
        checkpoint_dir=snakemake.params.checkpoint_dir,
    )
    prov.add(**training.provenance_facts(training_log))
