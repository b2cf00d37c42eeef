"""Rule `claims`: every benchmark's statistics -> the claims with their verdicts (docs/contracts.md).

input.stats: one statistics file per benchmark, in params.benches order (each holds the tests of
its claims); params.claims: the config's `analysis.claims`; params.confidence and params.power
the `analysis` block's values (the config schema gives their defaults). output.claims: O/stats/claims.json, with
the Holm family over the claims, their minimum detectable effects and verdicts.
"""

from value_retention import stats_json
from value_retention.provenance import record
from value_retention.stats.claims import confirm

with record(snakemake) as prov:
    params = snakemake.params
    stats = {bench: data for bench, (_, data) in stats_json.read_all(snakemake.input.stats, params.benches).items()}
    result = confirm(stats, params.claims, float(params.confidence), float(params.power))
    stats_json.write_claims(snakemake.output.claims, result)
    prov.add(family_size=result["family"]["size"], verdicts=result["counts"], warnings=result["warnings"])
