# Every condition answers every benchmark question; every panel judge grades every answer; the
# grades are scored exactly as the reference implementation scores them.


def generation_spec(wildcards):
    """The generation block, with the condition's own prompt_format where it sets one."""
    override = config["conditions"][wildcards.condition].get("prompt_format")
    return {**config["generation"], **({"prompt_format": override} if override else {})}


rule generate:
    input:
        model=lambda w: model_dir(w.condition, w.seed),
        questions=benchmark_file("questions"),
    output:
        generations=f"{OUT}/generations/{{bench}}/{{condition}}/seed{{seed}}.jsonl",
    params:
        spec=generation_spec,
        condition="{condition}",
        seed=lambda w: int(w.seed),
    conda:
        "../envs/vllm.yaml" if config["generation"].get("backend") == "vllm" else "../envs/evaluate.yaml"
    script:
        "../scripts/generate.py"


def judge_scoring(wildcards):
    """What decides the grader prompt and the grade: the benchmark's scorer version and format, and
    the revision the AHB prompt's first line names (MORU's prompt has none)."""
    spec = config["benchmarks"][wildcards.bench]
    return {"version": scorer_version_of(wildcards.bench), "format": spec["format"],
            "revision": spec.get("revision", "tiny") if spec["format"] == "ahb" else None}


JUDGE_JOB = dict(
    input=dict(
        generations=f"{OUT}/generations/{{bench}}/{{condition}}/seed{{seed}}.jsonl",
        questions=benchmark_file("questions"),
        dimensions=benchmark_file("dimensions"),
    ),
    output=f"{OUT}/judgments/{{bench}}/{{condition}}/seed{{seed}}/{{judge}}.jsonl",
    params=dict(
        judge="{judge}",
        spec=lookup(dpath="judges/{judge}", within=config),
        scoring=judge_scoring,
        draw_scope="{bench}/{condition}/seed{seed}",
        # Shared by every judge job: a re-run never pays twice for an answered prompt.
        cache_dir=f"{RES}/judge_cache",
    ),
)


rule judge:
    input:
        **JUDGE_JOB["input"],
    output:
        judgments=JUDGE_JOB["output"],
    wildcard_constraints:
        judge=one_of([j for j in config["judges"] if config["judges"][j]["type"] != "openai"]),
    params:
        **JUDGE_JOB["params"],
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/judge.py"


# API judges run on the submitting host: compute nodes are often offline, and the SQLite response
# cache wants all its writers on one machine.
rule judge_api:
    input:
        **JUDGE_JOB["input"],
    output:
        judgments=JUDGE_JOB["output"],
    wildcard_constraints:
        judge=one_of([j for j in config["judges"] if config["judges"][j]["type"] == "openai"]),
    params:
        **JUDGE_JOB["params"],
    localrule: True
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/judge.py"


rule score:
    input:
        questions=benchmark_file("questions"),
        dimensions=benchmark_file("dimensions"),
        judgments=expand(JUDGE_JOB["output"], judge=PANEL, allow_missing=True),
    output:
        scores=f"{OUT}/scores/{{bench}}/{{condition}}/seed{{seed}}.json",
        tidy=f"{OUT}/scores/{{bench}}/{{condition}}/seed{{seed}}.csv",
    params:
        benchmark=lookup(dpath="benchmarks/{bench}/format", within=config),
        scorer_version=lambda w: scorer_version_of(w.bench),
        bench="{bench}",
        condition="{condition}",
        seed=lambda w: int(w.seed),
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/score.py"


rule collect_scores:
    input:
        tidy=expand(rules.score.output.tidy, condition=CONDITIONS, seed=SEEDS, allow_missing=True),
    output:
        scores=f"{OUT}/scores/{{bench}}.csv",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/collect_scores.py"
