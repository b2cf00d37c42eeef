"""The docs are true and self-contained: docs/contracts.md names every rule and output of both
worlds' DAGs, and nothing points outside the repository (config/README.md: test_config_docs.py)."""

from __future__ import annotations

import re
import subprocess

import yaml

from conftest import REPO

CONTRACTS = (REPO / "docs" / "contracts.md").read_text()
TINY = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())


def documented_paths() -> list[re.Pattern]:
    """Every `R/...` or `O/...` path in contracts.md as a regex: `{name}` is one path component
    (or part of one), `{a,b}` one of the alternatives, `*` any part of a component."""
    patterns = []
    for path in re.findall(r"`([RO]/[^`\s]+)`", CONTRACTS):
        regex = ""
        for token in re.split(r"(\{[^{}]*\}|\*)", path.rstrip("/")):
            if token == "*":
                regex += "[^/]*"
            elif token.startswith("{") and "," in token:
                regex += "(" + "|".join(map(re.escape, token[1:-1].split(","))) + ")"
            elif token.startswith("{"):
                regex += "[^/]+"
            else:
                regex += re.escape(token)
        patterns.append(re.compile(regex))
    return patterns


def test_contracts_name_every_rule_and_output_path_of_both_worlds(tiny_dag, paper_dag):
    rows = {match.group(1) for match in re.finditer(r"^\| (\w+)(?: \(local\))? \|", CONTRACTS, re.MULTILINE)}
    patterns = documented_paths()
    for config, dag in ((TINY, tiny_dag), (PAPER, paper_dag)):
        rules = {job.rule for job in dag} - {"all"}
        assert not rules - rows, f"rules missing from docs/contracts.md: {sorted(rules - rows)}"
        folders = {config["resources_dir"]: "R", config["results_dir"]: "O"}
        undocumented = set()
        for job in dag:
            for path in job.outputs:
                top, _, rest = path.partition("/")
                short = f"{folders[top]}/{rest}"
                if not any(pattern.fullmatch(short) for pattern in patterns):
                    undocumented.add(f"{job.rule}: {short}")
        assert not undocumented, f"outputs missing from docs/contracts.md: {sorted(undocumented)[:10]}"


def repository_files():
    """The repository's own text files, as git sees them (tracked, or new and not ignored: no run
    outputs, environments or caches), and not the tests (which may read real data from beside the
    repository, ../shared/data)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for name in listed:
        path = REPO / name
        if (path.is_file() and path.parts[len(REPO.parts)] != "tests"
                and path.suffix in {".md", ".py", ".smk", ".yaml", ".yml", ".toml", ".tex", ".ipynb", ".rst", ""}):
            yield path


def test_nothing_points_to_files_outside_the_repository():
    outside = re.compile(r"DESIGN\.md|NOTES\.md|\.\./shared/")
    found = [f"{path.relative_to(REPO)}:{number}" for path in repository_files()
             for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
             if outside.search(line)]
    assert not found, f"references to files outside the repository: {found}"
