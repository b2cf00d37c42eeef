"""Download a hub checkpoint (a local rule: runs where the network is, e.g. the login node)."""

from huggingface_hub import snapshot_download

from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    # The token, if the repository is gated, comes from HF_TOKEN in the environment; it is never
    # passed through config or written anywhere.
    path = snapshot_download(
        repo_id=spec["repo"],
        revision=spec.get("revision"),
        local_dir=snakemake.output.model,
        allow_patterns=["*.json", "*.safetensors", "tokenizer*", "*.jinja", "*.model"],
    )
    prov.add(repo=spec["repo"], revision=spec.get("revision"))
