"""Shared test helpers."""

from __future__ import annotations

import copy
import os
import re
import runpy
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
# The real AHB files (CC-BY-NC, so never committed): shared/data beside the checkout, or elsewhere.
SHARED_DATA = Path(os.environ.get("VALUE_RETENTION_SHARED_DATA") or REPO.parent / "shared" / "data")
REAL_AHB = SHARED_DATA / "ahb-2.1"


def real_ahb_missing() -> list[str]:
    """The real AHB files absent from :data:`REAL_AHB` (none where this checkout has them)."""
    return [name for name in ("questions.jsonl", "dimensions.jsonl") if not (REAL_AHB / name).exists()]


def require_real_ahb() -> Path:
    """The real AHB 2.1-era folder, or the test fails saying where it was looked for and why."""
    missing = real_ahb_missing()
    if missing:
        pytest.fail(f"real AHB data not found: {REAL_AHB} lacks {', '.join(missing)}. The licence (CC-BY-NC) "
                    "keeps it out of the repository: put shared/data beside the checkout, or set "
                    "VALUE_RETENTION_SHARED_DATA to the folder that holds ahb-2.1/", pytrace=False)
    return REAL_AHB


@pytest.fixture
def tiny_config() -> dict:
    """A fresh copy of the embedded tiny default config."""
    return copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


@pytest.fixture
def real_ahb_dir() -> Path:
    """The real AHB 2.1-era files, which the licence keeps out of the repository."""
    return require_real_ahb()


def latexmk_available() -> bool:
    return shutil.which("latexmk") is not None


def run_script(name: str, *, input: dict, output: dict, params: dict, wildcards: dict,
               log: str | Path | None = None) -> None:
    """Run ``scripts/<name>.py`` as Snakemake's ``script:`` directive would, with a real
    ``snakemake`` object built from Snakemake's own containers (and the rule's ``log:`` if given)."""
    from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, Wildcards

    def files(cls, named: dict):
        """As Snakemake fills a rule's files: a named list's items are items of the container too."""
        flat, spans = [], {}
        for key, value in named.items():
            values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            spans[key] = (len(flat), len(flat) + len(values) if isinstance(value, list) else None)
            flat += values
        container = cls(toclone=flat)
        for key, (start, end) in spans.items():
            container._set_name(key, start, end)
        return container

    snakemake = SimpleNamespace(
        input=files(InputFiles, input),
        output=files(OutputFiles, output),
        params=Params(fromdict=params), wildcards=Wildcards(fromdict=wildcards),
        rule=name, config={"seeds": [0]}, log=Log(toclone=[str(log)] if log else []), threads=1)
    runpy.run_path(str(REPO / "scripts" / f"{name}.py"), init_globals={"snakemake": snakemake})


@dataclass
class DagJob:
    """One job of a DAG, as a dry run prints it."""

    rule: str
    outputs: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    benchmarks: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [*self.outputs, *self.logs, *self.benchmarks]


def dry_run_jobs(workdir: Path, *args: str) -> list[DagJob]:
    """Every job of the workflow's DAG in ``workdir`` (``--forceall``: as in an empty folder), read
    from the job blocks of a dry run; ``args`` adds e.g. ``--configfile``."""
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                             str(workdir), "--dry-run", "--forceall", *args],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    jobs: list[DagJob] = []
    fields = {"output": "outputs", "log": "logs", "benchmark": "benchmarks"}
    for line in result.stdout.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line):
            jobs.append(DagJob(match.group(1)))
        elif jobs and (match := re.match(r"^    (output|log|benchmark): (.*)$", line)):
            getattr(jobs[-1], fields[match.group(1)]).extend(path.strip() for path in match.group(2).split(","))
    assert jobs, f"no job blocks in the dry run's output:\n{result.stdout[-3000:]}"
    return jobs


@pytest.fixture(scope="session")
def tiny_dag(tmp_path_factory) -> list[DagJob]:
    """The tiny default's DAG."""
    return dry_run_jobs(tmp_path_factory.mktemp("tiny-dag"))


@pytest.fixture(scope="session")
def rehearsal_dag(tmp_path_factory) -> list[DagJob]:
    """The rehearsal config's DAG."""
    return dry_run_jobs(tmp_path_factory.mktemp("rehearsal-dag"), "--configfile",
                        str(REPO / "config" / "rehearsal.yaml"))


@pytest.fixture(scope="session")
def paper_dag(tmp_path_factory) -> list[DagJob]:
    """The paper config's DAG."""
    return dry_run_jobs(tmp_path_factory.mktemp("paper-dag"), "--configfile", str(REPO / "config" / "paper.yaml"))
