"""The DAGs of the tiny and the paper world, from dry runs (seconds, no job runs)."""

from __future__ import annotations

import yaml

from conftest import REPO

TINY = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
REHEARSAL = yaml.safe_load((REPO / "config" / "rehearsal.yaml").read_text())


def test_every_job_of_every_world_has_one_log_under_its_results_dir(tiny_dag, paper_dag, rehearsal_dag):
    for config, dag in ((TINY, tiny_dag), (PAPER, paper_dag), (REHEARSAL, rehearsal_dag)):
        jobs = [job for job in dag if job.rule != "all"]
        without = sorted({job.rule for job in jobs if len(job.logs) != 1})
        assert not without, f"rules whose jobs have no single log: {without}"
        logs = [job.logs[0] for job in jobs]
        assert len(set(logs)) == len(logs), "two jobs share a log file"
        assert all(log.startswith(config["results_dir"] + "/") for log in logs)


def test_the_model_and_judge_rules_measure_their_runtime(tiny_dag, paper_dag):
    measured = {job.rule for job in [*tiny_dag, *paper_dag] if job.benchmarks}
    assert {"init_model", "train", "generate", "judge", "judge_api"} <= measured


def test_the_worlds_write_disjoint_files_in_their_own_folders(tiny_dag, paper_dag, rehearsal_dag):
    """Run the tiny, paper and rehearsal worlds in one working directory: none overwrites a file of
    another, and paper/ keeps only sources."""
    worlds = {}
    for name, config, dag in (("tiny", TINY, tiny_dag), ("paper", PAPER, paper_dag),
                              ("rehearsal", REHEARSAL, rehearsal_dag)):
        files = {path for job in dag for path in job.files}
        folders = (config["results_dir"] + "/", config["resources_dir"] + "/")
        stray = sorted(path for path in files if not path.startswith(folders))
        assert not stray, f"{name} world writes outside its results_dir and resources_dir: {stray[:5]}"
        worlds[name] = files
    for folder in ("results_dir", "resources_dir"):
        assert len({TINY[folder], PAPER[folder], REHEARSAL[folder]}) == 3, folder
    for one, other in (("tiny", "paper"), ("tiny", "rehearsal"), ("paper", "rehearsal")):
        shared = worlds[one] & worlds[other]
        assert not shared, (one, other, sorted(shared)[:10])


def test_the_rehearsal_dag_has_the_paper_worlds_rules(rehearsal_dag, paper_dag):
    """The rehearsal runs every rule the paper world runs, and nothing of the tiny world."""
    assert {job.rule for job in rehearsal_dag} == {job.rule for job in paper_dag}
    assert {"download_model", "download_dataset", "download_benchmark", "judge_api"} <= {j.rule for j in rehearsal_dag}
