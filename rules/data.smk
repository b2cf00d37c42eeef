# Datasets and benchmarks: make (tiny world) or download (paper world) the raw files in their real
# schemas, then normalise them. Downloads are local rules: they run where the network is (the
# login node), and every other rule reads local files only.


rule tiny_dataset:
    output:
        raw=f"{RES}/raw/{{dataset}}.jsonl",
    log:
        f"{LOGS}/tiny_dataset/{{dataset}}.log",
    wildcard_constraints:
        dataset=one_of(names_with("datasets", source="tiny")),
    conda:
        "../envs/data.yaml"
    params:
        spec=lookup(dpath="datasets/{dataset}", within=config),
        seed=SEEDS[0],
    script:
        "../scripts/make_tiny_dataset.py"


rule download_dataset:
    output:
        raw=f"{RES}/raw/{{dataset}}.jsonl",
    log:
        f"{LOGS}/download_dataset/{{dataset}}.log",
    wildcard_constraints:
        dataset=one_of(
            names_with("datasets", source="hub") + names_with("datasets", source="local")
        ),
    localrule: True
    conda:
        "../envs/data.yaml"
    params:
        spec=lookup(dpath="datasets/{dataset}", within=config),
    script:
        "../scripts/download_dataset.py"


rule prepare_dataset:
    input:
        raw=f"{RES}/raw/{{dataset}}.jsonl",
    output:
        data=f"{RES}/data/{{dataset}}.jsonl",
    log:
        f"{LOGS}/prepare_dataset/{{dataset}}.log",
    wildcard_constraints:
        dataset=one_of(list(config["datasets"])),
    conda:
        "../envs/data.yaml"
    params:
        spec=lookup(dpath="datasets/{dataset}", within=config),
    script:
        "../scripts/prepare_dataset.py"


rule tiny_benchmark:
    output:
        questions=f"{RES}/raw/benchmarks/{{bench}}/questions.jsonl",
        dimensions=f"{RES}/raw/benchmarks/{{bench}}/dimensions.jsonl",
    log:
        f"{LOGS}/tiny_benchmark/{{bench}}.log",
    wildcard_constraints:
        bench=one_of(names_with("benchmarks", source="tiny")),
    conda:
        "../envs/data.yaml"
    params:
        spec=lookup(dpath="benchmarks/{bench}", within=config),
        seed=SEEDS[0],
    script:
        "../scripts/make_tiny_benchmark.py"


rule download_benchmark:
    output:
        questions=f"{RES}/raw/benchmarks/{{bench}}/questions.jsonl",
        dimensions=f"{RES}/raw/benchmarks/{{bench}}/dimensions.jsonl",
    log:
        f"{LOGS}/download_benchmark/{{bench}}.log",
    wildcard_constraints:
        bench=one_of(
            names_with("benchmarks", source="hub") + names_with("benchmarks", source="local")
        ),
    localrule: True
    conda:
        "../envs/data.yaml"
    params:
        spec=lookup(dpath="benchmarks/{bench}", within=config),
    script:
        "../scripts/download_benchmark.py"


rule prepare_benchmark:
    input:
        questions=f"{RES}/raw/benchmarks/{{bench}}/questions.jsonl",
        dimensions=f"{RES}/raw/benchmarks/{{bench}}/dimensions.jsonl",
    output:
        questions=benchmark_file("questions"),
        dimensions=benchmark_file("dimensions"),
        report=f"{RES}/benchmarks/{{bench}}/report.json",
    log:
        f"{LOGS}/prepare_benchmark/{{bench}}.log",
    conda:
        "../envs/data.yaml"
    params:
        spec=lookup(dpath="benchmarks/{bench}", within=config),
    script:
        "../scripts/prepare_benchmark.py"
