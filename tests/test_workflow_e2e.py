"""End to end: the whole tiny workflow in a temporary directory, then every output checked.

One run (a few minutes on 2 cores) feeds every test in this module. The workflow runs exactly as a
user runs it: `snakemake` with the repository's Snakefile and the embedded tiny default config.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from value_retention.outputs import REPORT_CATEGORIES
from value_retention.provenance import audit_chain, sidecar_path
from value_retention.run_lock import pid_alive

from conftest import REPO, dry_run_jobs, latexmk_available
from inspect_log_checks import check_run_log
from report_checks import open_report, pane_document

pytestmark = pytest.mark.e2e
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]


# The environment's bin first on PATH, as `make` sets it: the notebook rule runs jupyter from there.
ENV = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}


def snakemake(workdir: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), *args],
                          capture_output=True, text=True, timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    if not latexmk_available():
        pytest.fail("latexmk is missing: `make test` installs it (see the Makefile's tex target)")
    workdir = tmp_path_factory.mktemp("tiny-run")
    started = time.time()
    result = snakemake(workdir, "--cores", "2")
    log = workdir / "snakemake.out"
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"tiny workflow failed; last lines:\n{(result.stdout + result.stderr)[-6000:]}"
    print(f"\ntiny workflow: {time.time() - started:.0f} s wall")
    return workdir


def conditions_and_seeds():
    return [(c, s) for c in CONFIG["conditions"] for s in CONFIG["seeds"]]


def test_every_model_is_a_loadable_checkpoint(run):
    for condition, seed in conditions_and_seeds():
        folder = run / "results" / "models" / condition / f"seed{seed}"
        assert (folder / "config.json").exists(), folder
        assert any(folder.glob("*.safetensors")), folder
        assert (folder / "tokenizer.json").exists(), folder
        assert sidecar_path(folder).exists(), folder


def training_log(run: Path, condition: str, seed: int) -> dict:
    return json.loads((run / "results" / "models" / condition / f"seed{seed}" / "training_log.json").read_text())


def test_every_training_stage_learns(run):
    """Every trained model (the pre-trained base included) logged non-zero gradient norms, and the
    coding GRPO run's rewards varied within its prompt groups on most steps."""
    for condition, seed in conditions_and_seeds():
        log = training_log(run, condition, seed)
        steps = [entry for entry in log["loss_history"] if "loss" in entry]
        assert steps and all(entry["grad_norm"] > 0 for entry in steps), condition
        assert log["warnings"] == [], (condition, log["warnings"])
    # Mid-training is sharded by the paper's FSDP config across two CPU processes: each held half.
    midtrained = training_log(run, "midtrained", 0)
    assert (midtrained["processes"], midtrained["distributed_type"]) == (2, "FSDP")
    assert midtrained["sharding"]["held_share"] == pytest.approx(0.5, abs=0.02)
    grpo = [entry for entry in training_log(run, "grpo_magicoder", 0)["loss_history"] if "loss" in entry]
    assert sum(entry["reward_std"] > 0 for entry in grpo) > len(grpo) / 2
    assert sum(entry["frac_reward_zero_std"] < 1 for entry in grpo) > len(grpo) / 2  # within prompt groups too
    completions = (run / "results" / "models" / "grpo_magicoder" / "seed0" / "completions.jsonl").read_text()
    assert len(completions.splitlines()) == training_log(run, "grpo_magicoder", 0)["completions"]["n"] > 0
    summary = json.loads((run / "results" / "training" / "summary.json").read_text())
    assert [(r["condition"], r["seed"]) for r in summary["runs"]] == conditions_and_seeds()
    assert summary["warnings"] == [] and json.loads((run / "results" / "stats" / "ahb.json").read_text())[
        "training_warnings"] == []


