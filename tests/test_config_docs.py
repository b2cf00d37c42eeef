"""config/README.md is generated from the config schema, and says every key the schema has."""

from __future__ import annotations

import re

from value_retention import config_docs, schema

from conftest import REPO

README = REPO / "config" / "README.md"


def test_config_readme_is_what_the_schema_renders():
    assert README.read_text(encoding="utf-8") == config_docs.render(), (
        "config/README.md is out of date with config/schema.yaml: run "
        "`value-retention config-docs > config/README.md`")


def schema_keys(node) -> set[str]:
    """Every property name anywhere in the schema, below its definitions too."""
    keys: set[str] = set()
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            keys |= {name} | schema_keys(child)
        for child in [node.get("additionalProperties"), node.get("items"), node.get("then"), node.get("else"),
                      *node.get("$defs", {}).values(), *node.get("allOf", []), *node.get("oneOf", [])]:
            keys |= schema_keys(child)
    return keys


def test_every_key_of_the_schema_has_a_row_with_its_meaning():
    rows = re.findall(r"^\| `([\w.]+)` \| [^|]*\| [^|]*\| (.*) \|$", README.read_text(encoding="utf-8"), re.MULTILINE)
    documented = {key.rsplit(".", 1)[-1] for key, meaning in rows if meaning.strip()}
    keys = schema_keys(schema.schema())
    assert {"planning", "text_field", "seeds", "gpus", "max_rows", "min_matches", "target_modules"} <= keys
    assert not keys - documented, f"keys without a described row in config/README.md: {sorted(keys - documented)}"


def test_the_readme_shows_types_defaults_and_each_variants_keys():
    readme = README.read_text(encoding="utf-8")
    assert "| `concurrency` | integer ≥ 1 | `32` |" in readme          # an openai judge's default
    assert "| `shuffle_seed` | integer ≥ 0 or null | `0` |" in readme
    assert "**`source: hub`, `format: moru`** (a hub MORU benchmark)" in readme
    assert "| `repo` | string | `sentientfutures/moru-benchmark` |" in readme
