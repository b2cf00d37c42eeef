"""What every Inspect eval log of a run must satisfy, read back by inspect_ai itself.

Shared by the unit test (tests/test_inspect_logs.py, a small fixture) and the end-to-end test
(tests/test_workflow_e2e.py, the tiny run): ``inspect_ai.log.read_eval_log`` reads the log; it
has one sample id per question, each with the config's epochs; and its scores equal the run's
score files exactly: every epoch's score (the tidy CSV's panel rows), every question's reduced
score and the metrics (the score JSON). MORU dimensions are compared in the reference's lower
case.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

from inspect_ai.event import ModelEvent
from inspect_ai.log import read_eval_log, resolve_sample_attachments

from value_retention import scores_csv


def check_run_log(log_path: Path, questions_path: Path, scores_path: Path, tidy_path: Path,
                  epochs: int, benchmark_format: str, n_judgments: int | None = None):
    """Assert the log agrees with the run's files; return the log (samples with attachments resolved)."""
    log = read_eval_log(str(log_path))
    assert log.status == "success"
    assert log.eval.config.epochs == epochs
    name = (lambda dim: dim.lower()) if benchmark_format == "moru" else (lambda dim: dim)
    questions = [json.loads(line) for line in questions_path.read_text(encoding="utf-8").splitlines() if line]

    # one sample id per question, each with every epoch
    epochs_by_id = defaultdict(list)
    for sample in log.samples:
        epochs_by_id[sample.id].append(sample.epoch)
    assert len(epochs_by_id) == len(questions) == log.eval.dataset.samples
    assert all(sorted(found) == list(range(1, epochs + 1)) for found in epochs_by_id.values()), epochs_by_id
    asked = {(q["question_id"], q["language"]) for q in questions}
    logged = {(s.metadata["question_id"], s.metadata["language_name"]) for s in log.samples}
    assert logged == asked

    # every epoch's score: the tidy CSV's panel rows
    tidy = scores_csv.read_checked(tidy_path)
    panel = tidy[tidy["judge"] == scores_csv.PANEL_AVERAGE]
    expected = defaultdict(dict)
    for row in panel.itertuples():
        expected[(row.question_id, row.language, int(row.epoch) + 1)][name(row.dimension)] = row.score
    for sample in log.samples:
        (score,) = sample.scores.values()
        key = (sample.metadata["question_id"], sample.metadata["language_name"], sample.epoch)
        if key in expected:
            assert score.value == expected[key], key
        else:  # no usable grade in this epoch: unscored, as the reference has it
            assert isinstance(score.value, float) and math.isnan(score.value), key

    # every question's score over the epochs, and the metrics: the score JSON
    result = json.loads(scores_path.read_text(encoding="utf-8"))
    ids = {(s.metadata["question_id"], s.metadata["language_name"]): s.id for s in log.samples}
    reduced = {entry.sample_id: entry.value for entry in log.reductions[0].samples}
    assert reduced == {ids[(q["question_id"], q["language"])]:
                       {"overall": q["overall"], **{name(d): v for d, v in q["dimensions"].items()}}
                       for q in result["questions"]}
    metrics = {key: metric.value for key, metric in log.results.scores[0].metrics.items()}
    wanted = {"overall_mean": result["overall_mean"],
              **{name(d): v for d, v in result["avg_by_dimension"].items()}}
    if benchmark_format == "ahb":
        wanted["dimension_normalized_avg"] = result["dimension_normalized_avg"]
    assert metrics.keys() == wanted.keys()
    assert all(metrics[k] == wanted[k] or (wanted[k] is None and math.isnan(metrics[k])) for k in wanted)
    assert log.results.scores[0].scored_samples == result["n_questions_scored"]

    # each judge call: the prompt it answered (its sha256 as the judgment row recorded it) and the reply
    samples = [resolve_sample_attachments(sample, "full") for sample in log.samples]
    calls = [event for sample in samples for event in sample.events
             if isinstance(event, ModelEvent) and event.role == "grader"]
    for event in calls:
        prompt = event.input[0].text
        assert hashlib.sha256(prompt.encode("utf-8")).hexdigest() == event.metadata["prompt_sha256"]
        assert "[BEGIN DATA]" in prompt and event.output.completion is not None
    if n_judgments is not None:
        assert len(calls) == n_judgments
    log.samples = samples
    return log