def test_generations_cover_every_question_and_epoch(run):
    epochs = CONFIG["generation"]["epochs"]
    for bench in CONFIG["benchmarks"]:
        questions = (run / "resources" / "benchmarks" / bench / "questions.jsonl").read_text().splitlines()
        assert len(questions) >= 10
        languages = {json.loads(q)["language"] for q in questions}
        assert len(languages) >= 3, f"{bench}: {languages}"
        for condition, seed in conditions_and_seeds():
            path = run / "results" / "generations" / bench / condition / f"seed{seed}.jsonl"
            rows = [json.loads(line) for line in path.read_text().splitlines()]
            assert len(rows) == len(questions) * epochs
            assert {r["epoch"] for r in rows} == set(range(epochs))
            for row in rows[:5]:
                assert row["condition"] == condition and row["prompt_format"] in ("chat", "raw")
                assert row["sampling"]["max_new_tokens"] == CONFIG["generation"]["max_new_tokens"]
                assert 0 <= row["completion_tokens"] <= CONFIG["generation"]["max_new_tokens"]


def test_moru_has_real_malay_and_hindi(run):
    rows = [json.loads(line) for line in
            (run / "resources" / "benchmarks" / "moru" / "questions.jsonl").read_text().splitlines()]
    hindi = [r["question"] for r in rows if r["language"] == "Hindi"]
    malay = [r["question"] for r in rows if r["language"] == "Malay"]
    assert hindi and all(any("\u0900" <= ch <= "\u097f" for ch in q) for q in hindi)
    assert malay and any(word in " ".join(malay).lower().split() for word in ("yang", "dan", "anda"))


def test_judgments_have_the_contract_fields(run):
    for bench in CONFIG["benchmarks"]:
        for condition, seed in conditions_and_seeds():
            for judge in CONFIG["panel"]:
                path = run / "results" / "judgments" / bench / condition / f"seed{seed}" / f"{judge}.jsonl"
                row = json.loads(path.read_text().splitlines()[0])
                assert {"question_id", "language", "epoch", "dimension", "assignment", "judge",
                        "grade", "raw"} <= set(row)
                assert row["grade"] in ("C", "I", None)


def test_scores_are_tidy_and_agree_with_the_score_files(run):
    for bench in CONFIG["benchmarks"]:
        tidy = pd.read_csv(run / "results" / "scores" / f"{bench}.csv")
        assert list(tidy.columns) == ["bench", "condition", "seed", "question_id", "base_item",
                                      "language", "epoch", "judge", "dimension", "score"]
        assert set(tidy["condition"]) == set(CONFIG["conditions"])
        assert tidy["score"].between(0, 1).all()
        for condition, seed in conditions_and_seeds():
            scores = json.loads((run / "results" / "scores" / bench / condition / f"seed{seed}.json").read_text())
            panel = tidy[(tidy.condition == condition) & (tidy.seed == seed) & (tidy.judge == "panel")
                         & (tidy.dimension == "overall")]
            per_question = panel.groupby(["question_id", "language"])["score"].mean()
            assert per_question.mean() == pytest.approx(scores["overall_mean"], abs=1e-9)


def test_every_run_has_an_inspect_log_that_inspect_reads_with_the_runs_scores(run):
    """inspect_ai reads each run's log: one sample per question, the config's epochs, every judge
    call, and the scores of results/scores/ (tests/inspect_log_checks.py)."""
    for bench, spec in CONFIG["benchmarks"].items():
        questions = run / "resources" / "benchmarks" / bench / "questions.jsonl"
        for condition, seed in conditions_and_seeds():
            scores = run / "results" / "scores" / bench / condition
            judgments = [run / "results" / "judgments" / bench / condition / f"seed{seed}" / f"{judge}.jsonl"
                         for judge in CONFIG["panel"]]
            log = check_run_log(run / "results" / "inspect" / bench / condition / f"seed{seed}.eval", questions,
                                scores / f"seed{seed}.json", scores / f"seed{seed}.csv",
                                CONFIG["generation"]["epochs"], spec["format"],
                                n_judgments=sum(len(path.read_text().splitlines()) for path in judgments))
            assert log.eval.task_args["condition"] == condition and log.eval.task_args["seed"] == seed


