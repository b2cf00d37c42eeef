"""The workflow on a real SLURM scheduler: a one-node cluster on localhost (tests/slurm_cluster.py).

Every run goes through `snakemake --profile slurm` started from the repository root, exactly as a
user starts it (Snakemake finds the profile as ./slurm); `--directory` puts the run in a temporary
folder. No resource is overridden: the tiny default asks for no GPU and sizes its jobs for one
2-CPU node in its own config (`gpus: 0`, `job_resources`), the profile holds only site settings,
and the test cluster's one partition is its default. What differs from a real cluster is said on
the command line, and none of it is a resource:

- `squeue` as the status command and no account (the test cluster has no accounting database, so
  `sacct` cannot answer);
- no conda (there is none here; see NO_CONDA): every job runs in this virtualenv.

Tests:
- fast checks of the profile itself (no scheduler): it parses, names only real rules, holds site
  settings only, and takes the site's account, partitions and GPU type from the environment; the
  worlds' own GPU requests (none in the tiny default, the paper's counts in config/paper.yaml);
- a harness self-test: a two-rule workflow whose jobs record what SLURM gave them (~40 s);
- the real workflow up to `results/stats/moru.json` (datasets, tokenizer, base model, every trained
  condition, generation, judging, scoring, statistics: about 40 SLURM jobs), then the same target
  run locally with `--cores 2`, and the two runs compared (several minutes each).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake.profiles import ProfileConfigFileParser

import slurm_cluster as harness
from conftest import REPO
from slurm_cluster import ClusterUnavailable, SlurmCluster, slurm_cluster  # noqa: F401  (the fixture)

PROFILE = REPO / "slurm" / "profile.yaml"
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
GPU_RULES = ("init_model", "train", "generate", "judge")  # the rules whose `gpus` the config sets
SITE_VARIABLES = ("VR_SLURM_ACCOUNT", "VR_SLURM_PARTITION", "VR_SLURM_GPU_PARTITION", "VR_SLURM_GPU_MODEL")
# No conda on the test machine, and Snakemake has no "none" deployment method: env-modules does
# nothing for rules without an `envmodules:` directive (none has one), so jobs run in this venv.
NO_CONDA = ["--software-deployment-method", "env-modules"]
# One CPU and one thread per job, as the tiny config's job_resources say. Equal threads also make the
# SLURM and the local run comparable: Snakemake sets OMP_NUM_THREADS from a job's threads, and a CPU
# matmul's rounding (so the sampled answers) depends on it.
JOB_CPUS = 1
MORU_STATS = "results/stats/moru.json"
MORU_SCORES = "results/scores/moru.csv"


# --- the profile, read as Snakemake reads it ------------------------------------------------------

def profile_settings(**site: str) -> dict[str, object]:
    """The profile as Snakemake parses it, with these site variables set and no others."""
    saved = {name: os.environ.pop(name, None) for name in SITE_VARIABLES}
    os.environ.update(site)
    try:
        with PROFILE.open() as stream:
            return dict(ProfileConfigFileParser().parse(stream))
    finally:
        for name in SITE_VARIABLES:
            os.environ.pop(name, None)
            if saved[name] is not None:
                os.environ[name] = saved[name]


def split_assignment(assignment: str) -> tuple[str | None, str, str]:
    """'rule:key=value' or 'key=value' -> (rule or None, key, value)."""
    target, value = assignment.split("=", 1)
    rule, _, key = target.rpartition(":")
    return rule or None, key, value


def workflow_rules() -> set[str]:
    result = subprocess.run([*SNAKEMAKE, "--list-rules"], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}


def job_resources(log: str) -> dict[str, dict[str, str]]:
    """rule -> {resource: value}, from the 'rule NAME:' ... 'resources: ...' lines Snakemake prints
    for each job (the last job of a rule wins)."""
    jobs, rule = {}, None
    for line in log.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            rule = match.group(1)
        elif rule and line.strip().startswith("resources:"):
            pairs = (item.split("=", 1) for item in line.split(":", 1)[1].split(", "))
            jobs[rule] = {key.strip(): value.strip() for key, value in pairs}
    return jobs


# --- fast checks of the profile (no scheduler) ----------------------------------------------------

def test_profile_holds_site_settings_only():
    """What a job needs belongs to its world's config; the profile says where jobs go, nothing more."""
    settings = profile_settings()
    assert settings["executor"] == "slurm"
    assert settings["software-deployment-method"] == "conda"
    assert "set-resources" not in settings and "set-threads" not in settings
    defaults = dict(split_assignment(a)[1:] for a in settings["default-resources"])
    assert set(defaults) == {"runtime", "mem_mb", "cpus_per_task"} and defaults["cpus_per_task"] == "1"
    # Nothing site-specific unless the site says so: a typed GPU (`--gpus=h100:1`) fails on
    # clusters whose GRES type is named differently; an empty partition or account is noise.
    assert not any(a.startswith(("slurm_partition=", "slurm_account=")) for a in settings["default-resources"])


