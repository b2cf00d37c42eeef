# Checkpoints. Roots come from `models` (a tiny Llama made here, or a hub checkpoint downloaded by a
# local rule); every other condition is trained from its parent by its stage (midtrain, sft, grpo).


rule train_tokenizer:
    input:
        corpus=lambda w: [dataset_file(d) for d in config["models"][w.model]["tokenizer_corpus"]],
    output:
        tokenizer=directory(f"{RES}/tokenizers/{{model}}"),
    log:
        f"{LOGS}/train_tokenizer/{{model}}.log",
    wildcard_constraints:
        model=one_of(names_with("models", source="tiny")),
    conda:
        "../envs/train.yaml"
    params:
        spec=lookup(dpath="models/{model}", within=config),
    script:
        "../scripts/train_tokenizer.py"


rule init_model:
    input:
        tokenizer=lambda w: f"{RES}/tokenizers/{root_model(config, w.condition)}",
        data=lambda w: dataset_file(
            config["models"][root_model(config, w.condition)]["pretrain_data"]
        ),
    output:
        model=directory(f"{OUT}/models/{{condition}}/seed{{seed}}"),
    log:
        f"{LOGS}/init_model/{{condition}}/seed{{seed}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/init_model/{{condition}}/seed{{seed}}.tsv"
    wildcard_constraints:
        condition=one_of([c for c in ROOTS if model_source(c) == "tiny"]),
    conda:
        "../envs/train.yaml"
    threads: job_resource("init_model", "cpus")
    resources:
        gpu=pretraining_gpus,
        cpus_per_task=job_resource("init_model", "cpus"),
        mem_mb=job_resource("init_model", "mem_mb"),
        runtime=job_resource("init_model", "runtime"),
    params:
        spec=lambda w: config["models"][root_model(config, w.condition)],
        seed=lambda w: int(w.seed),
        checkpoint_dir=checkpoint_dir,
    script:
        "../scripts/init_model.py"


rule download_model:
    output:
        model=directory(f"{RES}/hub/{{model}}"),
    log:
        f"{LOGS}/download_model/{{model}}.log",
    wildcard_constraints:
        model=one_of(names_with("models", source="hub")),
    localrule: True
    conda:
        "../envs/train.yaml"
    params:
        spec=lookup(dpath="models/{model}", within=config),
    script:
        "../scripts/download_model.py"


rule train:
    input:
        parent=parent_model,
        data=training_data,
        reward_model=reward_model_dir,
    output:
        model=directory(f"{OUT}/models/{{condition}}/seed{{seed}}"),
    log:
        f"{LOGS}/train/{{condition}}/seed{{seed}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train/{{condition}}/seed{{seed}}.tsv"
    wildcard_constraints:
        condition=one_of(TRAINED),
    conda:
        training_env
    threads: job_resource("train", "cpus")
    resources:
        # The stage's `gpus`: one process per GPU, several through accelerate (FSDP). The profile
        # says which GPU type and partition; the count belongs to the world, so it lives here.
        gpu=training_gpus,
        cpus_per_task=job_resource("train", "cpus"),
        mem_mb=job_resource("train", "mem_mb"),
        runtime=job_resource("train", "runtime"),
    params:
        stage=lookup(dpath="conditions/{condition}/stage", within=config),
        spec=stage_spec,
        reward=reward_spec,
        seed=lambda w: int(w.seed),
        checkpoint_dir=checkpoint_dir,
    script:
        "../scripts/train.py"


rule training_report:
    # Every trained model's training log -> one summary (the statistics carry its learning-check
    # warnings into the paper) and the training-curves figure of the report and the appendix.
    input:
        models=[model_dir(run["condition"], run["seed"]) for run in TRAINING_RUNS],
    output:
        summary=f"{OUT}/training/summary.json",
        figure_pdf=f"{OUT}/figures/training_curves.pdf",
        figure_png=report(
            f"{OUT}/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="Curves",
        ),
    log:
        f"{LOGS}/training_report.log",
    conda:
        "../envs/analyze.yaml"
    params:
        runs=TRAINING_RUNS,
    script:
        "../scripts/training_report.py"