def test_statistics_have_every_layer(run):
    for bench in CONFIG["benchmarks"]:
        stats = json.loads((run / "results" / "stats" / f"{bench}.json").read_text())
        assert list(stats["conditions"]) == list(CONFIG["conditions"])
        for cell in stats["conditions"].values():
            assert cell["all"]["ci_low"] <= cell["all"]["mean"] <= cell["all"]["ci_high"]
        assert len(stats["contrasts"]) >= len(CONFIG["analysis"]["contrasts"])
        assert all("p_holm" in c for c in stats["contrasts"])
        assert "converged" in stats["mixedlm"] or "skipped" in stats["mixedlm"]
        assert "estimable" in stats["transfer_ratio"]


def test_figures_tables_numbers_and_paper(run):
    figures = list((run / "results" / "figures").glob("*.pdf"))
    assert len(figures) >= 4
    for pdf in figures:
        assert pdf.read_bytes()[:4] == b"%PDF"
        assert pdf.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tables = list((run / "results" / "tables").glob("*.tex"))
    assert tables and all("\\toprule" in t.read_text() for t in tables)
    numbers = (run / "results" / "paper" / "numbers.tex").read_text()
    assert numbers.count("\\newcommand") >= 20
    pdf = run / "results" / "paper" / "paper.pdf"
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 20_000


def test_notebook_was_executed(run):
    executed = json.loads((run / "results" / "notebooks" / "explore_scores.ipynb").read_text())
    code_cells = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert code_cells and all(c.get("execution_count") for c in code_cells)
    assert (run / "results" / "notebooks" / "language_means.csv").stat().st_size > 0


def test_every_result_has_provenance(run):
    # Logs and benchmark files describe jobs rather than results; they have no sidecars.
    produced = [p for p in (run / "results").rglob("*")
                if p.is_file() and not p.name.endswith(".prov.json")
                and not {"checkpoints", "models", "notebooks", "logs", "benchmarks"} & set(p.parts)]
    missing = [str(p.relative_to(run)) for p in produced if not sidecar_path(p).exists()]
    assert not missing, missing
    record = json.loads(sidecar_path(run / "results" / "stats" / "ahb.json").read_text())
    assert record["rule"] == "statistics" and record["inputs"][0]["sha256"]


def test_a_number_in_the_paper_audits_back_to_its_checkpoint(run):
    macros = json.loads(sidecar_path(run / "results" / "paper" / "numbers.tex").read_text())["macros"]
    name = next(n for n, m in macros.items()
                if (m["source"] or "").endswith("ahb.json") and m["key"].endswith("sft_dolly.all.mean"))
    result = subprocess.run([sys.executable, "-m", "value_retention.cli", "audit", name],
                            cwd=run, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for expected in ("rule statistics", "rule collect_scores", "rule score", "rule judge",
                     "rule generate", "rule train", "rule init_model", "rule prepare_dataset",
                     "results/models/sft_dolly/seed0"):
        assert expected in result.stdout, expected
    chain = audit_chain(macros[name]["source"], root=run)
    assert any(e["path"].startswith("resources/raw/") for e in chain)


def job_logs(console: str) -> dict[str, list[str]]:
    """rule -> the `log:` path of each of its jobs, from the job blocks Snakemake prints."""
    jobs, rule = [], None
    for line in console.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line.strip()):
            rule = match.group(1)
            jobs.append((rule, []))
        elif rule and line.strip().startswith("log: "):
            jobs[-1][1].extend(path.strip() for path in line.strip()[len("log: "):].split(","))
        elif not line.startswith("    "):
            rule = None
    by_rule: dict[str, list[str]] = {}
    for rule, logs in jobs:
        by_rule.setdefault(rule, []).append(logs)
    return by_rule


