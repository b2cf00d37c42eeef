"""The config schema (``config/schema.yaml``): the one home of each key's type, default and meaning.

- :func:`errors` validates a config (or one of its parts) and words each problem as a short
  :class:`ConfigError` naming the key: an unknown key gets the nearest known one and the keys
  its entry takes (``key 'datasets.dolly.max_row': unknown key (did you mean 'max_rows'?); a hub
  dataset takes format, max_rows, ...``).
- :func:`fill_defaults` writes every absent key's schema ``default`` into a config.
- :func:`resolved` does both for one part, for library code called with a part of a config
  (a ``judges`` entry, the ``analysis`` block): its defaults come from here, never from a dict of
  its own.
- :func:`load_yaml` reads YAML strictly: a key given twice in one mapping is an error naming the
  file and both lines (PyYAML, like Snakemake, would silently keep the last).

Entries whose keys depend on a discriminator (a dataset's ``source``, a judge's ``type``) are
written as ``if``/``then`` variants with ``unevaluatedProperties: false``; :func:`applicable`
walks the subschemas that apply to one instance, which both the unknown-key message and the
default filling need.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ConfigErrors

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"


# --------------------------------------------------------------------------------------------
# Strict YAML

class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (first given on line {first}; YAML would keep the last silently)",
                key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML (or JSON) text strictly; ConfigError naming ``source`` and the line on any fault."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(f"{where}: {error.problem}", source=source) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"not valid YAML: {error}", source=source) from None


def load_yaml_file(path: str | os.PathLike, source: str | None = None) -> Any:
    """A YAML file read strictly; errors name it as ``source`` (default: the path)."""
    path, source = Path(path), source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such config file", source=source) from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text (byte {error.start})", source=source) from None
    return load_yaml(text, source)


# --------------------------------------------------------------------------------------------
# The schema and its parts

@functools.cache
def schema() -> dict[str, Any]:
    return load_yaml_file(SCHEMA_PATH)


def definition(name: str) -> dict[str, Any]:
    """One of the schema's ``$defs`` (``"judge"``, ``"stage"``, ``"analysis"``, ...)."""
    return schema()["$defs"][name]


