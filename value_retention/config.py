"""The workflow config: schema validation, the condition tree, and helpers the rules share.

The JSON schema (``config/schema.yaml``) checks shapes and types; :func:`check_config` checks
what a schema cannot: that every condition's parent exists, that the tree has no cycle, that every
name a condition uses (dataset, stage, reward, model) is declared, that every condition named in
``analysis`` and ``references`` is declared, and that each API judge has a model and a well-formed
base URL. :func:`preflight` checks what depends on the machine rather than the config (local files,
judges' key variables), for the jobs about to run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError
from .scorer_versions import DEFAULT_VERSION, scorer_version
from .stats_json import GROUPS

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"
STAGE_DATA_FORMATS = {
    "midtrain": {"text"},
    "sft": {"dolly", "magicoder", "messages"},
    "grpo": {"rlhflow", "magicoder_prompts", "prompts"},
}


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML config, validate it against the schema, and check the condition tree."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", source=str(path)) from None
    validate_schema(config, source=str(path))
    check_config(config, source=str(path))
    return config


def validate_schema(config: Any, source: str = "config") -> None:
    import jsonschema

    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        key = ".".join(str(part) for part in first.absolute_path) or "<top level>"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{first.message}{more}", key=key, source=source)


def check_config(config: Mapping[str, Any], source: str = "config") -> None:
    """Semantic checks on a schema-valid config; raises ConfigError naming the key."""
    conditions = config["conditions"]
    for name, spec in conditions.items():
        key = f"conditions.{name}"
        if "from" in spec:
            if spec["from"] not in conditions:
                raise ConfigError(f"parent '{spec['from']}' is not a declared condition "
                                  f"(declared: {', '.join(conditions)})", key=f"{key}.from", source=source)
            stage = spec["stage"]
            if stage not in config.get("stages", {}):
                raise ConfigError(f"stage '{stage}' has no block under 'stages'", key=f"{key}.stage", source=source)
            data = spec["data"]
            if data not in config.get("datasets", {}):
                raise ConfigError(f"dataset '{data}' is not declared under 'datasets'", key=f"{key}.data",
                                  source=source)
            data_format = config["datasets"][data]["format"]
            if data_format not in STAGE_DATA_FORMATS[stage]:
                raise ConfigError(f"dataset '{data}' has format '{data_format}', which stage '{stage}' "
                                  f"cannot train on (expects {sorted(STAGE_DATA_FORMATS[stage])})",
                                  key=f"{key}.data", source=source)
            if stage == "grpo":
                if spec.get("reward") not in config.get("rewards", {}):
                    raise ConfigError(f"reward '{spec.get('reward')}' is not declared under 'rewards'",
                                      key=f"{key}.reward", source=source)
        elif spec["init"] not in config.get("models", {}):
            raise ConfigError(f"model '{spec['init']}' is not declared under 'models'", key=f"{key}.init",
                              source=source)
    for name in conditions:
        lineage(config, name)  # raises on a cycle
    for name, model in config.get("models", {}).items():
        for removed, why in REMOVED_KEYS.items():
            if removed in model:
                raise ConfigError(f"'{removed}' is no longer a setting: {why}", key=f"models.{name}.{removed}",
                                  source=source)
        for dataset in [model.get("pretrain_data"), *model.get("tokenizer_corpus", [])]:
            if dataset is not None and dataset not in config.get("datasets", {}):
                raise ConfigError(f"dataset '{dataset}' is not declared under 'datasets'",
                                  key=f"models.{name}", source=source)
    for bench in config.get("benchmarks", {}):
        benchmark_scorer_version(config, bench)  # raises on an unknown version, naming the key
    for judge in config["panel"]:
        if judge not in config["judges"]:
            raise ConfigError(f"judge '{judge}' is not declared under 'judges'", key="panel", source=source)
    for name, judge in config["judges"].items():
        check_judge(name, judge, source)
    check_condition_names(config, source)


REMOVED_KEYS = {
    "torch_dtype": "it was never read: training loads a checkpoint in the dtype it was saved in, and "
                   "generation runs in bfloat16 on GPUs (float32 on CPUs); delete the key",
}


def check_judge(name: str, judge: Mapping[str, Any], source: str = "config") -> None:
    """An API judge needs a model to ask and, if it names one, a base URL that is an http(s) URL."""
    key = f"judges.{name}"
    if judge["type"] in ("openai", "transformers") and not str(judge.get("model") or "").strip():
        raise ConfigError(f"the {judge['type']} judge '{name}' needs 'model' (the model to ask)", key=f"{key}.model",
                          source=source)
    if judge["type"] == "openai" and judge.get("base_url") is not None:
        url = str(judge["base_url"])
        try:
            parts = urlsplit(url)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok \
                or url != url.strip():
            raise ConfigError(f"base_url {url!r} is not an http(s) URL with a host "
                              "(e.g. https://api.openai.com/v1 or http://judge-node:8000/v1)",
                              key=f"{key}.base_url", source=source)


def check_condition_names(config: Mapping[str, Any], source: str = "config") -> None:
    """Every condition, benchmark and language group named in ``analysis`` and ``references`` is
    declared: a typo there would silently drop a contrast or a published number."""
    conditions = config["conditions"]

    def declared(name: Any, key: str) -> None:
        if name not in conditions:
            raise ConfigError(f"condition '{name}' is not declared (declared: {', '.join(conditions)})",
                              key=key, source=source)

    analysis = config.get("analysis") or {}
    for index, pair in enumerate(analysis.get("contrasts", [])):
        for name in pair:
            declared(name, f"analysis.contrasts.{index}")
    if "reference_condition" in analysis:
        declared(analysis["reference_condition"], "analysis.reference_condition")
    for index, name in enumerate(analysis.get("transfer_ratio") or []):
        declared(name, f"analysis.transfer_ratio.{index}")
    for bench, groups in (config.get("references") or {}).items():
        if bench not in config["benchmarks"]:
            raise ConfigError(f"benchmark '{bench}' is not declared under 'benchmarks' "
                              f"(declared: {', '.join(config['benchmarks'])})", key=f"references.{bench}",
                              source=source)
        for group, values in groups.items():
            if group not in GROUPS:
                raise ConfigError(f"unknown language group '{group}' (expected one of {', '.join(GROUPS)})",
                                  key=f"references.{bench}.{group}", source=source)
            for name in values:
                declared(name, f"references.{bench}.{group}.{name}")


# --------------------------------------------------------------------------------------------
# Preflight: what the machine must provide for the jobs about to run

def local_paths(config: Mapping[str, Any]) -> dict[str, str]:
    """Every local file the config names (``source: local`` datasets and benchmarks), by key."""
    paths = {}
    for name, spec in config.get("datasets", {}).items():
        if spec.get("source") == "local" and spec.get("path"):
            paths[f"datasets.{name}.path"] = spec["path"]
    for name, spec in config.get("benchmarks", {}).items():
        if spec.get("source") == "local":
            for field in ("questions_path", "dimensions_path"):
                if spec.get(field):
                    paths[f"benchmarks.{name}.{field}"] = spec[field]
    return paths


def preflight(config: Mapping[str, Any], jobs: Iterable[tuple[str, Mapping[str, str]]] | None = None,
              workdir: str | os.PathLike = ".") -> list[ConfigError]:
    """What the jobs about to run need from this machine and is missing, one error per key.

    ``jobs`` are (rule, wildcards) pairs; None: every job the config could run. A local file must
    exist (relative paths are relative to ``workdir``, Snakemake's working directory) for the
    download job that copies it; an API judge's key variable must be set for its judge jobs,
    which run on this host (``judge_api`` is a local rule). A judge job whose answers are all
    cached needs no key, but which are cached is not known before it runs: set the variable, or
    run the jobs that need no key first (``--until``).
    """
    named_by = {"download_dataset": "dataset", "download_benchmark": "bench", "judge_api": "judge"}
    wanted = None if jobs is None else {(rule, wildcards.get(named_by[rule])) for rule, wildcards in jobs
                                        if rule in named_by}
    errors = []
    for key, path in local_paths(config).items():
        section, name = key.split(".")[:2]
        rule = "download_dataset" if section == "datasets" else "download_benchmark"
        if wanted is not None and (rule, name) not in wanted:
            continue
        full = Path(path) if Path(path).is_absolute() else Path(workdir) / path
        if not full.is_file():
            where = "" if Path(path).is_absolute() else f" (relative to {Path(workdir).resolve()})"
            errors.append(ConfigError(f"the local file {path} does not exist{where}", key=key))
    for name, judge in config["judges"].items():
        if judge["type"] != "openai" or (wanted is not None and ("judge_api", name) not in wanted):
            continue
        variable = judge.get("api_key_env", "OPENAI_API_KEY")
        if not os.environ.get(variable):
            errors.append(ConfigError(f"judge '{name}' reads its API key from the environment variable "
                                      f"{variable}, which is not set here, where its judge_api jobs run",
                                      key=f"judges.{name}.api_key_env"))
    return errors


def benchmark_scorer_version(config: Mapping[str, Any], bench: str) -> str:
    """The scorer version that grades ``bench``: the benchmark's own ``scorer_version``, else the
    top-level ``scorer_version``, else the newest reference (value_retention.scorer_versions)."""
    name = config["benchmarks"][bench].get("scorer_version") or config.get("scorer_version") or DEFAULT_VERSION
    key = (f"benchmarks.{bench}.scorer_version" if config["benchmarks"][bench].get("scorer_version")
           else "scorer_version")
    return scorer_version(name, key=key).name


def lineage(config: Mapping[str, Any], condition: str) -> list[str]:
    """Conditions from the root to ``condition`` inclusive; raises ConfigError on a cycle."""
    conditions = config["conditions"]
    chain = [condition]
    while "from" in conditions[chain[-1]]:
        parent = conditions[chain[-1]]["from"]
        if parent in chain:
            cycle = " -> ".join([*chain[chain.index(parent):], parent])
            raise ConfigError(f"the condition tree has a cycle: {cycle} (each is trained from the next)",
                              key=f"conditions.{condition}")
        chain.append(parent)
    return list(reversed(chain))


def condition_order(config: Mapping[str, Any]) -> list[str]:
    """Conditions in training order: parents before children, ties in declaration order."""
    return sorted(config["conditions"], key=lambda name: len(lineage(config, name)))


def parent(config: Mapping[str, Any], condition: str) -> str | None:
    return config["conditions"][condition].get("from")


def root_model(config: Mapping[str, Any], condition: str) -> str:
    """The ``models`` entry at the root of ``condition``'s lineage."""
    return config["conditions"][lineage(config, condition)[0]]["init"]


def language_group(language: str) -> str:
    """English vs non-English, the split the paper's transfer claims use."""
    return "english" if language.strip().lower() == "english" else "non_english"
