"""The rehearsal world end to end: config/rehearsal.yaml on its local hub and judge server.

One run (a few minutes on 2 cores) feeds every test here, as the tiny run feeds
test_workflow_e2e.py. It runs as `value-retention rehearse` runs it: the local hub snapshot is made
(value_retention/rehearsal/snapshot.py), served on HF_ENDPOINT, the judges' OpenAI-compatible server
listens on loopback, and `snakemake --configfile config/rehearsal.yaml --cores 2` runs the paper
world's DAG: every download rule against the local hub, the reward-model reward, two seeds, two
API judges through judge_api (concurrency, cache, retries), and the whole analysis and paper.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import envcheck
import pandas as pd
import pytest
import yaml

from value_retention.provenance import sidecar_path
from value_retention.rehearsal import snapshot as hub_snapshot
from value_retention.rehearsal.run import run_workflow, services

from conftest import REPO, latexmk_available

pytestmark = pytest.mark.e2e
CONFIG = yaml.safe_load((REPO / "config" / "rehearsal.yaml").read_text())
OUT, RES = CONFIG["results_dir"], CONFIG["resources_dir"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The rehearsal, with the services kept up for the tests that talk to them."""
    if not latexmk_available():
        pytest.fail("latexmk is missing: `make test` installs it (see the Makefile's tex target)")
    workdir = tmp_path_factory.mktemp("rehearsal")
    started = time.time()
    with services(workdir) as running:
        made = time.time()
        result = run_workflow(running, workdir, capture_output=True, text=True, timeout=1500)
        (workdir / "snakemake.out").write_text(result.stdout + result.stderr)
        assert result.returncode == 0, f"rehearsal failed; last lines:\n{(result.stdout + result.stderr)[-6000:]}"
        print(f"\nrehearsal: snapshot {made - started:.0f} s, workflow {time.time() - made:.0f} s wall")
        yield {"dir": workdir, "services": running, "judge_hits": running.judges.hits}


def sidecar(run, path: str) -> dict:
    return json.loads(sidecar_path(run["dir"] / path).read_text())


def jobs_by_rule(run) -> dict[str, int]:
    console = (run["dir"] / "snakemake.out").read_text()
    table = console[console.rindex("Job stats:"):].splitlines()
    return {line.split()[0]: int(line.split()[1]) for line in table[3:] if len(line.split()) == 2
            and line.split()[1].isdigit()}


def test_the_dag_has_the_paper_worlds_paths(run):
    jobs = jobs_by_rule(run)
    seeds, conditions = CONFIG["seeds"], CONFIG["conditions"]
    assert len(seeds) == 2 and len(CONFIG["panel"]) == 2
    assert {"download_model", "download_dataset", "download_benchmark", "judge_api"} <= set(jobs)
    assert not {"tiny_dataset", "tiny_benchmark", "init_model", "judge"} & set(jobs)  # nothing of the tiny world
    assert jobs["download_model"] == 3  # base, the authors' mid-trained checkpoint, the reward model
    assert jobs["judge_api"] == len(conditions) * len(seeds) * len(CONFIG["benchmarks"]) * len(CONFIG["panel"])
    assert jobs["train"] == sum("stage" in spec for spec in conditions.values()) * len(seeds)


def test_downloads_ran_against_the_local_hub_and_recorded_the_commits(run):
    commits = json.loads((run["services"].snapshot / "commits.json").read_text())
    requested = {method_path for method_path in run["services"].hub.requests}
    assert any(path.startswith("/api/models/") for _, path in requested)
    for name, spec in CONFIG["models"].items():
        download = sidecar(run, f"{RES}/hub/{name}")["download"]
        assert (download["repo"], download["commit"]) == (spec["repo"], commits[spec["repo"]][-1])
        assert download["endpoint"] == run["services"].hub.endpoint
    for name in ("dolly", "magicoder", "rlhflow_prompts", "magicoder_prompts"):
        download = sidecar(run, f"{RES}/raw/{name}.jsonl")["download"]
        assert download["commit"] == commits[CONFIG["datasets"][name]["repo"]][-1], name
    # AHB asked for a tag that main has moved past: the tag's commit, and its questions, came down.
    ahb = sidecar(run, f"{RES}/raw/benchmarks/ahb/questions.jsonl")["download"]["origin"]
    tagged, main = commits[hub_snapshot.AHB]
    assert (ahb["revision"], ahb["commit"]) == (hub_snapshot.AHB_TAG, tagged) and tagged != main
    questions = (run["dir"] / RES / "raw" / "benchmarks" / "ahb" / "questions.jsonl").read_text().splitlines()
    assert len(questions) == len(hub_snapshot.AHB_TAGGED_IDS)  # the tagged commit's; main has one more
    moru = sidecar(run, f"{RES}/raw/benchmarks/moru/questions.jsonl")["download"]["origin"]
    assert moru["dimensions"]["commit"] == commits[hub_snapshot.MORU_DIMENSIONS][-1]


def test_the_methods_table_names_every_commit(run):
    table = (run["dir"] / OUT / "tables" / "table_sources.tex").read_text()
    commits = json.loads((run["services"].snapshot / "commits.json").read_text())
    for repo, shas in commits.items():
        if repo != hub_snapshot.AHB:
            assert shas[-1][:12] in table, repo
    assert commits[hub_snapshot.AHB][0][:12] in table and "AHB-2.2" in table


