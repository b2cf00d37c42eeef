"""The workflow config: one loader for the workflow and ``check-config``, the condition tree, and
helpers the rules share.

:func:`load_config` reads one or more YAML files, merged in order as Snakemake merges
``--configfile A B`` (mappings key by key, anything else replaced), then ``--config key=value``
overrides, and returns the config the workflow runs with:

1. each file read strictly (:func:`value_retention.schema.load_yaml`: a duplicate key is an error);
2. a stage key from before the ``trainer:`` block reported with its new name;
3. the JSON schema (``config/schema.yaml``), its problems worded as a few lines naming the key and
   the file that set it; then every default the schema gives filled in;
4. :func:`check_config`, what a schema cannot say: that every condition's parent exists, that the
   tree has no cycle, that every name a condition uses (dataset, stage, reward, model) is
   declared, and that every stage block passes TRL's and PEFT's own checks
   (:mod:`value_retention.trainer_config`), that every condition named in ``analysis`` and
   ``references`` is declared, and that each API judge has a model and a well-formed base URL.

:func:`preflight` checks what depends on the machine rather than the config (local files, judges'
key variables), for the jobs about to run.

``rules/common.smk`` calls it on the files Snakemake loaded (``workflow.configfiles``) and the
``--config`` arguments, so the workflow and ``value-retention check-config`` run the same code.
"""

from __future__ import annotations

import copy
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import schema
from .claims_spec import resolve_claims
from .errors import ConfigError, ConfigErrors
from .scorer_versions import DEFAULT_VERSION, scorer_version
from .stats_json import GROUPS

SCHEMA_PATH = schema.SCHEMA_PATH
STAGE_DATA_FORMATS = {
    "midtrain": {"text"},
    "sft": {"dolly", "magicoder", "messages"},
    "grpo": {"rlhflow", "magicoder_prompts", "prompts"},
}
OVERRIDES = "--config"  # how errors name the command line's overrides
FULL_CONFIG_HINT = ("an overlay (a partial config) goes after a full one, as in "
                    "`--configfile config/paper.yaml over.yaml` (check-config: `value-retention check-config "
                    "config/paper.yaml over.yaml`)")


