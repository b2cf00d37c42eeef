"""The per-rule conda envs (envs/*.yaml): exact pins, the same versions the tests run with."""

from __future__ import annotations

import re

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
