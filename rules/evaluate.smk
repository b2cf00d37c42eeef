# Every condition answers every benchmark question; every panel judge grades every answer; the
# grades are scored exactly as the reference implementation scores them.

import mimetypes


rule generate:
    input:
        model=lambda w: model_dir(w.condition, w.seed),
        questions=benchmark_file("questions"),
    output:
        generations=f"{OUT}/generations/{{bench}}/{{condition}}/seed{{seed}}.jsonl",
    log:
        f"{LOGS}/generate/{{bench}}/{{condition}}/seed{{seed}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/generate/{{bench}}/{{condition}}/seed{{seed}}.tsv"
    conda:
        generation_env()
    threads: job_resource("generate", "cpus")
    resources:
        gpu=generation_gpus(),
        cpus_per_task=job_resource("generate", "cpus"),
        mem_mb=job_resource("generate", "mem_mb"),
        runtime=job_resource("generate", "runtime"),
    params:
        spec=generation_spec,
        condition="{condition}",
        seed=lambda w: int(w.seed),
    script:
        "../scripts/generate.py"


# Local judges (lexical, a transformers model) run as cluster jobs.
rule judge:
    input:
        generations=rules.generate.output.generations,
        questions=benchmark_file("questions"),
        dimensions=benchmark_file("dimensions"),
    output:
        judgments=f"{OUT}/judgments/{{bench}}/{{condition}}/seed{{seed}}/{{judge}}.jsonl",
    log:
        f"{LOGS}/judge/{{bench}}/{{condition}}/seed{{seed}}/{{judge}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/judge/{{bench}}/{{condition}}/seed{{seed}}/{{judge}}.tsv"
    wildcard_constraints:
        judge=one_of(LOCAL_JUDGES),
    conda:
        "../envs/evaluate.yaml"
    threads: job_resource("judge", "cpus")
    resources:
        gpu=judge_gpus,
        cpus_per_task=job_resource("judge", "cpus"),
        mem_mb=job_resource("judge", "mem_mb"),
        runtime=job_resource("judge", "runtime"),
    params:
        judge="{judge}",
        spec=lookup(dpath="judges/{judge}", within=config),
        scoring=judge_scoring,
        draw_scope="{bench}/{condition}/seed{seed}",
        # Shared by every judge job: a re-run never pays twice for an answered prompt.
        cache_dir=f"{RES}/judge_cache",
    script:
        "../scripts/judge.py"


# API judges run on the submitting host: compute nodes are often offline, and the SQLite response
# cache wants all its writers on one machine.
use rule judge as judge_api with:
    wildcard_constraints:
        judge=one_of(API_JUDGES),
    localrule: True


rule score:
    input:
        questions=benchmark_file("questions"),
        dimensions=benchmark_file("dimensions"),
        judgments=expand(rules.judge.output.judgments, judge=PANEL_JUDGES, allow_missing=True),
    output:
        scores=f"{OUT}/scores/{{bench}}/{{condition}}/seed{{seed}}.json",
        tidy=f"{OUT}/scores/{{bench}}/{{condition}}/seed{{seed}}.csv",
    log:
        f"{LOGS}/score/{{bench}}/{{condition}}/seed{{seed}}.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        benchmark=lookup(dpath="benchmarks/{bench}/format", within=config),
        scorer_version=lambda w: scorer_version_of(w.bench),
        bench="{bench}",
        condition="{condition}",
        seed=lambda w: int(w.seed),
    script:
        "../scripts/score.py"


rule collect_scores:
    input:
        tidy=expand(rules.score.output.tidy, condition=CONDITIONS, seed=SEEDS, allow_missing=True),
    output:
        scores=f"{OUT}/scores/{{bench}}.csv",
    log:
        f"{LOGS}/collect_scores/{{bench}}.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/collect_scores.py"


# An Inspect .eval file is a zip archive: the HTML report offers it for download as one.
mimetypes.add_type("application/zip", ".eval")


# The run as an Inspect eval log (value_retention/inspect_logs.py), for `inspect view` beside a
# reference run: each question's answers, every judge call's prompt, reply and grade, the scores.
rule inspect_log:
    input:
        generations=rules.generate.output.generations,
        questions=benchmark_file("questions"),
        dimensions=benchmark_file("dimensions"),
        judgments=expand(rules.judge.output.judgments, judge=PANEL_JUDGES, allow_missing=True),
        scores=rules.score.output.scores,
        tidy=rules.score.output.tidy,
    output:
        eval_log=report(
            f"{OUT}/inspect/{{bench}}/{{condition}}/seed{{seed}}.eval",
            caption="../report/inspect_log.rst",
            category="Judging",
            subcategory="{bench}: Inspect logs",
            labels={"condition": "{condition}", "seed": "{seed}"},
        ),
    log:
        f"{LOGS}/inspect_log/{{bench}}/{{condition}}/seed{{seed}}.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        bench="{bench}",
        condition="{condition}",
        seed=lambda w: int(w.seed),
        scoring=judge_scoring,
        generation=generation_spec,
        # the checkpoint's path names the answering model; the log does not read the checkpoint
        model=lambda w: model_dir(w.condition, w.seed),
        judges={judge: config["judges"][judge] for judge in PANEL_JUDGES},
    script:
        "../scripts/inspect_log.py"
