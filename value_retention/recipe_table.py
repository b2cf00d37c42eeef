"""The paper config's recipe as a table: every value, where it comes from, and its tag.

``config/paper.yaml`` tags each value in a comment: ``[paper]`` (the paper or its abstract),
``[authors]`` (the authors' public scripts and repositories, as docs/design.md, "The study", summarises them),
``[TRL]`` (a library default kept on purpose) or ``[choice]`` (ours, with the reason beside it).
This module reads those comments back (PyYAML's node marks give each value's line) and writes
``docs/recipe.md``; ``tests/test_recipe_table.py`` checks that the file is what the config says
and that every training value carries a tag of its own.

    value-retention recipe-table config/paper.yaml > docs/recipe.md
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError

TAGS = ("paper", "authors", "TRL", "choice")
TAG = re.compile(r"\[(" + "|".join(TAGS) + r")\]")
# The sections that make the models and their answers; the judges, benchmarks and statistics have
# their own documentation.
RECIPE_SECTIONS = ("seeds", "conditions", "models", "datasets", "stages", "rewards", "generation")
# Values that must carry a tag of their own, not one inherited from their block.
OWN_TAG_SECTIONS = ("stages", "rewards")


@dataclass(frozen=True)
class Entry:
    key: str              # dotted path: stages.sft.trainer.learning_rate
    value: object
    tag: str | None
    note: str
    inherited_from: str | None = None   # the block whose tag this value takes, when it has none of its own


def entries(path: str | os.PathLike) -> list[Entry]:
    """Every value of the recipe sections of a config, in file order, with its tag and note."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError("the config is not a mapping", source=str(path))
    found: list[Entry] = []
    for key_node, value_node in root.value:
        if key_node.value in RECIPE_SECTIONS:
            found.extend(_walk(value_node, key_node.value, lines, _comment(lines, key_node.start_mark.line), key_node))
    return found


def _walk(node: yaml.Node, key: str, lines: list[str], block: tuple[str | None, str, str] | None,
          key_node: yaml.Node) -> Iterator[Entry]:
    """Leaves below ``node``; ``block`` is the nearest enclosing tagged block (tag, note, key)."""
    if isinstance(node, yaml.MappingNode):
        for child_key, child in node.value:
            tag, note = _comment(lines, child_key.start_mark.line)
            inner = (tag, note, f"{key}.{child_key.value}") if tag and isinstance(child, yaml.MappingNode) else block
            yield from _walk(child, f"{key}.{child_key.value}", lines, inner, child_key)
        return
    value = yaml.safe_load(yaml.serialize(node))
    tag, note = _comment(lines, node.start_mark.line)
    above = _comment_above(lines, key_node)
    if tag is None and TAG.search(above):
        tag = TAG.search(above).group(1)
    note = " ".join(part for part in (TAG.sub("", above).strip(), note) if part and part != "see above")
    if tag:
        yield Entry(key, value, tag, note)
    elif block and block[0]:
        yield Entry(key, value, block[0], note or block[1], inherited_from=block[2])
    else:
        yield Entry(key, value, None, note)


def _comment(lines: list[str], line: int) -> tuple[str | None, str]:
    """The tag and the rest of the comment at the end of a line (outside quotes)."""
    comment = _trailing_comment(lines[line])
    match = TAG.search(comment)
    return (match.group(1) if match else None), TAG.sub("", comment).strip()


def _trailing_comment(line: str) -> str:
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[index + 1:].strip()
    return ""


def _comment_above(lines: list[str], key_node: yaml.Node) -> str:
    """Full-line comments directly above a key that starts its line, at its indentation (a value's
    longer reason); a key inside a flow mapping has none."""
    line, indent = key_node.start_mark.line, key_node.start_mark.column
    if len(lines[line]) - len(lines[line].lstrip()) != indent:
        return ""
    block: list[str] = []
    for previous in reversed(lines[:line]):
        stripped = previous.strip()
        if not stripped.startswith("#") or len(previous) - len(previous.lstrip()) != indent:
            break
        block.insert(0, stripped.lstrip("#").strip())
    return " ".join(block)


def untagged(found: list[Entry]) -> list[str]:
    """Keys of values with no tag, and of values in OWN_TAG_SECTIONS whose tag is inherited."""
    return [entry.key for entry in found if entry.tag is None
            or (entry.inherited_from and entry.key.split(".")[0] in OWN_TAG_SECTIONS)]


def render(path: str | os.PathLike, shown_as: str | None = None) -> str:
    """``docs/recipe.md``: the legend, then one table per section."""
    found = entries(path)
    name = shown_as or os.fspath(path)
    out = [
        "# The paper config's recipe",
        "",
        f"<!-- Generated from {name} by `value-retention recipe-table {name} > docs/recipe.md`;",
        "     tests/test_recipe_table.py fails when this file and the config disagree. -->",
        "",
        f"Every value of `{name}` that makes the models and their answers, with the source its comment",
        "names: **paper** (the paper or its abstract), **authors** (the authors' public scripts and",
        "repositories, as `docs/design.md`, \"The study\", summarises them: evidence of",
        "their defaults, not proof of this paper's run), **TRL** (a library default kept on purpose),",
        "**choice** (ours, with its reason). A tag in *italics* is its block's, shown on a value that",
        "has none of its own. Values not listed are TRL's and PEFT's defaults (TRL 1.16, PEFT 0.21)",
        "or the project's documented defaults (`config/README.md`). The judges, benchmarks and",
        "statistics are documented in `config/README.md` and `docs/contracts.md`.",
    ]
    for section in RECIPE_SECTIONS:
        rows = [entry for entry in found if entry.key.split(".")[0] == section]
        if not rows:
            continue
        out += ["", f"## `{section}`", "", "| key | value | source | note |", "| --- | --- | --- | --- |"]
        for entry in rows:
            tag = entry.tag or "untagged"
            tag = f"*{tag}*" if entry.inherited_from else tag
            value = json.dumps(entry.value, ensure_ascii=False)
            out.append(f"| `{entry.key}` | `{value}` | {tag} | {_cell(entry.note)} |")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
