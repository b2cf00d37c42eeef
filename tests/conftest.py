"""Shared test helpers."""

from __future__ import annotations

import copy
import runpy
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def tiny_config() -> dict:
    """A fresh copy of the embedded tiny default config."""
    return copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


@pytest.fixture
def real_ahb_dir() -> Path:
    """The real AHB 2.1-era files, which the licence keeps out of the repository."""
    folder = SHARED_DATA / "ahb-2.1"
    if not (folder / "questions.jsonl").exists():
        pytest.skip(f"real AHB data not found at {folder} (it lives beside the repository, in shared/)")
    return folder


def latexmk_available() -> bool:
    return shutil.which("latexmk") is not None


def run_script(name: str, *, input: dict, output: dict, params: dict, wildcards: dict,
               log: str | Path | None = None) -> None:
    """Run ``scripts/<name>.py`` as Snakemake's ``script:`` directive would, with a real
    ``snakemake`` object built from Snakemake's own containers (and the rule's ``log:`` if given)."""
    from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, Wildcards

    def as_str(value):
        return [str(v) for v in value] if isinstance(value, list) else str(value)

    snakemake = SimpleNamespace(
        input=InputFiles(fromdict={k: as_str(v) for k, v in input.items()}),
        output=OutputFiles(fromdict={k: str(v) for k, v in output.items()}),
        params=Params(fromdict=params), wildcards=Wildcards(fromdict=wildcards),
        rule=name, config={"seeds": [0]}, log=Log(toclone=[str(log)] if log else []), threads=1)
    runpy.run_path(str(REPO / "scripts" / f"{name}.py"), init_globals={"snakemake": snakemake})
