"""The DAGs of the tiny and the paper world, from dry runs (seconds, no job runs)."""

from __future__ import annotations

import yaml

from conftest import REPO

TINY = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())


def test_every_job_of_both_worlds_has_one_log_under_its_results_dir(tiny_dag, paper_dag):
    for config, dag in ((TINY, tiny_dag), (PAPER, paper_dag)):
        jobs = [job for job in dag if job.rule != "all"]
        without = sorted({job.rule for job in jobs if len(job.logs) != 1})
        assert not without, f"rules whose jobs have no single log: {without}"
        logs = [job.logs[0] for job in jobs]
        assert len(set(logs)) == len(logs), "two jobs share a log file"
        assert all(log.startswith(config["results_dir"] + "/") for log in logs)


def test_the_model_and_judge_rules_measure_their_runtime(tiny_dag, paper_dag):
    measured = {job.rule for job in [*tiny_dag, *paper_dag] if job.benchmarks}
    assert {"init_model", "train", "generate", "judge", "judge_api"} <= measured


def test_the_tiny_and_the_paper_world_write_disjoint_files_in_their_own_folders(tiny_dag, paper_dag):
    """Run the tiny world, then the paper world, in one working directory: neither overwrites a
    file of the other, and paper/ keeps only sources."""
    worlds = {}
    for name, config, dag in (("tiny", TINY, tiny_dag), ("paper", PAPER, paper_dag)):
        files = {path for job in dag for path in job.files}
        folders = (config["results_dir"] + "/", config["resources_dir"] + "/")
        stray = sorted(path for path in files if not path.startswith(folders))
        assert not stray, f"{name} world writes outside its results_dir and resources_dir: {stray[:5]}"
        worlds[name] = files
    assert TINY["results_dir"] != PAPER["results_dir"] and TINY["resources_dir"] != PAPER["resources_dir"]
    shared = worlds["tiny"] & worlds["paper"]
    assert not shared, sorted(shared)[:10]
