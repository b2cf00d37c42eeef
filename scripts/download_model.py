"""Download a hub checkpoint (a local rule: runs where the network is, e.g. the login node).

The configured revision (a branch, tag or commit) is resolved to its commit SHA first and that
commit is downloaded; provenance records both (value-retention pin writes the SHA into a config).
"""

from huggingface_hub import snapshot_download

from value_retention import hub_revisions
from value_retention.provenance import record

with record(snakemake) as prov:
    spec = snakemake.params.spec
    # The token, if the repository is gated, comes from HF_TOKEN in the environment; it is never
    # passed through config or written anywhere.
    commit = hub_revisions.resolve(spec["repo"], spec.get("revision"))
    snapshot_download(
        repo_id=spec["repo"],
        revision=commit,
        local_dir=snakemake.output.model,
        allow_patterns=["*.json", "*.safetensors", "tokenizer*", "*.jinja", "*.model"],
    )
    prov.add(download=hub_revisions.record(spec["repo"], spec.get("revision"), commit))
