"""Rule `init_model`: initialise the tiny Llama and pre-train it on neutral text (a root condition)."""

from transformers import AutoTokenizer

from value_retention import modeling, training
from value_retention.errors import ConfigError
from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    seed = int(snakemake.params.seed)
    if not spec.get("pretrain"):
        raise ConfigError("a tiny model needs a 'pretrain' stage block", key="models.*.pretrain")
    tokenizer = AutoTokenizer.from_pretrained(snakemake.input.tokenizer)
    model = modeling.init_tiny_llama(tokenizer, spec["architecture"], seed)
    training_log = training.pretrain(
        model, tokenizer, snakemake.input.data, spec["pretrain"], snakemake.output.model, seed,
        snakemake.params.checkpoint_dir,
    )
    prov.add(**training.provenance_facts(training_log))