def test_every_job_left_one_log_and_the_console_shows_only_snakemake(run):
    console = (run / "snakemake.out").read_text()
    logs = job_logs(console)
    n_jobs = int(re.findall(r"(\d+) of \1 steps \(100%\) done", console)[-1])
    assert sum(len(jobs) for jobs in logs.values()) == n_jobs, {rule: len(jobs) for rule, jobs in logs.items()}
    without = sorted(rule for rule, jobs in logs.items() if rule != "all" and not all(len(j) == 1 for j in jobs))
    assert not without, f"jobs without exactly one log: {without}"
    declared = {job[0] for rule, jobs in logs.items() for job in jobs if rule != "all"}
    assert all((run / path).is_file() and (run / path).stat().st_size > 0 for path in declared)
    written = {str(path.relative_to(run)) for path in (run / "results" / "logs").rglob("*") if path.is_file()}
    assert written == {path for path in declared if path.startswith("results/logs/")}
    # The console has Snakemake's lines only: no job's log lines or progress bars.
    assert not re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING) ", console, re.MULTILINE)
    assert "it/s]" not in console and "%|" not in console
    # The costly rules have measured runtimes, which `value-retention plan --benchmarks` reads.
    for rule in ("init_model", "train", "generate", "judge"):
        assert list((run / "results" / "benchmarks" / rule).rglob("*.tsv")), rule


def test_the_paper_world_beside_the_tiny_run_would_overwrite_none_of_its_files(run):
    paper_files = {path for job in dry_run_jobs(run, "--configfile", str(REPO / "config" / "paper.yaml"))
                   for path in job.files}
    assert not [path for path in paper_files if (run / path).exists()]


def test_rerun_has_nothing_to_do(run):
    result = snakemake(run, "--dry-run", "--quiet", "rules", timeout=300)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr or not result.stdout.strip()


