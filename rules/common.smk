# Config loading and the helpers every rule file uses.

import os
import re
import sys

# The value_retention package, importable here and in every job (also inside per-rule conda envs,
# and in SLURM jobs, which inherit this environment) without installing it anywhere: the
# repository goes first on sys.path here and on PYTHONPATH for the jobs.
sys.path.insert(0, workflow.basedir)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")]))
)

from value_retention.config import (
    benchmark_scorer_version,
    condition_order,
    load_config,
    preflight,
    root_model,
)
from value_retention.errors import ConfigError
from value_retention.outputs import report_section

# The config Snakemake loaded, read again by the project's one loader, as `value-retention
# check-config` reads it: the same files in the same order (`--configfile A B` merges B over A),
# each read strictly (a key given twice is an error, where YAML keeps the last), with `--config`
# lists and mappings typed as in a config file (Snakemake leaves their items strings), validated
# against config/schema.yaml with every default it gives filled in, and checked for what a schema
# cannot say (the condition tree, declared names, TRL's and PEFT's own checks of each stage).
try:
    config.update(
        load_config(*workflow.configfiles, overrides=workflow.config_settings.config_args or ())
    )
except ConfigError as error:
    raise error.with_traceback(None) from None  # the message names the key: no library frames


onstart:
    # What this machine must provide for the jobs about to run (the local files a config names, the
    # API judges' key variables): an error now, before the first job, not when the job runs, hours
    # later. Dry runs skip it (a login node without the key can still plan).
    problems = preflight(
        config,
        [(job.rule.name, dict(job.wildcards.items())) for job in workflow.dag.needrun_jobs()],
    )
    if problems:
        sys.exit(
            "Before any job: "
            + "; ".join(map(str, problems))
            + " (value_retention.config.preflight)"
        )


RES = config["resources_dir"]
OUT = config["results_dir"]
# Every job's log, and the measured runtime and memory of the costly ones (Snakemake's
# `benchmark:` files, which `value-retention plan --benchmarks` reads), per rule and wildcards.
LOGS = f"{OUT}/logs"
JOB_BENCHMARKS = f"{OUT}/benchmarks"
SEEDS = config["seeds"]
CONDITIONS = condition_order(config)
ROOTS = [c for c in CONDITIONS if "init" in config["conditions"][c]]
TRAINED = [c for c in CONDITIONS if "stage" in config["conditions"][c]]
BENCHMARKS = list(config["benchmarks"])
# The judges whose grades are averaged (the scores' pseudo-judge "panel" holds their average).
PANEL_JUDGES = config["panel"]
API_JUDGES = [j for j, spec in config["judges"].items() if spec["type"] == "openai"]
LOCAL_JUDGES = [j for j in config["judges"] if j not in API_JUDGES]


def one_of(names):
    """A wildcard constraint matching exactly these names (and nothing when there are none)."""
    return "|".join(map(re.escape, names)) if names else "(?!)"


def names_with(section, **fields):
    """Names of the entries under config[section] whose fields have these values."""
    return [
        name
        for name, spec in config[section].items()
        if all(spec.get(key) == value for key, value in fields.items())
    ]


def model_source(condition):
    return config["models"][root_model(config, condition)]["source"]


def model_dir(condition, seed):
    """A condition's checkpoint. A hub root is shared by every seed and is never copied."""
    spec = config["conditions"][condition]
    if "init" in spec and config["models"][spec["init"]]["source"] == "hub":
        return f"{RES}/hub/{spec['init']}"
    return f"{OUT}/models/{condition}/seed{seed}"


def dataset_file(name):
    return f"{RES}/data/{name}.jsonl"


def parent_model(wildcards):
    parent = config["conditions"][wildcards.condition]["from"]
    return model_dir(parent, wildcards.seed)


def training_data(wildcards):
    return dataset_file(config["conditions"][wildcards.condition]["data"])


def stage_spec(wildcards):
    """The stage block that trains this condition."""
    return config["stages"][config["conditions"][wildcards.condition]["stage"]]


# What each job asks the scheduler for comes from the world's config, so one profile serves every
# world: GPUs from the stage block's, the generation block's and a local judge's `gpus` (0 in the
# tiny and rehearsal worlds), CPUs (and threads), memory and runtime from `job_resources`.


def job_resource(rule, key):
    """`job_resources.<rule>.<key>` of the config: cpus, mem_mb or runtime (minutes)."""
    return config["job_resources"][rule][key]


def training_gpus(wildcards):
    """GPUs for this condition's stage job: the stage block's `gpus`."""
    return stage_spec(wildcards)["gpus"]


def pretraining_gpus(wildcards):
    """GPUs for pre-training a tiny root model: its `pretrain` block's `gpus`."""
    return config["models"][root_model(config, wildcards.condition)]["pretrain"]["gpus"]


def generation_gpus():
    return config["generation"]["gpus"]


def judge_gpus(wildcards):
    """A local judge's `gpus` (a transformers judge on a GPU); the lexical judge has none."""
    return config["judges"][wildcards.judge].get("gpus", 0)


