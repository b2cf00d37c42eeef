"""Rule `train_tokenizer`: a byte-level BPE with Llama-3 special tokens, trained on the tiny corpus."""

from value_retention import modeling
from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    tokenizer = modeling.train_tokenizer(
        modeling.corpus_texts(snakemake.input.corpus), int(spec["vocab_size"]), snakemake.output.tokenizer,
    )
    prov.add(vocab_size=len(tokenizer), special_tokens=list(modeling.SPECIAL_TOKENS))
