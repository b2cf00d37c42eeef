"""Rule `init_model`: initialise the tiny Llama and pre-train it on neutral text (a root condition)."""

from transformers import AutoTokenizer

from value_retention import modeling, run_lock, training
from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    seed = int(snakemake.params.seed)

    def pretrain():
        tokenizer = AutoTokenizer.from_pretrained(snakemake.input.tokenizer)
        model = modeling.init_tiny_llama(tokenizer, spec["architecture"], seed)
        return training.pretrain(
            model, tokenizer, snakemake.input.data, spec["pretrain"], snakemake.output.model, seed,
            snakemake.params.checkpoint_dir,
        )

    # One live trainer per run: a second job waits for this one and uses its model (run_lock.py).
    job = {"rule": "init_model", "spec": spec, "seed": seed, "tokenizer": snakemake.input.tokenizer,
           "data": snakemake.input.data, "out_dir": snakemake.output.model}
    training_log = run_lock.train_once(snakemake.params.checkpoint_dir, snakemake.output.model, job, pretrain)
    prov.add(**training.provenance_facts(training_log))