def test_pin_writes_the_downloaded_commits_into_the_config(run, tmp_path):
    pinned = tmp_path / "pinned.yaml"
    result = subprocess.run([sys.executable, "-m", "value_retention.cli", "pin", "--config",
                             str(REPO / "config" / "rehearsal.yaml"), "--resources", str(run["dir"] / RES),
                             "--out", str(pinned)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(pinned.read_text())
    commits = json.loads((run["services"].snapshot / "commits.json").read_text())
    assert config["benchmarks"]["ahb"]["revision"] == commits[hub_snapshot.AHB][0]
    assert config["benchmarks"]["moru"]["dimensions_revision"] == commits[hub_snapshot.MORU_DIMENSIONS][-1]
    assert config["models"]["helpfulness_rm"]["revision"] == commits[hub_snapshot.REWARD_MODEL][-1]
    assert "# The rehearsal world" in pinned.read_text()  # comments kept
    check = subprocess.run([sys.executable, "-m", "value_retention.cli", "check-config", str(pinned)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def test_helpfulness_grpo_was_rewarded_by_the_reward_model(run):
    for seed in CONFIG["seeds"]:
        model = run["dir"] / OUT / "models" / "grpo_rlhflow" / f"seed{seed}"
        log = json.loads((model / "training_log.json").read_text())
        assert log["reward"]["type"] == "reward_model"
        assert log["reward"]["model"] == f"{RES}/hub/helpfulness_rm"
        # TRL logs each completion's reward under the reward function's name.
        rewards = [json.loads(line)["reward_model"] for line in (model / "completions.jsonl").read_text().splitlines()]
        assert len(set(map(str, rewards))) > 1  # a classifier's scores vary with the text


def test_the_api_judges_went_through_retries_and_differ(run):
    retries = calls = unparseable = 0
    grades: dict[str, list] = {judge: [] for judge in CONFIG["panel"]}
    for path in (run["dir"] / OUT / "judgments").rglob("*.jsonl"):
        stats = sidecar(run, str(path.relative_to(run["dir"])))["judge_stats"]
        retries, calls = retries + stats["retries"], calls + stats["calls"]
        unparseable += stats["unparseable"]
        grades[path.stem] += [json.loads(line)["grade"] for line in path.read_text().splitlines()]
    assert retries > 0 and calls == run["judge_hits"]
    assert unparseable > 0  # the overlap judge's markdown-bold grades were counted, not dropped silently
    for judge, seen in grades.items():
        assert {"C", "I"} <= set(seen), judge
    assert grades[CONFIG["panel"][0]] != grades[CONFIG["panel"][1]]
    for bench in CONFIG["benchmarks"]:
        agreement = json.loads((run["dir"] / OUT / "stats" / f"{bench}.json").read_text())["judges"]
        assert agreement["alpha"] is not None and agreement["n_units"] > 0, bench


def test_a_rerun_of_a_judge_job_is_answered_from_the_cache(run):
    target = f"{OUT}/judgments/ahb/base/seed0/{CONFIG['panel'][0]}.jsonl"
    before = (run["dir"] / target).read_text()
    hits = run["services"].judges.hits
    result = run_workflow(run["services"], run["dir"], ["--forcerun", target, "--allowed-rules", "judge_api", target],
                          capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert run["services"].judges.hits == hits  # no request reached the server
    assert (run["dir"] / target).read_text() == before
    assert sidecar(run, target)["judge_stats"]["cache_hits"] > 0


def test_two_seeds_reach_the_scores_and_statistics(run):
    for bench in CONFIG["benchmarks"]:
        tidy = pd.read_csv(run["dir"] / OUT / "scores" / f"{bench}.csv")
        assert set(tidy["seed"]) == set(CONFIG["seeds"])
        assert set(tidy["judge"]) == {*CONFIG["panel"], "panel"}
        stats = json.loads((run["dir"] / OUT / "stats" / f"{bench}.json").read_text())
        assert list(stats["conditions"]) == list(CONFIG["conditions"])
        assert all("p_holm" in c for c in stats["contrasts"])


def test_the_paper_and_every_result_with_provenance(run):
    pdf = run["dir"] / OUT / "paper" / "paper.pdf"
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 20_000
    produced = [p for p in (run["dir"] / OUT).rglob("*")
                if p.is_file() and not p.name.endswith(".prov.json")
                and not {"checkpoints", "models", "notebooks", "logs", "benchmarks"} & set(p.parts)]
    missing = [str(p) for p in produced if not sidecar_path(p).exists()]
    assert produced and not missing, missing


# --- every rule's script in its own env's venv, without conda (tests/envcheck.py) ----------------

RULE_ENVS = envcheck.rule_envs()
BUILT_ENVS = sorted({env.removesuffix(".yaml") for env, _ in RULE_ENVS.values()} - set(envcheck.NOT_BUILT))


@pytest.mark.parametrize("env", BUILT_ENVS)
def test_every_rule_script_runs_in_its_own_env_alone(run, env, tmp_path):
    ran = envcheck.check_env_on_run(env, run["dir"], REPO / "config" / "rehearsal.yaml", tmp_path,
                                    run["services"].env)
    assert ran, f"no rule of {env}.yaml ran in the rehearsal"
