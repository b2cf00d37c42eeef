"""``config/README.md``, generated from the config schema: every key with its type, default and meaning.

The schema (``config/schema.yaml``) is the one home of each key's type, default and description;
this module writes them out as Markdown, one section per top-level key, with one table per
variant where an entry's keys depend on its ``source`` or ``type``.
``tests/test_config_docs.py`` fails when the committed README is not what this renders.

    value-retention config-docs > config/README.md
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import schema

HEADER = ("<!-- Generated from config/schema.yaml by `value-retention config-docs > config/README.md`: "
          "edit the schema, not this file. -->")
# How the shared definitions read in the type column.
NAMED_TYPES = {"positive_int": "integer ≥ 1", "positive_number": "number > 0", "name": "name (a letter, then "
               "letters, digits or _)"}


def render() -> str:
    root = schema.schema()
    out = ["# Configuration", "", HEADER, "", root["description"].strip(), "", "## Top level", "",
           *table(root["properties"].items(), sections=_sections(root)), ""]
    for key, node in root["properties"].items():
        if key in _sections(root):
            out += [*section(key, node), ""]
    return "\n".join(out).rstrip() + "\n"


def _sections(root: Mapping[str, Any]) -> list[str]:
    """Top-level keys with keys of their own, or more to say than a line: each gets a section."""
    return [key for key, node in root["properties"].items()
            if _entry(node) is not None or _object(node) or "\n\n" in node.get("description", "").strip()]


def _entry(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The definition of each entry of a by-name mapping (``datasets``: name -> dataset)."""
    extra = node.get("additionalProperties")
    return schema.deref(extra) if isinstance(extra, Mapping) and "$ref" in extra else None


