"""Inspect eval logs of a run (value_retention/inspect_logs.py), read back by inspect_ai.

A small run in the real shapes: the tiny world's AHB and MORU benchmarks, prepared as the
workflow prepares them, two epochs of answers, two judges whose replies include awkward ones
(tests/reference/replies.py) and, for one question's second epoch, none either version can read;
scored by the workflow's own scoring. The log, written through the rule's script, must read back
with one sample per question and the config's epochs, the scores of the score files, and every
judge call's prompt and reply (tests/inspect_log_checks.py, which the end-to-end test runs on the
tiny run too).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from inspect_ai.event import ModelEvent

from value_retention import benchmarks, scores_csv, scoring, tiny_world
from value_retention.errors import DataError
from value_retention.inspect_logs import Run, RunFiles, build_eval_log
from value_retention.jsonl import read_jsonl, write_json, write_jsonl
from value_retention.judges import build_items, judgment_row
from value_retention.provenance import sidecar_path

from conftest import REPO, run_script
from inspect_log_checks import check_run_log

sys.path.insert(0, str(REPO / "tests" / "reference"))
from replies import reply_for

EPOCHS = 2
JUDGES = {"j1": {"type": "lexical"}, "j2": {"type": "openai", "model": "judge-model",
                                              "base_url": "http://127.0.0.1:9/v1", "temperature": None}}
NO_GRADE = "I cannot decide whether the criterion is met."


def make_run(folder: Path, fmt: str, version: str) -> tuple[Run, RunFiles]:
    """The files of one run, made the way the workflow's stages make them."""
    raw_questions, raw_dimensions = tiny_world.make_benchmark(fmt, seed=0)
    paths = {name: folder / f"{name}.jsonl" for name in ("raw_q", "raw_d", "questions", "dimensions",
                                                          "generations")}
    write_jsonl(paths["raw_q"], raw_questions)
    write_jsonl(paths["raw_d"], raw_dimensions)
    benchmarks.prepare(paths["raw_q"], paths["raw_d"], fmt, "all", True, paths["questions"],
                       paths["dimensions"], folder / "report.json")
    questions = read_jsonl(paths["questions"])
    write_jsonl(paths["generations"], [
        {"question_id": q["question_id"], "language": q["language"], "base_item": q["base_item"],
         "epoch": epoch, "condition": "sft_dolly", "seed": 0, "prompt": f"<chat>{q['question']}</chat>",
         "prompt_format": "chat", "answer": f"Pigs are sentient beings ({q['question_id']}, {epoch}).",
         "sampling": {"temperature": 0.7, "top_p": 0.95, "max_new_tokens": 48, "seed": 1},
         "prompt_tokens": 20, "completion_tokens": 12}
        for epoch in range(EPOCHS) for q in questions])
    revision = "AHB-2.2" if fmt == "ahb" else None
    items = build_items(paths["generations"], paths["questions"], paths["dimensions"], revision=revision,
                        version=version, benchmark_format=fmt)
    first = (questions[0]["question_id"], questions[0]["language"], 1)
    judgments = []
    for judge in JUDGES:
        rows = [judgment_row(item, judge, NO_GRADE if (item.question_id, item.language, item.epoch) == first
                             else reply_for(judge, item.prompt), version) for item in items]
        judgments.append(folder / f"{judge}.jsonl")
        write_jsonl(judgments[-1], rows)
    loaded_questions, dimensions = benchmarks.load_prepared(paths["questions"], paths["dimensions"])
    rows = scoring.read_judgments(judgments)
    run_labels = {"bench": fmt, "condition": "sft_dolly", "seed": 0}
    write_json(folder / "scores.json", scoring.score_benchmark(loaded_questions, dimensions, rows, fmt,
                                                               version, run=run_labels))
    scores_csv.write(scoring.tidy_scores(loaded_questions, dimensions, rows, fmt, "sft_dolly", 0, fmt, version),
                     folder / "scores.csv")
    run = Run(bench=fmt, condition="sft_dolly", seed=0, benchmark_format=fmt, scorer_version=version,
              revision=revision, model_path="results/models/sft_dolly/seed0",
              generation={"epochs": EPOCHS, "temperature": 0.7, "top_p": 0.95, "max_new_tokens": 48},
              judges=JUDGES)
    files = RunFiles(generations=paths["generations"], questions=paths["questions"],
                     dimensions=paths["dimensions"], judgments=judgments, scores=folder / "scores.json",
                     tidy=folder / "scores.csv")
    return run, files