def load_config(*paths: str | os.PathLike, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The config that ``paths`` (merged in order) and ``overrides`` (``key=value`` strings, as
    Snakemake's ``--config`` takes them) make: validated, with its defaults, and checked."""
    layers = [(display_path(path), schema.load_yaml_file(path, display_path(path))) for path in paths]
    if overrides:
        layers.append((OVERRIDES, parse_overrides(overrides)))
    return validated(layers)


def validated(layers: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Merge ``(source, mapping)`` layers in order, validate, fill in defaults and check."""
    if not layers:
        raise ConfigError("no config given: name a config file")
    for source, data in layers:
        if not isinstance(data, Mapping):
            raise ConfigError(f"a config is a mapping of keys, not {type(data).__name__}", source=source)
    config: dict[str, Any] = {}
    for _, data in layers:
        merge(config, data)
    if "conditions" not in config:
        missing = [key for key in schema.schema()["required"] if key not in config]
        raise ConfigError(f"not a full config: it has no {', '.join(missing)}; {FULL_CONFIG_HINT}",
                          source=" + ".join(source for source, _ in layers))
    located = _locator(layers)
    try:
        check_moved_keys(config)
    except ConfigError as error:
        raise located(error) from None
    problems = schema.errors(config)
    if problems:
        raise ConfigErrors([located(problem) for problem in problems])
    schema.fill_defaults(config)
    try:
        check_config(config)
    except ConfigError as error:
        raise located(error) from None
    return config


def merge(config: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into ``config`` in place as Snakemake does (snakemake.utils.update_config):
    a mapping is merged key by key, any other value (a list included) replaces what was there."""
    for key, value in overlay.items():
        if isinstance(value, Mapping):
            base = config.get(key)
            config[key] = merge(base if isinstance(base, dict) else {}, value)
        else:
            config[key] = copy.deepcopy(value)
    return config


def parse_overrides(entries: Sequence[str]) -> dict[str, Any]:
    """``--config key=value`` arguments as Snakemake reads them, except that a list or mapping is
    read as YAML reads a config file: Snakemake parses them with YAML's BaseLoader, which leaves
    every item a string, so ``seeds=[0,1,2]`` would give the strings '0', '1', '2'. A scalar is
    what Snakemake makes of it (an int, a float, True/False, else the string)."""
    overrides: dict[str, Any] = {}
    for entry in entries:
        key, sep, text = entry.partition("=")
        if not sep or not re.fullmatch(r"[a-zA-Z_][\w-]*\w", key):
            raise ConfigError(f"a --config entry is key=value with a key at the top level, not {entry!r} "
                              "(a nested key is set as a mapping: 'generation={epochs: 3}')", source=OVERRIDES)
        merge(overrides, {key: _override_value(text.strip("'\""), key)})
    return overrides


def _override_value(text: str, key: str) -> Any:
    if text == "":
        return None
    for parse in (int, float, {"True": True, "False": False}.__getitem__):
        try:
            return parse(text)
        except (ValueError, KeyError):
            pass
    try:
        value = schema.load_yaml(text, f"{OVERRIDES} {key}")
    except ConfigError:
        return text
    return value if isinstance(value, (dict, list)) else text


def display_path(path: str | os.PathLike) -> str:
    """A config file's name as errors show it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _locator(layers: Sequence[tuple[str, Any]]):
    """A function that gives a ConfigError the source (file, or --config) that set its key: the
    last layer holding the longest part of the key's path."""

    def depth(data: Any, parts: list[str]) -> int:
        for found, part in enumerate(parts):
            if not isinstance(data, Mapping) or part not in data:
                return found
            data = data[part]
        return len(parts)

    def located(error: ConfigError) -> ConfigError:
        parts = (error.key or "").split(".") if error.key else []
        depths = [depth(data, parts) for _, data in layers]
        best = max(depths, default=0)
        if best == 0 or len(layers) == 1:
            source = " + ".join(source for source, _ in layers) if best == 0 else layers[0][0]
        else:
            source = next(layers[index][0] for index in reversed(range(len(layers))) if depths[index] == best)
        return error.located(source)

    return located


def check_moved_keys(config: Any, source: str = "config") -> None:
    """Before the schema: a stage key that moved under ``trainer:`` is an error giving its new name,
    and a removed key one saying why it went."""
    from .trainer_config import check_moved_config_keys

    check_moved_config_keys(config, source=source)
    models = config.get("models") if isinstance(config, Mapping) else None
    for name, model in (models or {}).items():
        for removed, why in REMOVED_KEYS.items():
            if isinstance(model, Mapping) and removed in model:
                raise ConfigError(f"'{removed}' is no longer a setting: {why}", key=f"models.{name}.{removed}",
                                  source=source)


def validate_schema(config: Any, source: str = "config") -> None:
    """The schema's check alone (no defaults filled in): ConfigErrors naming each key."""
    problems = schema.errors(config)
    if problems:
        raise ConfigErrors([problem.located(source) for problem in problems])


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
    for judge in config["panel"]:
        if judge not in config["judges"]:
            raise ConfigError(f"judge '{judge}' is not declared under 'judges'", key="panel", source=source)
    for name, judge in config["judges"].items():
        check_judge(name, judge, source)
    check_condition_names(config, source)
    check_claims(config, source)


def check_claims(config: Mapping[str, Any], source: str = "config") -> None:
    """Each declared claim is well formed and names a declared benchmark and conditions."""
    for claim in resolve_claims(config.get("analysis", {}).get("claims"), source=source):
        key = f"analysis.claims.{claim['name']}"
        if claim["benchmark"] not in config.get("benchmarks", {}):
            raise ConfigError(f"benchmark '{claim['benchmark']}' is not declared under 'benchmarks' "
                              f"(declared: {', '.join(config.get('benchmarks', {}))})", key=f"{key}.benchmark",
                              source=source)
        for name in (claim["condition"], claim["minus"]):
            if name not in config["conditions"]:
                raise ConfigError(f"condition '{name}' is not declared (declared: {', '.join(config['conditions'])})",
                                  key=f"{key}.compare", source=source)


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
    if analysis.get("reference_condition") is not None:  # null (the schema's default): none
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
    """Every local file the config's jobs read (``source: local`` datasets that a condition or a
    tiny model uses, and benchmarks), by key. A dataset nothing uses (the paper config's corpus for
    the documented mid-training alternative) needs no file."""
    used = {spec["data"] for spec in config.get("conditions", {}).values() if "data" in spec}
    for model in config.get("models", {}).values():
        used |= {model.get("pretrain_data"), *model.get("tokenizer_corpus", [])}
    paths = {}
    for name, spec in config.get("datasets", {}).items():
        if spec.get("source") == "local" and spec.get("path") and name in used:
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
        variable = judge["api_key_env"]
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