def _object(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The object definition a key refers to, when it has keys of its own."""
    target = schema.deref(node) if "$ref" in node else node
    return target if target.get("properties") else None


def section(key: str, node: Mapping[str, Any]) -> list[str]:
    out = [f"## `{key}`", ""]
    entry = _entry(node)
    target = entry or _object(node)
    if target is None:  # a single key with more to say
        return [*out, node["description"].strip()]
    blocks = _same_definition(target)
    if blocks:  # `stages`: one block per stage, each the same definition
        names = ", ".join(f"`{name}`" for name in target["properties"])
        out += [*table(target["properties"].items()), ""]
        target = schema.deref(blocks)
        out += [f"{names}: each {target['title']}.", ""]
    elif entry is not None:
        out += [f"Entries by name; each is {target['title']}.", ""]
    if target.get("description"):
        out += [target["description"].strip(), ""]
    for label, part in variants(target):
        rows = list(keys_of(part))
        if not rows:
            continue
        if label:
            out += [f"**{label}**" + (f" ({part['title']})" if part.get("title") else "")
                    + (f": {part['description'].strip()}" if part.get("description") else ""), ""]
        out += [*table(rows), ""]
    for name, sub in _subblocks(target):
        out += [f"### `{key}.*.{name}`" if entry or blocks else f"### `{key}.{name}`", ""]
        if sub.get("description"):
            out += [sub["description"].strip(), ""]
        out += [*table(keys_of(sub)), ""]
    return out[:-1]


def _same_definition(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    refs = [sub.get("$ref") for sub in node.get("properties", {}).values()]
    return {"$ref": refs[0]} if refs and None not in refs and len(set(refs)) == 1 else None


def _subblocks(node: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Keys whose value is a titled definition of its own (a stage's ``lora``), or a by-name mapping
    of them (``analysis.claims.*``): a table each."""
    for name, sub in node.get("properties", {}).items():
        entries = sub.get("additionalProperties")
        ref, label = (sub, name) if "$ref" in sub else (entries, f"{name}.*") if isinstance(entries, Mapping) \
            and "$ref" in entries else (None, name)
        if ref is not None and schema.deref(ref).get("title") and schema.deref(ref).get("properties"):
            yield label, schema.deref(ref)


def variants(node: Mapping[str, Any], label: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(label, part) for ``node``'s own keys, then for each ``if``/``then`` branch in turn: the label
    says which entries the branch is for (``source: hub``)."""
    yield label, {"properties": dict(_unconditional(node)), "title": None}
    for member in node.get("allOf", []):
        yield from _branches(member, label)
    yield from _branches(node, label)


def _branches(node: Mapping[str, Any], label: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if "if" not in node:
        return
    condition = node["if"]
    consts = [f"`{key}: {sub['const']}`" for key, sub in condition.get("properties", {}).items() if "const" in sub]
    required = [f"`{key}`" for key in condition.get("required", [])]
    then_label = ", ".join(filter(None, [label, *(consts or [f"with {', '.join(required)}"])]))
    for branch, branch_label in ((node.get("then"), then_label), (node.get("else"), f"{label or ''}otherwise")):
        if branch is not None:
            target = schema.deref(branch) if "$ref" in branch else branch
            own = dict(_unconditional(target))
            yield branch_label, {**target, "properties": own}
            for member in target.get("allOf", []):
                yield from _branches(member, branch_label)


def _unconditional(node: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """A node's own properties and those of its ``allOf`` members that carry no condition."""
    yield from node.get("properties", {}).items()
    for member in node.get("allOf", []):
        if "if" not in member:
            target = schema.deref(member) if "$ref" in member else member
            yield from _unconditional(target)


def keys_of(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(dotted key, schema) of every key, an inline object's keys included (``achieved_flops.sft``)."""
    for name, sub in node.get("properties", {}).items():
        yield f"{prefix}{name}", sub
        if "$ref" not in sub and sub.get("properties"):
            yield from keys_of(sub, f"{prefix}{name}.")


def table(rows, sections: list[str] = ()) -> list[str]:
    out = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for key, node in rows:
        meaning = " ".join(_first_paragraph(_described(node).get("description", "")).split())
        if key in sections:
            meaning = (meaning + " " if meaning else "") + f"(see [`{key}`](#{key}))"
        default = f"`{_value(node['default'])}`" if "default" in node else ""
        out.append(f"| `{key}` | {type_of(node)} | {default} | {_cell(meaning)} |")
    return out


def _described(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node, or the definition it refers to where only that one has a description."""
    if "description" not in node and "$ref" in node:
        return schema.deref(node)
    return node


def _first_paragraph(text: str) -> str:
    return str(text).strip().split("\n\n")[0]


def type_of(node: Mapping[str, Any]) -> str:
    """The type column: what values a key takes, in words."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in NAMED_TYPES:
            return NAMED_TYPES[name]
        target = schema.deref(node)
        return type_of(target) if "title" not in target else target["title"].removeprefix("a ").removeprefix("an ")
    if "enum" in node:
        return "one of " + ", ".join(f"`{_value(value)}`" for value in node["enum"])
    if "oneOf" in node:
        return " or ".join(type_of(option) for option in node["oneOf"])
    kinds = node.get("type")
    if kinds is None:
        return "mapping" if node.get("properties") else ""
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return " or ".join(_kind(kind, node) for kind in kinds)


def _kind(kind: str, node: Mapping[str, Any]) -> str:
    if kind == "null":
        return "null"
    if kind == "array":
        items = node.get("items")
        return f"list of {_plural(type_of(items))}" if isinstance(items, Mapping) and type_of(items) else "list"
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping) and type_of(extra):
            return f"mapping of {_plural(type_of(extra))}"
        return "mapping"
    words = {"integer": "integer", "number": "number", "string": "string", "boolean": "`true` or `false`"}[kind]
    if kind in ("integer", "number"):
        words += _bounds(node)
    return words


def _bounds(node: Mapping[str, Any]) -> str:
    low = (f"> {_value(node['exclusiveMinimum'])}" if "exclusiveMinimum" in node
           else f"≥ {_value(node['minimum'])}" if "minimum" in node else "")
    high = (f"< {_value(node['exclusiveMaximum'])}" if "exclusiveMaximum" in node
            else f"≤ {_value(node['maximum'])}" if "maximum" in node else "")
    return " " + ", ".join(filter(None, [low, high])) if low or high else ""


def _plural(words: str) -> str:
    first, _, rest = words.partition(" ")
    plural = {"integer": "integers", "number": "numbers", "string": "strings", "list": "lists",
              "mapping": "mappings"}.get(first, first)
    return f"{plural} {rest}".strip()


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e6 else repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return str(value) if value != "" else '""'


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
