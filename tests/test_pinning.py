"""value-retention pin and the sources table, on sidecars as the download rules write them."""

from __future__ import annotations

import json

import pytest
import yaml

from value_retention.errors import ConfigError, DataError
from value_retention.pinning import pin, sources, sources_table

SHA_MODEL, SHA_DATA, SHA_BENCH, SHA_DIMS = "a" * 40, "b" * 40, "c" * 40, "d" * 40
CONFIG = """\
resources_dir: res
models:
  base:
    source: hub
    repo: org/model      # the base
    revision: main       # pin before publishing
datasets:
  dolly: {source: hub, repo: org/dolly, revision: "main", format: dolly}
  made: {source: tiny, generator: dolly, n: 3, format: dolly}
benchmarks:
  moru:
    source: hub
    repo: org/moru
    revision: v1
    dimensions_repo: org/moru-dims
    dimensions_revision: main
"""


def sidecar(path, **record):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    path.with_name(path.name + ".prov.json").write_text(json.dumps({"rule": "r", "params": {}, **record}))


@pytest.fixture
def run(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    res = tmp_path / "res"
    endpoint = "https://huggingface.co"
    sidecar(res / "hub" / "base", download={"repo": "org/model", "revision": "main", "commit": SHA_MODEL,
                                             "endpoint": endpoint})
    sidecar(res / "raw" / "dolly.jsonl", download={"origin": "org/dolly", "repo": "org/dolly", "revision": "main",
                                                   "commit": SHA_DATA, "endpoint": endpoint, "n_written": 3})
    sidecar(res / "raw" / "made.jsonl", generator="dolly", seed=0)
    sidecar(res / "raw" / "benchmarks" / "moru" / "questions.jsonl", download={"origin": {
        "repo": "org/moru", "revision": "v1", "commit": SHA_BENCH, "endpoint": endpoint,
        "dimensions": {"repo": "org/moru-dims", "revision": "main", "commit": SHA_DIMS, "endpoint": endpoint}}})
    return config, res


def test_pin_replaces_each_revision_by_its_commit_and_keeps_the_rest(run):
    config, res = run
    text, pinned = pin(config, res)
    assert len(pinned) == 4
    assert "repo: org/model      # the base" in text and f"revision: {SHA_MODEL}       # pin before publishing" in text
    pinned_config = yaml.safe_load(text)
    assert pinned_config["datasets"]["dolly"]["revision"] == SHA_DATA
    assert pinned_config["benchmarks"]["moru"]["revision"] == SHA_BENCH
    assert pinned_config["benchmarks"]["moru"]["dimensions_revision"] == SHA_DIMS
    assert pinned_config["datasets"]["made"] == yaml.safe_load(CONFIG)["datasets"]["made"]


def test_pin_refuses_another_configs_downloads_and_runs_without_downloads(run, tmp_path):
    config, res = run
    config.write_text(CONFIG.replace("repo: org/model ", "repo: org/other "))
    with pytest.raises(ConfigError, match="another config's downloads"):
        pin(config, res)
    with pytest.raises(DataError, match="run the download rules first"):
        pin(config, tmp_path / "empty")


def test_the_sources_table_names_commits_and_generated_inputs(run):
    config, res = run
    table = sources_table(sources(yaml.safe_load(CONFIG), res))
    assert SHA_MODEL[:12] in table and SHA_DIMS[:12] in table and "(v1)" in table
    assert "generated (dolly)" in table and "\\toprule" in table