def write_through_the_rule_script(run: Run, files: RunFiles, out: Path) -> None:
    run_script("inspect_log", wildcards={"bench": run.bench, "condition": run.condition, "seed": "0"},
               input={"generations": files.generations, "questions": files.questions,
                      "dimensions": files.dimensions, "judgments": list(files.judgments),
                      "scores": files.scores, "tidy": files.tidy},
               output={"eval_log": out},
               params={"bench": run.bench, "condition": run.condition, "seed": 0,
                       "scoring": {"version": run.scorer_version, "format": run.benchmark_format,
                                   "revision": run.revision},
                       "generation": dict(run.generation), "model": run.model_path, "judges": JUDGES},
               log=out.parent / "job.log")


@pytest.mark.parametrize("fmt, version", [("ahb", "paper_era"), ("ahb", "current"),
                                          ("moru", "paper_era"), ("moru", "current")])
def test_the_log_reads_back_with_every_question_epoch_judge_call_and_score(tmp_path, fmt, version):
    run, files = make_run(tmp_path, fmt, version)
    out = tmp_path / "inspect" / "seed0.eval"
    write_through_the_rule_script(run, files, out)
    n_judgments = sum(len(read_jsonl(path)) for path in files.judgments)
    log = check_run_log(out, Path(files.questions), Path(files.scores), Path(files.tidy), EPOCHS, fmt,
                        n_judgments=n_judgments)

    # named as the reference names its task's pieces
    reference = {"paper_era": {"ahb": "ahb", "moru": "moru"}, "current": {"ahb": "anima", "moru": "moru"}}
    assert list(log.samples[0].scores) == [f"{reference[version][fmt]}_scorer"]
    assert log.eval.metadata["reference"]["task"] == f"inspect_evals/{reference[version][fmt]}"
    assert log.eval.task == f"value_retention/{fmt}" and log.eval.model == "hf/results/models/sft_dolly/seed0"
    asked_first = read_jsonl(files.questions)[0]
    first = next(s for s in log.samples if s.metadata["question_id"] == asked_first["question_id"]
                 and s.metadata["language_name"] == asked_first["language"])
    if fmt == "ahb":
        assert first.id == int(first.metadata["question_id"]) and json.loads(first.target)["variables"] is not None
    else:
        assert first.id == f"{first.metadata['question_id']}_en" and first.metadata["language"] == "en"
        assert all(key == key.lower() for key in first.scores["moru_scorer"].value)

    # the question whose second epoch no version can grade: unscored now, scored as I (0) then
    stuck = next(s for s in log.samples if s.id == first.id and s.epoch == 2)
    (score,) = stuck.scores.values()
    if version == "current":
        assert math.isnan(score.value) and score.reason == "grader_failed"
    else:
        assert score.value["overall"] == 0.0
    assert score.metadata["grades_unparseable"] == score.metadata["grades_attempted"] > 0

    # each judge call as a grader model event: the judge's reply, grade and settings
    calls = [e for e in stuck.events if isinstance(e, ModelEvent) and e.role == "grader"]
    assert {e.model for e in calls} == {"lexical/j1", "openai/judge-model"}
    assert all(e.output.completion == NO_GRADE and e.metadata["grade"] is None for e in calls)
    assert all(e.config.temperature is None for e in calls)  # null: not sent, as the reference sends none
    answer = next(e for e in stuck.events if isinstance(e, ModelEvent) and e.role is None)
    assert answer.call.request["prompt"].startswith("<chat>") and answer.output.usage.output_tokens == 12

    sidecar = json.loads(sidecar_path(out).read_text())
    assert sidecar["rule"] == "inspect_log" and sidecar["inspect_log"]["n_grader_calls"] == n_judgments


def test_a_judgment_of_another_prompt_is_an_error_naming_file_and_row(tmp_path):
    run, files = make_run(tmp_path, "ahb", "paper_era")
    rows = read_jsonl(files.judgments[1])
    rows[3]["prompt_sha256"] = "0" * 64
    write_jsonl(files.judgments[1], rows)
    with pytest.raises(DataError, match=r"j2\.jsonl, row 4: the judge answered another prompt"):
        build_eval_log(run, files)


def test_generations_without_the_configs_epochs_are_an_error(tmp_path):
    run, files = make_run(tmp_path, "moru", "current")
    with pytest.raises(DataError, match=r"generations\.jsonl: .* missing for the config's 3 epoch"):
        build_eval_log(Run(**{**run.__dict__, "generation": {**run.generation, "epochs": 3}}), files)
