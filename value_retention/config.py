"""The workflow config: schema validation, the condition tree, and helpers the rules share.

The JSON schema (``config/schema.yaml``) checks shapes and types; :func:`check_config` checks
what a schema cannot: that every condition's parent exists, that the tree has no cycle, that
every name a condition uses (dataset, stage, reward, model) is declared, and that every stage's
``trainer`` and ``lora`` keys are fields of TRL's and PEFT's configs
(:mod:`value_retention.trainer_config`). A stage key from before the ``trainer:`` block is
reported with its new name, before the schema's more general complaint.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .scorer_versions import DEFAULT_VERSION, scorer_version

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
    check_moved_keys(config, source=str(path))
    validate_schema(config, source=str(path))
    check_config(config, source=str(path))
    return config


def check_moved_keys(config: Any, source: str = "config") -> None:
    """Before the schema: a stage key that moved under ``trainer:`` is an error giving its new name."""
    from .trainer_config import check_moved_config_keys

    check_moved_config_keys(config, source=source)


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
    check_stage_blocks(config, source)
    for name, model in config.get("models", {}).items():
        for dataset in [model.get("pretrain_data"), *model.get("tokenizer_corpus", [])]:
            if dataset is not None and dataset not in config.get("datasets", {}):
                raise ConfigError(f"dataset '{dataset}' is not declared under 'datasets'",
                                  key=f"models.{name}", source=source)
    for name, reward in config.get("rewards", {}).items():
        if reward["type"] == "reward_model":
            model = config.get("models", {}).get(reward.get("model"))
            if model is None or model.get("source") != "hub":
                raise ConfigError(f"'{reward.get('model')}' is not a hub model under 'models': a reward model is a "
                                  "models entry (source: hub, repo, revision), which the download_model rule "
                                  "fetches where the network is, since compute nodes may be offline",
                                  key=f"rewards.{name}.model", source=source)
    for bench in config.get("benchmarks", {}):
        benchmark_scorer_version(config, bench)  # raises on an unknown version, naming the key
    for judge in config["panel"]:
        if judge not in config["judges"]:
            raise ConfigError(f"judge '{judge}' is not declared under 'judges'", key="panel", source=source)
    for index, (left, right) in enumerate(config.get("analysis", {}).get("contrasts", [])):
        for name in (left, right):
            if name not in conditions:
                raise ConfigError(f"condition '{name}' is not declared", key=f"analysis.contrasts.{index}",
                                  source=source)


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


def check_stage_blocks(config: Mapping[str, Any], source: str = "config") -> None:
    """Every stage block's ``trainer`` and ``lora`` keys against TRL's and PEFT's dataclasses.

    Where TRL or PEFT cannot be imported (a controller environment without them), the check is
    left to each train job, which makes it again before training, and a warning says so.
    """
    try:
        from .trainer_config import check_config_stages

        check_config_stages(config, source=source)
    except ImportError as error:
        warnings.warn(f"{source}: stage blocks not checked against TRL's configs here ({error}); "
                      "each train job checks its own before training", stacklevel=2)
