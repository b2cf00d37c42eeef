# The value-retention workflow: datasets -> checkpoints -> generations -> judgments -> scores ->
# statistics -> figures, tables and number macros -> the paper.
#
#   snakemake --cores 2                          # the embedded tiny default (config/config.yaml)
#   snakemake --profile slurm --configfile config/paper.yaml
#
# Rules live in rules/, one file per stage family; rules/common.smk validates the config and
# derives the DAG from the condition tree.

from snakemake.utils import min_version

min_version("9.0")


# The tiny default, unless --configfile names another config (which then replaces it, rather than
# being merged into it: a paper config must not inherit the tiny world's conditions).
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/analyze.smk"
include: "rules/paper.smk"
include: "rules/report.smk"


report: "report/workflow.rst"


rule all:
    default_target: True
    input:
        rules.paper.output.pdf,
        rules.explore_notebook.output.summary,
        rules.notebook_page.output.page,
        expand(rules.sample_answers.output.page, bench=BENCHMARKS),
        expand(
            rules.inspect_log.output.eval_log, bench=BENCHMARKS, condition=CONDITIONS, seed=SEEDS
        ),