def dry_run_resources(*args: str, env: dict | None = None, tmp_path: Path) -> dict[str, dict[str, str]]:
    result = subprocess.run([*SNAKEMAKE, *args, "--profile", "slurm", "--directory", str(tmp_path), "--dry-run",
                             *NO_CONDA], cwd=REPO, env=env or os.environ, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return job_resources(result.stdout)


def test_the_tiny_default_asks_for_no_gpu_and_fits_one_two_cpu_node(tmp_path):
    jobs = dry_run_resources(MORU_STATS, tmp_path=tmp_path)
    for rule in GPU_RULES:
        assert jobs[rule]["gpu"] == "0", rule
        assert int(jobs[rule]["cpus_per_task"]) <= 2 and int(jobs[rule]["mem_mb"]) <= 8000, rule


def test_profile_keeps_every_jobs_slurm_log_and_shows_failed_job_logs():
    """Without the executor's keep option, the SLURM logs of jobs that succeeded are deleted (the
    SLURM runs below rely on the profile alone for them)."""
    settings = profile_settings()  # Snakemake reads every value as text
    assert settings["slurm-keep-successful-logs"].lower() == "true"
    assert settings["show-failed-logs"].lower() == "true"


def test_profile_takes_account_partitions_and_gpu_type_from_the_environment():
    assert "set-resources" not in profile_settings(VR_SLURM_ACCOUNT="proj42")
    settings = profile_settings(VR_SLURM_ACCOUNT="proj42", VR_SLURM_PARTITION="cpu",
                                VR_SLURM_GPU_PARTITION="gpu", VR_SLURM_GPU_MODEL="a100")
    assert {"slurm_account=proj42", "slurm_partition=cpu"} <= set(settings["default-resources"])
    for rule in GPU_RULES:
        assert {f"{rule}:slurm_partition=gpu", f"{rule}:gpu_model=a100"} <= set(settings["set-resources"])
    # The other rules keep the default partition.
    assert not any(split_assignment(a)[0] not in GPU_RULES and split_assignment(a)[1] == "slurm_partition"
                   for a in settings["set-resources"])


def test_profile_names_only_rules_of_the_workflow():
    settings = profile_settings()
    settings = profile_settings(VR_SLURM_GPU_PARTITION="gpu")
    named = {split_assignment(a)[0] for a in settings["set-resources"]}
    unknown = named - workflow_rules()
    assert not unknown, f"slurm/profile.yaml names rules the workflow does not have: {sorted(unknown)}"


def test_site_variables_reach_the_jobs_as_a_user_runs_the_profile(tmp_path):
    """A dry run from the repository root, as a user types it, shows the resources jobs would get:
    the site's account and GPU partition beside the world's own sizes."""
    env = {**os.environ, "VR_SLURM_ACCOUNT": "proj42", "VR_SLURM_GPU_PARTITION": "gpu"}
    env.pop("VR_SLURM_PARTITION", None)
    env.pop("VR_SLURM_GPU_MODEL", None)
    jobs = dry_run_resources("results/models/base/seed0", env=env, tmp_path=tmp_path)
    init = jobs["init_model"]
    assert (init["gpu"], init["slurm_partition"], init["slurm_account"]) == ("0", "gpu", "proj42")
    assert (init["cpus_per_task"], init["runtime"]) == (str(CONFIG["job_resources"]["init_model"]["cpus"]),
                                                        str(CONFIG["job_resources"]["init_model"]["runtime"]))
    tokenizer = jobs["train_tokenizer"]
    assert "gpu" not in tokenizer and "slurm_partition" not in tokenizer
    assert tokenizer["slurm_account"] == "proj42" and tokenizer["cpus_per_task"] == "1"


@pytest.mark.parametrize("model, stage, gpus", [("midtrained/seed0", "midtrain", "4"), ("sft_dolly/seed0", "sft", "1")])
def test_paper_training_jobs_ask_for_their_stages_gpus(tmp_path, model, stage, gpus):
    """Full-parameter mid-training of 8B gets several GPUs (FSDP), LoRA stages one. The default
    tree starts from the authors' mid-trained checkpoint; mid-training here is the documented
    alternative (config/paper.yaml's comment on `midtrained`), which this config takes."""
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert str(paper["stages"][stage].get("gpus", 1)) == gpus
    paper["conditions"]["midtrained"] = {"from": "base", "stage": "midtrain", "data": "compassion_docs"}
    config = tmp_path / "paper_midtraining.yaml"
    config.write_text(yaml.safe_dump(paper, sort_keys=False))
    env = {**os.environ, "VR_SLURM_GPU_MODEL": "h100"}
    target = f"{paper['results_dir']}/models/{model}"
    result = subprocess.run([*SNAKEMAKE, target, "--profile", "slurm", "--configfile", str(config),
                             "--directory", str(tmp_path), "--dry-run", *NO_CONDA],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    train = job_resources(result.stdout)["train"]  # the target's own job is the last train job
    assert (train["gpu"], train["gpu_model"]) == (gpus, "h100")


# --- the harness fails loudly where it cannot start a cluster ---------------------------------------

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SLURM runs on Linux only")
def test_harness_refuses_to_start_without_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    cluster = SlurmCluster()
    with pytest.raises(ClusterUnavailable, match="needs root"):
        cluster.start()
    assert cluster.root is None  # nothing was made, so there is nothing to undo


def test_harness_explains_missing_programs_it_cannot_install(monkeypatch):
    monkeypatch.setattr(harness, "_which", lambda name: None)
    monkeypatch.setattr(harness.shutil, "which", lambda *args, **kwargs: None)  # no apt-get either
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(ClusterUnavailable, match=r"missing and apt-get is not available"):
        harness.ensure_installed()


# --- runs on the test cluster ---------------------------------------------------------------------

def slurm_run(cluster: SlurmCluster, workdir: Path, *targets: str, snakefile: Path | None = None,
              timeout: int = 1800) -> subprocess.CompletedProcess:
    """`snakemake --profile slurm` from the repository root, with no resource override."""
    command = [
        *SNAKEMAKE, *targets,
        *(["--snakefile", str(snakefile)] if snakefile else []),
        "--profile", "slurm",
        "--directory", str(workdir),
        "--slurm-status-command", "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "2",
        *NO_CONDA,
    ]
    env = {k: v for k, v in cluster.env.items() if k not in SITE_VARIABLES}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def slurm_logs(workdir: Path) -> dict[str, list[Path]]:
    """rule -> the SLURM job logs the executor kept (one per submitted job)."""
    logs: dict[str, list[Path]] = {}
    for log in (workdir / ".snakemake" / "slurm_logs").rglob("*.log"):
        rule = next(part for part in log.relative_to(workdir).parts if part.startswith("rule_"))
        logs.setdefault(rule.removeprefix("rule_"), []).append(log)
    return logs


def failure_report(result: subprocess.CompletedProcess, workdir: Path, cluster: SlurmCluster) -> str:
    """Snakemake's output, the logs of failed jobs and the daemons' logs: what a reader needs."""
    output = (result.stdout + result.stderr)[-6000:]
    failed = [log for logs in slurm_logs(workdir).values() for log in logs
              if "Error" in log.read_text(errors="replace")]
    job_logs = "\n".join(f"--- {log} ---\n{log.read_text(errors='replace')[-2000:]}" for log in failed[:3])
    return f"snakemake --profile slurm failed ({result.returncode}):\n{output}\n{job_logs}\n{cluster.diagnostics()}"


# Each job writes down what the scheduler says about it.
TWO_RULES = """
rule all:
    input: "b.txt"

rule a:
    output: "a.txt"
    shell: "scontrol show job --oneliner $SLURM_JOB_ID > {output}"

rule b:
    input: "a.txt"
    output: "b.txt"
    resources: cpus_per_task=2, mem_mb=300, runtime=5
    shell: "scontrol show job --oneliner $SLURM_JOB_ID > {output}"
"""


def scontrol_fields(path: Path) -> dict[str, str]:
    return dict(token.split("=", 1) for token in path.read_text().split() if "=" in token)


def slurm_time_limit(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


@pytest.mark.slurm
def test_harness_runs_a_two_rule_workflow_through_the_profile(slurm_cluster, tmp_path):
    (tmp_path / "Snakefile").write_text(TWO_RULES)
    started = time.time()
    result = slurm_run(slurm_cluster, tmp_path, snakefile=tmp_path / "Snakefile", timeout=600)
    assert result.returncode == 0, failure_report(result, tmp_path, slurm_cluster)
    print(f"\ntwo-rule workflow on SLURM: {time.time() - started:.0f} s")

    job_a, job_b = scontrol_fields(tmp_path / "a.txt"), scontrol_fields(tmp_path / "b.txt")
    assert job_a["JobId"] != job_b["JobId"], "both outputs came from one job"
    assert job_a["Partition"] == job_b["Partition"] == slurm_cluster.partition
    # The profile's default runtime reached sbatch for rule a...
    defaults = dict(a.split("=", 1) for a in profile_settings()["default-resources"])
    assert job_a["TimeLimit"] == slurm_time_limit(int(defaults["runtime"]))
    assert job_a["NumCPUs"] == str(JOB_CPUS)
    # ...and rule b's own resources reached sbatch for rule b.
    assert (job_b["NumCPUs"], job_b["MinMemoryNode"], job_b["TimeLimit"]) == ("2", "300M", slurm_time_limit(5))
    assert set(slurm_logs(tmp_path)) == {"a", "b"}


@pytest.fixture(scope="module")
def moru_on_slurm(slurm_cluster, tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("slurm-run")
    started = time.time()
    result = slurm_run(slurm_cluster, workdir, MORU_STATS)
    (workdir / "snakemake.out").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, failure_report(result, workdir, slurm_cluster)
    print(f"\n{MORU_STATS} on SLURM: {time.time() - started:.0f} s wall")
    return workdir


@pytest.fixture(scope="module")
def moru_locally(moru_on_slurm, tmp_path_factory) -> Path:
    """The same target, run as `snakemake --cores 2` runs it (after the SLURM run, not beside it)."""
    workdir = tmp_path_factory.mktemp("local-run")
    started = time.time()
    result = subprocess.run([*SNAKEMAKE, MORU_STATS, "--directory", str(workdir), "--cores", "2"],
                            cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    print(f"\n{MORU_STATS} locally: {time.time() - started:.0f} s wall")
    return workdir


def produced_files(workdir: Path) -> set[str]:
    return {str(path.relative_to(workdir)) for folder in ("resources", "results")
            for path in (workdir / folder).rglob("*") if path.is_file()}


@pytest.mark.slurm
def test_moru_statistics_run_as_slurm_jobs(moru_on_slurm, slurm_cluster):
    logs = slurm_logs(moru_on_slurm)
    # Training, generation, judging and analysis each ran as SLURM jobs, one job per DAG node.
    for rule in ("tiny_dataset", "prepare_dataset", "train_tokenizer", "init_model", "train", "generate",
                 "judge", "score", "collect_scores", "statistics"):
        assert rule in logs, f"no SLURM job for rule {rule}; jobs ran for {sorted(logs)}"
    conditions, seeds = CONFIG["conditions"], CONFIG["seeds"]
    trained = [name for name, spec in conditions.items() if "stage" in spec]
    assert len(logs["train"]) == len(trained) * len(seeds)
    assert len(logs["generate"]) == len(logs["score"]) == len(conditions) * len(seeds)
    assert len(logs["judge"]) == len(conditions) * len(seeds) * len(CONFIG["panel"])
    stats = json.loads((moru_on_slurm / MORU_STATS).read_text())
    assert stats["benchmark"] == "moru" and list(stats["conditions"]) == list(conditions)
    # The model rules asked for what the tiny config says: no GPU, one CPU.
    jobs = job_resources((moru_on_slurm / "snakemake.out").read_text())
    for rule in GPU_RULES:
        assert (jobs[rule]["gpu"], jobs[rule]["cpus_per_task"]) == ("0", str(JOB_CPUS))


@pytest.mark.slurm
def test_slurm_and_local_runs_agree(moru_on_slurm, moru_locally):
    assert produced_files(moru_on_slurm) == produced_files(moru_locally)
    # Same seeds, same threads, same machine: the scores agree to the last bit.
    on_slurm = pd.read_csv(moru_on_slurm / MORU_SCORES)
    locally = pd.read_csv(moru_locally / MORU_SCORES)
    assert len(on_slurm) > 0
    pd.testing.assert_frame_equal(on_slurm, locally, check_exact=True)
    stats_on_slurm = json.loads((moru_on_slurm / MORU_STATS).read_text())
    stats_locally = json.loads((moru_locally / MORU_STATS).read_text())
    for key in ("conditions", "contrasts", "mixedlm", "transfer_ratio"):
        assert stats_on_slurm[key] == stats_locally[key], key
