"""Where every model, dataset and benchmark came from, at which commit, and pinning a config to it.

The download rules record, in each output's provenance sidecar, the revision the config asked for
and the commit it resolved to (:mod:`value_retention.hub_revisions`). This module reads those
records back:

- :func:`sources` lists them (with the tiny world's generated sources and local files beside
  them); :func:`sources_table` writes them as the paper's methods table, so the paper names the
  exact commit of every input;
- :func:`pin` writes a copy of the config whose every hub ``revision`` (and MORU's
  ``dimensions_revision``) is the commit that was downloaded, comments and all, so a published
  run can be repeated exactly: ``value-retention pin --config config/paper.yaml --out pinned.yaml``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, DataError
from .provenance import sidecar_path


@dataclass(frozen=True)
class Source:
    """One input of the run, as its download (or generation) recorded it."""

    section: str          # models, datasets or benchmarks
    name: str             # the config entry
    key: str              # the config key the commit pins: revision or dimensions_revision
    origin: str           # a repository, a local path, or the generator
    requested: str | None
    commit: str | None    # None for local files and generated sources
    note: str = ""


def source_files(config: Mapping[str, Any], resources_dir: str | os.PathLike) -> dict[tuple[str, str], Path]:
    """(section, name) -> the file or folder whose sidecar records that input, for every model,
    dataset and benchmark the config declares (whether or not this run used it)."""
    res = Path(resources_dir)
    files = {("models", name): res / "hub" / name for name, spec in config.get("models", {}).items()
             if spec["source"] == "hub"}
    files |= {("datasets", name): res / "raw" / f"{name}.jsonl" for name in config.get("datasets", {})}
    files |= {("benchmarks", name): res / "raw" / "benchmarks" / name / "questions.jsonl"
              for name in config.get("benchmarks", {})}
    return files


def read_source(section: str, name: str, path: Path) -> list[Source]:
    """The Sources one sidecar records (a MORU benchmark records two repositories)."""
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        raise DataError("no provenance sidecar: was it made by the workflow?", sidecar)
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    download = record.get("download")
    if download is None:  # made here: a tiny generator
        generator = record.get("generator") or record["params"].get("spec", {}).get("format", "")
        return [Source(section, name, "revision", f"generated ({generator})", None, None,
                       note=f"rule {record['rule']}, seed {record.get('seed')}")]
    origin = download if "commit" in download else download.get("origin", download)  # a dataset's, a benchmark's
    if isinstance(origin, str):  # a local file
        return [Source(section, name, "revision", origin, None, None, note="local file")]
    found = [Source(section, name, "revision", origin["repo"], origin.get("revision"), origin.get("commit"),
                    note=origin.get("endpoint", ""))]
    if "dimensions" in origin:
        dims = origin["dimensions"]
        found.append(Source(section, name, "dimensions_revision", dims["repo"], dims.get("revision"),
                            dims.get("commit"), note=dims.get("endpoint", "")))
    return found


def sources(config: Mapping[str, Any], resources_dir: str | os.PathLike, paths: Mapping | None = None) -> list[Source]:
    """Every recorded input; ``paths`` limits it to those (section, name) -> path (a run's own)."""
    chosen = paths if paths is not None else {key: path for key, path in source_files(config, resources_dir).items()
                                              if sidecar_path(path).exists()}
    return [source for (section, name), path in chosen.items() for source in read_source(section, name, Path(path))]


def sources_table(found: list[Source]) -> str:
    """The methods section's table: every input, where it came from and at which commit."""
    from .latex import latex_escape, tabular

    def commit(source: Source) -> str:
        if source.commit is None:
            return latex_escape(source.note) or "--"
        return r"\texttt{" + source.commit[:12] + "}" + (
            f" ({latex_escape(source.requested)})" if source.requested and source.requested != source.commit else "")

    blocks = []
    for section, title in (("models", "Models"), ("datasets", "Datasets"), ("benchmarks", "Benchmarks")):
        rows = [[latex_escape(s.name + (" (dimensions)" if s.key == "dimensions_revision" else "")),
                 r"\texttt{" + latex_escape(s.origin) + "}", commit(s)] for s in found if s.section == section]
        if rows:
            blocks.append((title, rows))
    if not blocks:
        blocks.append((None, [[r"\multicolumn{3}{@{}l}{no inputs recorded}"]]))
    return tabular("lll", ["entry", "source", "commit (as requested)"], blocks)


def pin(config_path: str | os.PathLike, resources_dir: str | os.PathLike | None = None) -> tuple[str, list[Source]]:
    """The text of ``config_path`` with every downloaded hub revision replaced by its commit.

    Only the revision values change: the file's comments, order and layout stay. Each recorded
    repository must still be the config's (a sidecar of another config's run is refused).
    Returns the new text and what was pinned.
    """
    config_path = Path(config_path)
    text = config_path.read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    resources_dir = resources_dir or config.get("resources_dir", "resources")
    found = [s for s in sources(config, resources_dir) if s.commit is not None]
    if not found:
        raise DataError(f"no download provenance found under {resources_dir} for this config's hub entries; "
                        "run the download rules first (snakemake --until download_model download_dataset "
                        "download_benchmark)", config_path)
    replacements = []
    for source in found:
        spec = config[source.section][source.name]
        repo_key = "dimensions_repo" if source.key == "dimensions_revision" else "repo"
        if spec.get(repo_key) != source.origin:
            raise ConfigError(f"the download recorded {source.origin}, the config names {spec.get(repo_key)}: "
                              f"these are another config's downloads", key=f"{source.section}.{source.name}",
                              source=str(config_path))
        replacements.append((source, _value_span(text, (source.section, source.name, source.key), config_path)))
    for source, (start, end) in sorted(replacements, key=lambda item: item[1][0], reverse=True):
        text = text[:start] + source.commit + text[end:]
    return text, found


def _value_span(text: str, keys: tuple[str, ...], path: Path) -> tuple[int, int]:
    """Character span of the scalar at ``keys`` in the YAML ``text``, from PyYAML's node marks."""
    node = yaml.compose(text)
    for depth, key in enumerate(keys):
        match = [value for name, value in node.value if name.value == key]
        if not match:
            raise ConfigError("is missing: name the revision (e.g. main) so that pin can replace it by its commit",
                              key=".".join(keys[:depth + 1]), source=str(path))
        node = match[0]
    return node.start_mark.index, node.end_mark.index