def test_the_report_shows_every_section_in_a_browser(run):
    """`snakemake --report` of the tiny run, opened in headless Chromium: every item has a caption
    and one of the categories; the tables show as HTML, beside the sample answers with their
    grades, the training curves and the executed notebook."""
    result = snakemake(run, "--report", "results/report.html", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = open_report(run / "results" / "report.html")
    assert set(shown["categories"]) == set(REPORT_CATEGORIES), shown["categories"].keys()
    for category in REPORT_CATEGORIES:
        assert category in shown["menu"], category
    items = shown["results"]
    for path, item in items.items():
        assert item["category"] in REPORT_CATEGORIES, (path, item["category"])
        description = item["info"].partition("DESCRIPTION")[2].partition("SIZE")[0].strip()
        assert len(description) > 40, f"{path}: no caption shown ({description!r})"
        assert "System Message" not in item["info"], f"{path}: the caption's reStructuredText has errors"
    by_name = {Path(path).name: item for path, item in items.items()}
    for name in ("headline", "contrasts", "dimensions", "mixedlm", "published", "conditions", "grading"):
        page = pane_document(by_name[f"table_{name}.html"]["pane"])
        assert "<table" in page and "<td" in page, name
    assert "sft_dolly" in pane_document(by_name["table_headline.html"]["pane"])
    assert not any(name.endswith(".tex") for name in by_name)  # LaTeX is the paper's, not the report's
    for bench in CONFIG["benchmarks"]:
        item = by_name[f"sample_answers_{bench}.html"]
        page = pane_document(item["pane"])
        assert item["category"] == "Generation" and "Question" in page
        for condition in CONFIG["conditions"]:
            assert f">{condition}<" in page, (bench, condition)
        for judge in CONFIG["panel"]:
            assert f">{judge}<" in page, (bench, judge)
    curves = by_name["training_curves.png"]
    assert curves["category"] == "Training" and "<img" in curves["pane"] and "data:image/png" in curves["pane"]
    notebook = by_name["explore_scores.html"]
    assert "language_means" in pane_document(notebook["pane"])  # the notebook's own code and output
    assert by_name["paper.pdf"]["category"] == "Paper"
    assert sum(item["category"] == "Judging" for item in items.values()) >= len(conditions_and_seeds())


def test_a_killed_training_job_leaves_no_output_and_resumes(tmp_path):
    """Preemption: SIGKILL the whole run once training has saved a checkpoint. No model folder is
    left looking complete, and the re-run resumes from the checkpoint instead of starting over."""
    target = "results/models/base/seed0"
    checkpoints = tmp_path / "results" / "checkpoints" / "base" / "seed0"
    process = subprocess.Popen([*SNAKEMAKE, "--directory", str(tmp_path), "--cores", "2", target],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env=ENV)
    deadline = time.time() + 600
    while not any(checkpoints.rglob("trainer_state.json")) and process.poll() is None:
        assert time.time() < deadline, "no training checkpoint appeared in 10 minutes"
        time.sleep(0.5)
    time.sleep(1.0)  # let the trainer finish writing that checkpoint (an unfinished one is ignored)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / target / "config.json").exists(), "a killed job left a model that looks complete"

    # The documented recovery after the controller itself was killed: unlock, then re-run.
    assert snakemake(tmp_path, "--unlock", timeout=300).returncode == 0
    rerun = snakemake(tmp_path, "--cores", "2", "--rerun-incomplete", target, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = json.loads((tmp_path / target / "training_log.json").read_text())
    assert log["resumed_from"] and log["resumed_from"].startswith("checkpoint-"), log["resumed_from"]


# The rules only the tiny world runs, in their own envs' venvs alone (the rehearsal checks the rest:
# tests/test_rehearsal.py, tests/envcheck.py).
TINY_ONLY_RULES = {"data": {"tiny_dataset", "tiny_benchmark"}, "train": {"train_tokenizer", "init_model"},
                   "evaluate": {"judge"}}


@pytest.mark.parametrize("env", sorted(TINY_ONLY_RULES))
def test_the_tiny_worlds_own_rules_run_in_their_envs_alone(run, env, tmp_path):
    import envcheck

    ran = envcheck.check_env_on_run(env, run, REPO / "config" / "config.yaml", tmp_path, ENV,
                                    rules=TINY_ONLY_RULES[env])
    assert {key.split("/")[0] for key in ran} == TINY_ONLY_RULES[env]


def test_the_recovery_commands_with_the_old_trainer_still_alive_keep_its_model(tmp_path):
    """Only Snakemake is SIGKILLed (a lost login shell, the OOM killer); its training job lives on.
    The README's recovery, `snakemake --unlock` then the re-run (`make run`'s command, here with one
    target), starts a second trainer for the same run while the first is alive: it waits, the
    first finishes, and the second uses its model. Nothing is deleted; the model audits clean.

    The first trainer is held with SIGSTOP while the second starts, so that it is alive then
    whatever the machine's speed (a stopped process is alive), and let go with SIGCONT."""
    target = "results/models/base/seed0"
    lock = tmp_path / "results" / "checkpoints" / "base" / "seed0" / "trainer.lock"
    job_log = tmp_path / "results" / "logs" / "init_model" / "base" / "seed0.log"
    first = subprocess.Popen([*SNAKEMAKE, "--directory", str(tmp_path), "--cores", "2", target],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 600
    while not lock.exists():
        assert first.poll() is None, "the workflow ended before its training job took the run's lock"
        assert time.time() < deadline, "no training job within 10 minutes"
        time.sleep(0.05)
    trainer = json.loads(lock.read_text())["pid"]
    os.kill(trainer, signal.SIGSTOP)
    first.kill()  # Snakemake only: the trainer, its child, lives on
    first.wait()
    try:
        assert snakemake(tmp_path, "--unlock", timeout=300).returncode == 0
        rerun = subprocess.Popen([*SNAKEMAKE, "--directory", str(tmp_path), "--cores", "2", "--rerun-incomplete",
                                  target], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
        while "waiting for the live trainer" not in (job_log.read_text() if job_log.exists() else ""):
            assert rerun.poll() is None, f"the re-run ended without waiting:\n{rerun.stdout.read()[-3000:]}"
            assert time.time() < deadline, "the second trainer never waited"
            time.sleep(0.2)
    finally:
        os.kill(trainer, signal.SIGCONT)
    console = rerun.communicate(timeout=900)[0]
    assert rerun.returncode == 0, console[-3000:]
    assert "finished this run: using its model" in job_log.read_text()
    assert (tmp_path / target / "config.json").exists() and any((tmp_path / target).glob("*.safetensors"))
    assert not lock.exists()
    assert audit_chain(target, root=tmp_path)[0]["rule"] == "init_model"  # its hashes match its record
    while pid_alive(trainer):
        assert time.time() < deadline, "the first trainer never ended"
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------------
# Every `value-retention` example in the README and in `--help`, run as written on the tiny run

def cli_examples() -> list[str]:
    """The example command lines: README code blocks and inline code, and every command's --help."""
    from value_retention.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    helps = [parser.format_help(), *(command.format_help() for command in subparsers.values())]
    # A help's usage block (up to its first blank line) is a synopsis, not an example.
    texts = [(REPO / "README.md").read_text(), *(help_text.split("\n\n", 1)[1] for help_text in helps)]
    examples = []
    for text in texts:
        text = text.replace("\\\n", " ")  # shell line continuations
        for match in re.finditer(r"(?:\.venv/bin/)?value-retention( [^`\n#]*)", text):
            if re.search(r"\b[A-Z]{3,}\b", match.group(1)):  # a synopsis with placeholders (DIR, FILE)
                continue
            line = re.sub(r"\[(?!\d)[^\]]*\]", "", match.group(1))  # a usage line's optional parts, not a list
            line = line.split(" > ")[0]  # a shell redirection: the command's output is what it writes
            line = " ".join(line.split())
            if len(line.split()) > 1:  # a bare command name in prose is a mention, not an example
                examples.append(line)
    return list(dict.fromkeys(examples))


def example_workdir(run: Path, scratch: Path) -> Path:
    """A working directory where the examples' paths exist: the run's results and resources, the
    repository's config, the placeholder files the examples name, and an (empty) judge cache."""
    from value_retention.jsonl import read_jsonl, write_jsonl
    from value_retention.judges.cache import ResponseCache

    (scratch / "results").symlink_to(run / "results")
    (scratch / "config").symlink_to(REPO / "config")
    (scratch / "resources").mkdir()
    for entry in (run / "resources").iterdir():
        (scratch / "resources" / entry.name).symlink_to(entry)
    ResponseCache(scratch / "resources" / "judge_cache").close()
    for overlay in ("my-site.yaml", "over.yaml"):  # the overlays the examples put after a full config
        (scratch / overlay).write_text("generation:\n  epochs: 1\n")
    bench = run / "resources" / "benchmarks" / "ahb"
    judgments = run / "results" / "judgments" / "ahb" / "sft_dolly" / "seed0" / "lexical.jsonl"
    for questions, dimensions, judges in (("questions.jsonl", "dimensions.jsonl", ("judge_a.jsonl", "judge_b.jsonl")),
                                          ("Q.jsonl", "D.jsonl", ("J.jsonl",))):
        (scratch / questions).symlink_to(bench / "questions.jsonl")
        (scratch / dimensions).symlink_to(bench / "dimensions.jsonl")
        for index, name in enumerate(judges):  # a second judge: the same grades under another name
            write_jsonl(scratch / name, [{**row, "judge": f"lexical_{index}"} for row in read_jsonl(judgments)])
    return scratch


def test_every_cli_example_in_the_readme_and_help_runs(run, tmp_path):
    examples = cli_examples()
    assert {"audit AhbAllSftDollyMean", "audit results/tables/table_headline.tex --cell 2,3",
            "plan --config config/paper.yaml --benchmarks results/benchmarks",
            "cache resources/judge_cache"} <= set(examples), examples
    assert any(example.startswith("score --benchmark ahb --questions questions.jsonl") for example in examples)
    workdir = example_workdir(run, tmp_path)
    failed = []
    for example in examples:
        result = subprocess.run([sys.executable, "-m", "value_retention.cli", *shlex.split(example)], cwd=workdir,
                                capture_output=True, text=True, timeout=300, env=ENV)
        # The paper world's examples need its run (its results, or its downloads for `pin`): on the
        # tiny run they must fail with one clear line.
        needs_paper_run = "results-paper" in example or example.startswith("pin ")
        ok = (result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1) if needs_paper_run \
            else result.returncode == 0
        if not ok or "Traceback" in result.stderr:
            failed.append(f"value-retention {example}: exit {result.returncode}\n{result.stderr[-1500:]}")
    assert not failed, "\n\n".join(failed)