def training_env(wildcards):
    """vLLM pins its own torch and transformers, so GRPO with use_vllm gets an env of its own."""
    uses_vllm = (stage_spec(wildcards).get("trainer") or {}).get("use_vllm")
    return "../envs/vllm.yaml" if uses_vllm else "../envs/train.yaml"


def reward_spec(wildcards):
    """The condition's reward entry; a reward model is read from its downloaded directory."""
    reward = config["conditions"][wildcards.condition].get("reward")
    if not reward:
        return None
    spec = config["rewards"][reward]
    if spec["type"] == "reward_model":
        return {**spec, "model": reward_model_dir(wildcards)}
    return spec


def reward_model_dir(wildcards):
    """A `reward_model` reward's checkpoint: its `models` entry, downloaded by download_model where
    the network is (compute nodes may be offline); nothing for other rewards."""
    reward = config["conditions"][wildcards.condition].get("reward")
    spec = config["rewards"][reward] if reward else {}
    return f"{RES}/hub/{spec['model']}" if spec.get("type") == "reward_model" else []


def training_runs():
    """Every model this workflow trains, per seed, in training order: the trained conditions and
    the tiny roots, which are pre-trained here (a hub root is downloaded, not trained)."""
    trained = [c for c in CONDITIONS if c in TRAINED or model_source(c) == "tiny"]
    return [{"condition": c, "seed": seed} for c in trained for seed in SEEDS]


TRAINING_RUNS = training_runs()


def used_sources():
    """Each "section/name" -> the file whose provenance records each input this run uses (hub models,
    datasets and benchmarks, downloaded or made here): the methods section names their commits."""
    datasets = {config["conditions"][c]["data"] for c in TRAINED}
    models = {root_model(config, c) for c in ROOTS}
    for name in models.copy():
        spec = config["models"][name]
        datasets |= set(spec.get("tokenizer_corpus", [])) | {spec.get("pretrain_data")} - {None}
    for condition in TRAINED:
        reward = config["rewards"].get(config["conditions"][condition].get("reward") or "", {})
        if reward.get("type") == "reward_model":
            models.add(reward["model"])
    found = {
        f"models/{m}": f"{RES}/hub/{m}"
        for m in sorted(models)
        if config["models"][m]["source"] == "hub"
    }
    found |= {f"datasets/{d}": f"{RES}/raw/{d}.jsonl" for d in sorted(datasets)}
    found |= {f"benchmarks/{b}": f"{RES}/raw/benchmarks/{b}/questions.jsonl" for b in BENCHMARKS}
    return found


USED_SOURCES = used_sources()


def checkpoint_dir(wildcards):
    """Resumable trainer checkpoints live outside the declared outputs, so a kill keeps them."""
    return f"{OUT}/checkpoints/{wildcards.condition}/seed{wildcards.seed}"


def scorer_version_of(bench):
    """The scorer version (value_retention/scorer_versions.py) that grades this benchmark."""
    return benchmark_scorer_version(config, bench)


def judge_scoring(wildcards):
    """What decides the grader prompt and the grade: the benchmark's scorer version and format, and
    the revision the AHB prompt's first line names (MORU's prompt has none)."""
    spec = config["benchmarks"][wildcards.bench]
    return {
        "version": scorer_version_of(wildcards.bench),
        "format": spec["format"],
        "revision": judge_revision(wildcards),
    }


def benchmark_file(kind):
    return f"{RES}/benchmarks/{{bench}}/{kind}.jsonl"


def generation_spec(wildcards):
    """The generation block, with the condition's own prompt_format where it sets one."""
    override = config["conditions"][wildcards.condition].get("prompt_format")
    return {**config["generation"], **({"prompt_format": override} if override else {})}


def generation_env():
    return (
        "../envs/vllm.yaml"
        if config["generation"]["backend"] == "vllm"
        else "../envs/evaluate.yaml"
    )


def judge_revision(wildcards):
    """The AHB grader prompt opens with a revision line (its `prompt_revision`, else the revision it
    was downloaded at: a pinned commit need not change the prompt); MORU's has none."""
    spec = config["benchmarks"][wildcards.bench]
    if spec["format"] != "ahb":
        return None
    return spec.get("prompt_revision", spec.get("revision", "tiny"))


def for_report(paths):
    """The figures' PNGs and the tables' HTML pages go into `snakemake --report`, each with its
    caption and category (value_retention.outputs.report_section); PDFs and LaTeX are the paper's.
    """

    def item(path):
        section = report_section(path)
        if section is None:
            return path
        category, subcategory, caption = section
        return report(
            path,
            caption=f"../report/{caption}.rst",
            category=category,
            subcategory=subcategory,
        )

    return [item(path) for path in paths]


wildcard_constraints:
    seed=r"\d+",
    bench=one_of(BENCHMARKS),
    condition=one_of(CONDITIONS),
    judge=one_of(config["judges"]),
