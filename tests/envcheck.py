"""The per-rule environments (envs/*.yaml) proven without conda.

There is no conda here (and none in CI), so each env is built as a virtualenv from exactly its
packages: its ``pip:`` list as pinned, and each conda-only dependency mapped to what stands in for
it (:data:`CONDA_STAND_INS`). Then every rule's script is run in its env's venv alone (isolated
mode: no project venv, no PYTHONPATH, no user site on ``sys.path``; only the repository, which the
workflow puts on every job's PYTHONPATH), on the inputs of a finished run, from the call each job
recorded in its provenance sidecar (``job``: its named inputs, outputs and log).

    python tests/envcheck.py build envs/analyze.yaml      # -> .venv-env-analyze (make env-venvs)
    python tests/envcheck.py run JOB.json                  # in an env's venv: one script, as Snakemake runs it
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENVS = REPO / "envs"
# Conda-only dependencies, and what stands in for each in a venv (envs/README.md lists the same).
CONDA_STAND_INS = {
    "python": "the venv's interpreter: the machine's python3, which must be the version the env pins",
    "pip": "the venv's own pip",
}
# envs/vllm.yaml needs CUDA wheels: it is resolved (uv pip compile, tests/test_envs.py), not built.
NOT_BUILT = {"vllm": "vLLM's wheels need CUDA, which no test machine has"}
# Rules whose env the Snakefile chooses by a function (rules/common.smk): the env it returns here.
ENV_FUNCTIONS = {"training_env": "train.yaml", "generation_env()": "evaluate.yaml"}


def read_env(path: Path) -> tuple[list[str], list[str]]:
    """(conda dependencies, pip requirements) of an env file."""
    import yaml

    spec = yaml.safe_load(path.read_text())
    conda = [dep for dep in spec["dependencies"] if isinstance(dep, str)]
    pip = next((dep["pip"] for dep in spec["dependencies"] if isinstance(dep, dict) and "pip" in dep), [])
    return conda, pip


def conda_name(dependency: str) -> tuple[str, str | None]:
    name, _, version = dependency.partition("=")
    return name.strip(), version.strip("=") or None


def venv_dir(env: str) -> Path:
    return REPO / f".venv-env-{env}"


def env_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(path: Path) -> Path:
    """The venv of one env file, built from exactly its packages (rebuilt when the file changed)."""
    env = path.stem
    conda, pip = read_env(path)
    for dependency in conda:
        name, version = conda_name(dependency)
        if name not in CONDA_STAND_INS:
            raise SystemExit(f"{path.name}: conda package '{name}' has no stand-in in a venv; add one to "
                             "tests/envcheck.py CONDA_STAND_INS and envs/README.md")
        if name == "python" and version and not f"{sys.version_info.major}.{sys.version_info.minor}" == version:
            raise SystemExit(f"{path.name} pins python {version}, this interpreter is {sys.version.split()[0]}")
    target = venv_dir(env)
    stamp = target / ".installed"
    if stamp.exists() and stamp.read_text() == env_hash(path):
        return target
    shutil.rmtree(target, ignore_errors=True)
    started = time.time()
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    if pip:
        subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *pip], check=True)
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "check"], check=True)
    stamp.write_text(env_hash(path))
    print(f"{target.name}: {len(pip)} packages in {time.time() - started:.0f} s", flush=True)
    return target


def rule_envs() -> dict[str, tuple[str, str | None]]:
    """rule -> (env file name, its script or None), read from rules/*.smk."""
    found: dict[str, tuple[str, str | None]] = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text()
        for match in re.finditer(r"^rule (\w+):\n(.*?)(?=^\S)", text + "\nEND", re.DOTALL | re.MULTILINE):
            body = match.group(2)
            conda = re.search(r"conda:\n\s+(\S+)", body)
            script = re.search(r'script:\n\s+"\.\./(scripts/[\w.]+)"', body)
            if conda:
                value = conda.group(1).strip('"')
                env = ENV_FUNCTIONS.get(value, value.rsplit("/", 1)[-1])
                found[match.group(1)] = (env, script.group(1) if script else None)
        for match in re.finditer(r"^use rule (\w+) as (\w+)", text, re.MULTILINE):
            found[match.group(2)] = found[match.group(1)]
    return found


# ---------------------------------------------------------------------------------------------
# From a finished run: one recorded call per rule, rerun in the rule's env.

def recorded_jobs(workdir: Path) -> dict[str, dict]:
    """One recorded call per rule (per stage for train; GRPO's is the reward-model one where
    there is one), from the run's provenance sidecars."""
    jobs: dict[str, dict] = {}
    for path in sorted(Path(workdir).rglob("*.prov.json")):
        record = json.loads(path.read_text())
        if "job" not in record:
            continue
        rule, wildcards = record["rule"], record["params"].get("wildcards", {})
        key = f"train/{record['params']['stage']}" if rule == "train" else rule
        if key == "train/grpo" and wildcards.get("condition") not in ("grpo_rlhflow", None):
            continue
        jobs.setdefault(key, record)
    return jobs


def _moved(value, prefix: str):
    return [_moved(item, prefix) for item in value] if isinstance(value, list) else f"{prefix}/{value}"


def rerun_in_env(record: dict, env: str, workdir: Path, config: Path, scratch: Path,
                 environment: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[str], str]:
    """Run a recorded job's script again in ``env``'s venv alone, its outputs and log moved under
    ``envcheck/<env>/`` of the run; returns the result, the outputs it failed to write and the log."""
    prefix = f"envcheck/{env}"
    job = record["job"]
    output = {"all": _moved(job["output"]["all"], prefix),
              "named": {name: _moved(value, prefix) for name, value in job["output"]["named"].items()}}
    params = dict(record["params"])
    if "checkpoint_dir" in params:
        params["checkpoint_dir"] = _moved(params["checkpoint_dir"], prefix)
    call = {"rule": record["rule"], "script": rule_envs()[record["rule"]][1], "workdir": str(workdir),
            "config": str(config), "input": job["input"], "output": output, "log": _moved(job["log"], prefix),
            "params": params, "threads": job["threads"]}
    job_file = scratch / f"{record['rule']}-{abs(hash(json.dumps(call, sort_keys=True)))}.json"
    job_file.write_text(json.dumps(call))
    python = venv_dir(env) / "bin" / "python"
    result = subprocess.run([str(python), "-I", str(Path(__file__).resolve()), "run", str(job_file)], cwd=REPO,
                            env={k: v for k, v in environment.items() if k != "PYTHONPATH"},
                            capture_output=True, text=True, timeout=900)
    log = Path(workdir) / call["log"][0] if call["log"] else None
    detail = (log.read_text()[-3000:] if log and log.exists() else "") + result.stderr[-3000:]
    missing = [path for path in output["all"] if not (Path(workdir) / path).exists()]
    return result, missing, detail


def check_env_on_run(env: str, workdir: Path, config: Path, scratch: Path, environment: dict[str, str],
                     rules: set[str] | None = None) -> list[str]:
    """Rerun every recorded rule of ``env`` (or only ``rules``) in its venv; returns what ran."""
    python = venv_dir(env) / "bin" / "python"
    if not python.exists():
        raise AssertionError(f"{python} is missing: `make env-venvs` builds it (make test does)")
    by_rule = rule_envs()
    jobs = recorded_jobs(workdir)
    keys = sorted(key for key in jobs if by_rule[key.split("/")[0]][0] == f"{env}.yaml"
                  and by_rule[key.split("/")[0]][1] is not None
                  and (rules is None or key.split("/")[0] in rules))
    for key in keys:
        started = time.time()
        result, missing, detail = rerun_in_env(jobs[key], env, workdir, config, scratch, environment)
        assert result.returncode == 0, f"{key} failed in {env}.yaml's venv:\n{detail}"
        assert not missing, (key, missing)
        print(f"\n{env}.yaml: {key} in {time.time() - started:.1f} s")
    return keys


# ---------------------------------------------------------------------------------------------
# Inside an env's venv: run one script from its recorded call.

class Files(list):
    """Snakemake's input/output/log containers as a script sees them: a list, with names."""

    def __init__(self, record: dict | list):
        if isinstance(record, list):
            record = {"all": record, "named": {}}
        super().__init__(record["all"])
        self._named = record["named"]

    def __getattr__(self, name):
        try:
            return self.__dict__["_named"][name]
        except KeyError:
            raise AttributeError(name) from None

    def items(self):
        return self._named.items()


class Params(dict):
    __getattr__ = dict.__getitem__


def run_job(job_file: str) -> None:
    """Run ``job['script']`` with a stand-in ``snakemake`` object made of the job's recorded call."""
    job = json.loads(Path(job_file).read_text())
    sys.path.insert(0, str(REPO))  # as the workflow's PYTHONPATH does for every job
    leaked = [entry for entry in sys.path if "/.venv/" in entry or entry.endswith("/.venv")]
    if leaked:
        raise SystemExit(f"the project venv is on sys.path: {leaked}")
    import yaml

    params = dict(job["params"])
    wildcards = params.pop("wildcards", {})
    snakemake = type("Snakemake", (), {})()
    snakemake.input, snakemake.output, snakemake.log = Files(job["input"]), Files(job["output"]), Files(job["log"])
    snakemake.params, snakemake.wildcards = Params(params), Params(wildcards)
    snakemake.rule, snakemake.threads = job["rule"], job.get("threads", 1)
    snakemake.config = yaml.safe_load(Path(job["config"]).read_text())
    os.chdir(job["workdir"])
    runpy.run_path(str(REPO / job["script"]), init_globals={"snakemake": snakemake}, run_name="__main__")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        build(Path(sys.argv[2]).resolve())
    elif len(sys.argv) == 3 and sys.argv[1] == "run":
        run_job(sys.argv[2])
    else:
        raise SystemExit(__doc__)
