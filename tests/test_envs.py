"""The per-rule conda envs (envs/*.yaml): exact pins, the same versions the tests run with."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import envcheck
import pytest
import yaml

from conftest import REPO

ENVS = sorted((REPO / "envs").glob("*.yaml"))
# envs/vllm.yaml departs from requirements.lock where vLLM 0.31 demands it (its header says why).
VLLM_DEPARTURES = {"vllm", "transformers", "huggingface-hub"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[normalise(name)] = version.strip()
    return pins


def env_pins(path) -> dict[str, str]:
    spec = yaml.safe_load(path.read_text())
    pip = next(dep["pip"] for dep in spec["dependencies"] if isinstance(dep, dict) and "pip" in dep)
    pins = {}
    for requirement in pip:
        pinned = re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][^\s]*", requirement)
        assert pinned, f"{path.name}: '{requirement}' is not pinned"
        name, version = requirement.split("==")
        pins[normalise(name)] = version
    return pins


def test_every_rule_env_exists():
    named = set()
    for rules in (REPO / "rules").glob("*.smk"):
        named |= set(re.findall(r'"\.\./(envs/[\w.]+\.yaml)"', rules.read_text()))
    assert named and all((REPO / env).is_file() for env in named), named
    assert {env.name for env in ENVS} == {name.split("/")[1] for name in named}  # none unused


@pytest.mark.parametrize("env", ENVS, ids=lambda path: path.name)
def test_env_pins_agree_with_the_lock(env):
    lock = lock_pins()
    departures = VLLM_DEPARTURES if env.name == "vllm.yaml" else set()
    for name, version in env_pins(env).items():
        if name in departures or name == "torch":  # torch is installed apart from the lock (Makefile)
            continue
        assert lock.get(name) == version, f"{env.name}: {name}=={version}, requirements.lock has {lock.get(name)}"


def test_vllm_env_matches_what_trl_accepts():
    pins = env_pins(REPO / "envs" / "vllm.yaml")
    major, minor = (int(part) for part in pins["vllm"].split(".")[:2])
    assert (0, 22) <= (major, minor) <= (0, 31)  # TRL 1.16's supported vLLM range (trl/import_utils.py)
    assert pins["trl"] == lock_pins()["trl"] and pins["torch"] == env_pins(REPO / "envs" / "train.yaml")["torch"]


# --- the envs proven without conda (tests/envcheck.py; `make env-venvs` builds them) -------------

BUILT = [env for env in ENVS if env.stem not in envcheck.NOT_BUILT]


@pytest.mark.parametrize("env", ENVS, ids=lambda path: path.name)
def test_every_conda_only_dependency_has_a_stand_in(env):
    conda, _ = envcheck.read_env(env)
    assert {envcheck.conda_name(dep)[0] for dep in conda} <= set(envcheck.CONDA_STAND_INS), env.name
    readme = (REPO / "envs" / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in envcheck.CONDA_STAND_INS)


@pytest.mark.parametrize("env", BUILT, ids=lambda path: path.name)
def test_each_env_venv_holds_exactly_its_packages(env):
    """`make env-venvs` built it from this very file (its hash), and pip finds it consistent."""
    venv = envcheck.venv_dir(env.stem)
    stamp = venv / ".installed"
    assert stamp.exists(), f"{venv.name} is missing: `make env-venvs` builds it (make test does)"
    assert stamp.read_text() == envcheck.env_hash(env), f"{venv.name} is older than {env.name}: make env-venvs"
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    installed = {normalise(p["name"]): p["version"].split("+")[0] for p in json.loads(listed)}
    for name, version in env_pins(env).items():
        assert installed.get(name) == version, f"{env.name}: {name} {installed.get(name)} installed, {version} pinned"
    assert "snakemake" not in installed and "value-retention" not in installed


def test_every_rule_with_a_script_names_an_env_that_is_built_or_resolved():
    names = {env.name for env in ENVS}
    for rule, (env, _script) in envcheck.rule_envs().items():
        assert env in names, (rule, env)


def test_the_vllm_env_resolves_from_the_package_index(tmp_path):
    """vllm.yaml cannot be built here (CUDA wheels), but its pins must resolve together.

    uv resolves for the cluster's platform (Linux x86_64, glibc 2.35, CUDA wheels from PyPI) from
    the wheels' metadata alone: pip's dry run downloaded some wheels whole, and CI ran out of disk.
    """
    requirements = tmp_path / "vllm.txt"
    requirements.write_text("\n".join(envcheck.read_env(REPO / "envs" / "vllm.yaml")[1]) + "\n")
    resolved_file = tmp_path / "resolved.txt"
    uv = Path(sys.executable).with_name("uv")
    result = subprocess.run([str(uv), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--no-build",
                             "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_35",
                             "--cache-dir", str(tmp_path / "uv-cache"), "-o", str(resolved_file), str(requirements)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = dict(line.split("==", 1) for line in resolved_file.read_text().split() if "==" in line)
    resolved = {normalise(name): version for name, version in resolved.items()}
    for name, version in env_pins(REPO / "envs" / "vllm.yaml").items():
        assert resolved.get(name) == version, f"vllm.yaml: {name} resolves to {resolved.get(name)}, pinned {version}"


def test_the_system_tex_builds_what_main_tex_uses():
    """envs/paper.yaml names the system TeX it needs; every package main.tex loads is there."""
    assert shutil.which("latexmk"), "latexmk is missing: `make setup` installs TeX Live (envs/paper.yaml)"
    tex = (REPO / "paper" / "main.tex").read_text()
    packages = {name.strip() for group in re.findall(r"\\usepackage(?:\[[^\]]*\])?\{([^}]*)\}", tex)
                for name in group.split(",")}
    assert packages
    missing = [name for name in sorted(packages)
               if subprocess.run(["kpsewhich", f"{name}.sty"], capture_output=True, text=True).returncode != 0]
    assert not missing, f"the system TeX lacks {missing} (envs/paper.yaml lists the Debian packages)"