def deref(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The subschema a local ``$ref`` (``#/$defs/name``) points to."""
    target: Any = schema()
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target


@functools.cache
def _validator(name: str | None):
    import jsonschema

    root = schema()
    part = root if name is None else {"$defs": root["$defs"], "$ref": f"#/$defs/{name}"}
    return jsonschema.Draft202012Validator(part)


def _matches(subschema: Mapping[str, Any], instance: Any) -> bool:
    return _validator(None).evolve(schema={"$defs": schema()["$defs"], **subschema}).is_valid(instance)


def applicable(node: Mapping[str, Any], instance: Any) -> Iterator[Mapping[str, Any]]:
    """``node`` and every subschema of it that applies to ``instance``: ``$ref`` targets, ``allOf``
    members, and the branch of each ``if`` that the instance takes."""
    yield node
    if "$ref" in node:
        yield from applicable(deref(node), instance)
    for member in node.get("allOf", []):
        yield from applicable(member, instance)
    if "if" in node:
        branch = node.get("then") if _matches(node["if"], instance) else node.get("else")
        if branch is not None:
            yield from applicable(branch, instance)


def known_keys(node: Mapping[str, Any], instance: Any) -> tuple[list[str], str | None]:
    """The keys an object under ``node`` may have, and the title of its most specific variant."""
    keys: dict[str, None] = {}
    title = None
    for part in applicable(node, instance):
        keys.update(dict.fromkeys(part.get("properties", {})))
        title = part.get("title", title)
    return list(keys), title


# --------------------------------------------------------------------------------------------
# Defaults

def fill_defaults(instance: Any, node: Mapping[str, Any] | None = None) -> Any:
    """Write each absent key's ``default`` (a copy) into ``instance``, recursively; returns it.

    A default applies where its subschema does: the keys of a hub dataset get the hub variant's
    defaults, and a default object (``planning: {}``) is filled in turn.
    """
    node = schema() if node is None else node
    if isinstance(instance, dict):
        for part in list(applicable(node, instance)):
            properties = part.get("properties", {})
            for key, sub in properties.items():
                if key not in instance and "default" in sub:
                    instance[key] = copy.deepcopy(sub["default"])
                if key in instance:
                    fill_defaults(instance[key], sub)
            extra = part.get("additionalProperties")
            if isinstance(extra, Mapping):
                for key, value in instance.items():
                    if key not in properties:
                        fill_defaults(value, extra)
    elif isinstance(instance, list) and isinstance(node.get("items"), Mapping):
        for item in instance:
            fill_defaults(item, node["items"])
    return instance


def defaults(name: str, **discriminator: Any) -> dict[str, Any]:
    """The defaults of one definition, e.g. ``defaults("judge", type="openai")["concurrency"]``."""
    filled = fill_defaults(dict(discriminator), definition(name))
    return {key: value for key, value in filled.items() if key not in discriminator}


def resolved(name: str, spec: Mapping[str, Any] | None, key: str) -> dict[str, Any]:
    """A copy of ``spec`` (a part of a config under ``key``) checked against the definition
    ``name`` and with its defaults filled in; ConfigError naming the key on a bad value."""
    instance = copy.deepcopy(dict(spec or {}))
    problems = errors(instance, name=name, prefix=key)
    if problems:
        raise ConfigErrors(problems)
    return fill_defaults(instance, definition(name))


# --------------------------------------------------------------------------------------------
# Errors

def errors(config: Any, name: str | None = None, prefix: str = "") -> list[ConfigError]:
    """The config's problems against the schema (or its definition ``name``), most useful first,
    each naming its key (dotted, below ``prefix``)."""
    found = list(_validator(name).iter_errors(config))
    found = [error for error in found if not _masked(error, found)]
    found.sort(key=lambda error: (error.validator in ("unevaluatedProperties", "additionalProperties"),
                                  [str(part) for part in error.absolute_path]))
    words = [problem for error in found for problem in _worded(error, prefix)]
    return list({str(problem): problem for problem in words}.values())


def _masked(error, found) -> bool:
    """An unknown-key complaint on an entry whose discriminator (``source``, ``type``) is itself
    wrong says nothing new: with no variant applying, every variant key looks unknown."""
    if error.validator != "unevaluatedProperties":
        return False
    by = error.schema.get("x-variant-by", [])
    path = list(error.absolute_path)
    return any(list(other.absolute_path)[:-1] == path and other.absolute_path and other.absolute_path[-1] in by
               for other in found if other is not error)


def _dotted(parts: Sequence[Any], prefix: str = "") -> str:
    return ".".join([prefix, *map(str, parts)] if prefix else map(str, parts))


def _worded(error, prefix: str) -> list[ConfigError]:
    path = list(error.absolute_path)
    if error.validator in ("unevaluatedProperties", "additionalProperties") and isinstance(error.instance, dict):
        known, title = known_keys(error.schema, error.instance)
        unknown = [key for key in error.instance if key not in known]
        takes = f"; {title or 'it'} takes {', '.join(sorted(known))}" if known else ""
        hint = f" ({error.schema['x-hint']})" if "x-hint" in error.schema else ""
        return [ConfigError(f"unknown key{_did_you_mean(key, known)}{takes}{hint}", key=_dotted([*path, key], prefix))
                for key in unknown]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [key for key in error.validator_value if key not in error.instance]
        title = known_keys(error.schema, error.instance)[1]
        return [ConfigError(f"missing: {title or 'this entry'} needs '{key}'" if title else "missing (required)",
                            key=_dotted([*path, key], prefix)) for key in missing]
    if error.validator == "enum":
        choices = [str(choice) for choice in error.validator_value]
        return [ConfigError(f"{error.instance!r} is not one of {', '.join(choices)}"
                            f"{_did_you_mean(str(error.instance), choices)}", key=_dotted(path, prefix))]
    if error.validator == "oneOf" and error.context:
        reasons = "; ".join(dict.fromkeys(sub.message for sub in error.context))
        return [ConfigError(f"{error.instance!r} fits none of: {reasons}", key=_dotted(path, prefix))]
    return [ConfigError(error.message, key=_dotted(path, prefix) or None)]


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""
