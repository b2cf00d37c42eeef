"""Inspect eval logs of a run: what `inspect view` shows for a reference run, for ours.

For one (benchmark, condition, seed) the workflow has the answers (generations), every judge
call's grade and reply (judgments), and the scores (the score JSON and the tidy CSV). This module
puts them into an Inspect eval log built from inspect_ai's own types and written by inspect_ai's
own writer (``inspect_ai.log.write_eval_log``), so that ``inspect view`` opens our run as it
opens a run of the reference (inspect_evals' ``ahb``/``anima``/``moru`` tasks), and a reviewer
can compare the two side by side. The format is Inspect's default, ``.eval``: what a reference
run writes, a zip that ``inspect view`` opens sample by sample (a paper run's log holds thousands
of judge prompts; the ``.json`` format is one document the viewer must load whole) and that
``read_eval_log`` reads, in inspect_ai 0.3.285 and in the paper era's 0.3.214 alike. The log is
shaped as the reference's is:

- one :class:`EvalSample` per question and epoch: the reference's sample id (AHB: the question's
  id; MORU: ``{id}_{language code}``), epochs numbered from 1, the question as input, the
  reference's target (``{"tags": ..., "variables": ...}``), the answer as the assistant message
  and the output;
- its events as the reference's: an ``init`` span, a ``solvers`` span with the answer's model
  event (the exact text the model was fed is in the event's call record), and a ``scorers`` span
  with one grader model event per judge call (the prompt the judge saw, its reply, and under
  ``metadata`` the grade, the dimension, the variables, the prompt's sha256 and the draw), then
  the score event;
- the sample's score under the reference scorer's name (``ahb_scorer``, ``anima_scorer`` or
  ``moru_scorer``, by the scorer version): ``{"overall": ..., <dimension>: ...}`` for that epoch,
  an explanation in the reference's layout, and the reference's grade metadata
  (``dimension_grades`` by grader, ``grades_attempted``, ``grades_unparseable``); an epoch
  without a usable grade is unscored (NaN), as in the reference;
- the reductions (each question's scores averaged over epochs) and the results' metrics
  (``overall_mean``, ``dimension_normalized_avg`` for AHB, one per dimension) under the
  reference's metric names.

MORU dimensions are named in lower case, as the reference names them. Every score is read from
the score JSON and the tidy CSV, never recomputed: the log shows the numbers the statistics use.
The task is ``value_retention/{bench}`` (not the reference's name, so that the two are never
confused); ``eval.metadata["reference"]`` names the reference task and packages it reproduces.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import shortuuid
from inspect_ai.event import ModelEvent, SampleInitEvent, ScoreEvent, SpanBeginEvent, SpanEndEvent
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalRevision,
    EvalSample,
    EvalSampleReductions,
    EvalSampleScore,
    EvalScore,
    EvalSpec,
    EvalStats,
    condense_sample,
    write_eval_log,
)
from inspect_ai.log._log import EvalMetricDefinition, EvalScorer, HeadlineMetric
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.model._model_call import ModelCall
from inspect_ai.scorer import Score

from . import scores_csv, scoring
from .benchmarks import LANGUAGE_CODES, load_prepared
from .errors import DataError
from .jsonl import atomic_path, read_json, read_jsonl
from .judges import GradingItem, build_items
from .provenance import code_version, sidecar_path
from .scorer_versions import ScorerVersion, scorer_version

logger = logging.getLogger(__name__)
GRADER_FAILED = "grader_failed"  # inspect_evals' reason for a sample without a usable grade
LANGUAGE_CODE = {name: code for code, name in LANGUAGE_CODES.items()}


@dataclass(frozen=True)
class Run:
    """What identifies one run and decides how it was answered and graded."""

    bench: str
    condition: str
    seed: int
    benchmark_format: str                    # ahb or moru
    scorer_version: str
    revision: str | None                     # the AHB revision the grader prompt names
    model_path: str                          # the checkpoint that answered
    generation: Mapping[str, Any]            # the generation block (epochs, sampling, backend)
    judges: Mapping[str, Mapping[str, Any]]  # the panel, in order: name -> judges entry


@dataclass(frozen=True)
class RunFiles:
    """The run's files, as the workflow's stages wrote them (docs/contracts.md)."""

    generations: str | os.PathLike
    questions: str | os.PathLike
    dimensions: str | os.PathLike
    judgments: Sequence[str | os.PathLike]   # one per panel judge, in panel order
    scores: str | os.PathLike                # the score JSON
    tidy: str | os.PathLike                  # the tidy scores CSV


def write_run_log(run: Run, files: RunFiles, out_path: str | os.PathLike) -> dict[str, Any]:
    """Build the run's eval log and write it atomically to ``out_path`` (a ``.eval`` file) with
    inspect_ai's writer; returns what the log holds, for provenance."""
    log = build_eval_log(run, files)
    with atomic_path(out_path) as tmp:
        write_eval_log(log, tmp.as_posix(), format="eval")
    summary = {
        "task": log.eval.task,
        "scorer": log.results.scores[0].name,
        "n_questions": log.eval.dataset.samples,
        "epochs": log.eval.config.epochs,
        "n_samples": len(log.samples),
        "n_grader_calls": sum(1 for s in log.samples for e in s.events
                              if isinstance(e, ModelEvent) and e.role == "grader"),
        "inspect_ai": package_version("inspect_ai"),
    }
    logger.info("%s: %d samples (%d questions x %d epochs), %d judge calls", out_path, summary["n_samples"],
                summary["n_questions"], summary["epochs"], summary["n_grader_calls"])
    return summary


# --------------------------------------------------------------------------------------------
# The log

def build_eval_log(run: Run, files: RunFiles) -> EvalLog:
    """The run as an :class:`EvalLog`, built from its files; DataError where they disagree."""
    version = scorer_version(run.scorer_version)
    reference_task, reference_task_version = version.tasks[run.benchmark_format].split()
    scorer_name = f"{reference_task}_scorer"
    questions, dimensions = load_prepared(files.questions, files.dimensions)
    answers = _answers(files.generations, questions, int(run.generation["epochs"]))
    items = build_items(files.generations, files.questions, files.dimensions, revision=run.revision,
                        version=version, benchmark_format=run.benchmark_format)
    grades = _grades(items, files, questions, dimensions, run, version)
    result = _score_json(files.scores, run)
    epoch_scores = _epoch_scores(files.tidy, run)
    dim_name = _dimension_namer(run.benchmark_format)
    graders = {judge: _grader_model(judge, spec) for judge, spec in run.judges.items()}
    labels = {judge: f"{model}_{index}" for index, (judge, model) in enumerate(graders.items())}
    model = _answer_model(run)
    times = {"generate": _job_times(files.generations),
             "judge": _job_times(files.judgments[0]) if files.judgments else _job_times(files.scores),
             "score": _job_times(files.scores)}

    items_by_answer: dict[tuple[str, str, int], list[GradingItem]] = defaultdict(list)
    for item in items:
        items_by_answer[(item.question_id, item.language, item.epoch)].append(item)
    samples, sample_ids = [], []
    for question in questions:
        key = (question["question_id"], question["language"])
        sample_id = _sample_id(run.benchmark_format, question)
        sample_ids.append(sample_id)
        for epoch in range(int(run.generation["epochs"])):
            generation = answers[(*key, epoch)]
            calls = [(item, judge, grades[(item.question_id, item.language, item.epoch, item.dimension,
                                           _assignment_key(item.assignment), judge)])
                     for item in items_by_answer[(*key, epoch)] for judge in run.judges]
            score = _epoch_score(question, generation["answer"], epoch_scores.get((*key, epoch), {}),
                                 calls, dimensions, labels, version, run.benchmark_format, dim_name)
            samples.append(_sample(sample_id, epoch, question, generation, calls, score, scorer_name,
                                   model, graders, run, dim_name, times))

    spec = _eval_spec(run, version, scorer_name, reference_task, reference_task_version, model, graders,
                      files, sample_ids, times)
    log = EvalLog(
        status="success",
        eval=spec,
        plan=_plan(run),
        results=_results(result, scorer_name, len(samples), run, dim_name),
        stats=EvalStats(started_at=times["generate"][0], completed_at=times["score"][1],
                        model_usage=_usage([s.output.usage for s in samples], model)),
        samples=samples,
    )
    # Set after construction: EvalLog's validator reads `reductions` only from a log read as a dict.
    log.reductions = [EvalSampleReductions(scorer=scorer_name, samples=[
        EvalSampleScore(value=_score_value(q["overall"], q["dimensions"], dim_name),
                        sample_id=_sample_id(run.benchmark_format, q))
        for q in result["questions"]])]
    return log


def _eval_spec(run: Run, version: ScorerVersion, scorer_name: str, reference_task: str,
               reference_task_version: str, model: str, graders: Mapping[str, str], files: RunFiles,
               sample_ids: list, times) -> EvalSpec:
    metric_names = ["inspect_evals/overall_mean", "inspect_evals/avg_by_dimension"]
    if run.benchmark_format == "ahb":
        metric_names.insert(1, "inspect_evals/dimension_normalized_avg")
    metrics = [EvalMetricDefinition(name=name, options={}) for name in metric_names]
    options = {"scorer_version": version.name, "revision": run.revision,
               "grader_models": list(graders.values()), "unparseable_rule": version.unparseable_rule}
    code = code_version()
    return EvalSpec(
        # Ids Inspect would draw at random, derived from what they name, so a re-run keeps them.
        task_id=shortuuid.uuid(name=f"value_retention/{run.bench}"),
        run_id=shortuuid.uuid(name=f"value_retention/{run.bench}/{run.condition}/seed{run.seed}"),
        created=times["score"][1].isoformat(timespec="seconds"),
        task=f"value_retention/{run.bench}",
        task_registry_name=f"value_retention/{run.bench}",
        task_display_name=run.bench,
        task_version=0,
        task_args={"condition": run.condition, "seed": run.seed, "dataset_revision": run.revision,
                   "grader_models": list(graders.values()), "scorer_version": version.name},
        dataset=EvalDataset(name=run.bench, location=os.fspath(files.questions), samples=len(sample_ids),
                            sample_ids=sample_ids, shuffled=False),
        model=model,
        model_generate_config=_answer_config(run.generation),
        model_args={"condition": run.condition, "seed": run.seed, "path": run.model_path},
        config=EvalConfig(epochs=int(run.generation["epochs"]), epochs_reducer=["mean"], log_samples=True),
        revision=EvalRevision(type="git", origin="", commit=code["commit"] or "", dirty=code["dirty"]),
        packages={"inspect_ai": package_version("inspect_ai"),
                  "value-retention": package_version("value-retention")},
        metadata={"bench": run.bench, "condition": run.condition, "seed": run.seed,
                  "scorer_version": version.describe(),
                  # The panel: each judge's grader model, type, base URL and the sampling it sends
                  # (not as model_roles, whose list form inspect_ai before 0.3.2xx cannot read).
                  "judges": {judge: {"model": name, "type": run.judges[judge]["type"],
                                     "base_url": run.judges[judge].get("base_url"),
                                     "config": _grader_config(run.judges[judge]).model_dump(exclude_none=True)}
                             for judge, name in graders.items()},
                  "reference": {"task": f"inspect_evals/{reference_task}", "version": reference_task_version,
                                "packages": dict(version.reference)},
                  "dimension_names": "lower case, as the reference's" if run.benchmark_format == "moru"
                  else "as in the dimensions file"},
        scorers=[EvalScorer(name=scorer_name, options=options, metrics=metrics, metadata={})],
        metrics=metrics,
    )


def _plan(run: Run) -> EvalPlan:
    generation = dict(run.generation)
    params = {key: generation.get(key) for key in ("backend", "prompt_format", "batch_size")
              if generation.get(key) is not None}
    return EvalPlan(steps=[EvalPlanStep(solver="generate", params=params)], config=_answer_config(generation))


def _results(result: Mapping[str, Any], scorer_name: str, n_samples: int, run: Run, dim_name) -> EvalResults:
    def metric(name: str, value: float | None) -> EvalMetric:
        return EvalMetric(name=name, value=math.nan if value is None else value)

    metrics = {"overall_mean": metric("inspect_evals/overall_mean", result["overall_mean"])}
    if run.benchmark_format == "ahb":
        metrics["dimension_normalized_avg"] = metric("inspect_evals/dimension_normalized_avg",
                                                     result["dimension_normalized_avg"])
    for dimension, value in result["avg_by_dimension"].items():
        metrics[dim_name(dimension)] = metric(dim_name(dimension), value)
    score = EvalScore(name=scorer_name, scorer=scorer_name, scored_samples=result["n_questions_scored"],
                      unscored_samples=result["n_questions_unscored"], metrics=metrics,
                      params={"scorer_version": result["scorer_version"]})
    return EvalResults(total_samples=n_samples, completed_samples=n_samples, scores=[score],
                       headline=HeadlineMetric(scorer=scorer_name, score=scorer_name, metric="overall_mean"),
                       metadata={"n_grades": result["n_grades"],
                                 "n_grades_unparseable": result["n_grades_unparseable"],
                                 "grades_by_judge": result["grades_by_judge"],
                                 "unparseable_rule": result["unparseable_rule"],
                                 "unscored_questions": result["unscored_questions"]})


# --------------------------------------------------------------------------------------------
# Samples

def _sample(sample_id, epoch: int, question: Mapping[str, Any], generation: Mapping[str, Any], calls,
            score: Score, scorer_name: str, model: str, graders: Mapping[str, str], run: Run, dim_name,
            times) -> EvalSample:
    """One question's answer in one epoch, with its events, as the reference logs it."""
    span = f"{sample_id}/{epoch + 1}"
    user = ChatMessageUser(content=question["question"], source="input")
    output = _answer_output(generation, model, run.generation)
    target = _target(question, run.benchmark_format, dim_name)
    metadata = {"language": _reference_language(question, run.benchmark_format),
                "language_name": question["language"], "question_id": question["question_id"],
                "base_item": question["base_item"]}
    generated, judged = times["generate"][1], times["judge"][1]
    events: list[Any] = [
        SpanBeginEvent(id=f"{span}/init", span_id=f"{span}/init", type="init", name="init", timestamp=generated),
        SampleInitEvent(span_id=f"{span}/init", timestamp=generated, state={"messages": [user.model_dump()]},
                        sample={"input": question["question"], "target": target, "id": sample_id,
                                "metadata": metadata}),
        SpanEndEvent(id=f"{span}/init", span_id=f"{span}/init", timestamp=generated),
        SpanBeginEvent(id=f"{span}/solvers", span_id=f"{span}/solvers", type="solvers", name="solvers",
                       timestamp=generated),
        SpanBeginEvent(id=f"{span}/generate", span_id=f"{span}/generate", parent_id=f"{span}/solvers",
                       type="solver", name="generate", timestamp=generated),
        ModelEvent(span_id=f"{span}/generate", timestamp=generated, model=model, input=[user], tools=[],
                   tool_choice="none", config=_answer_config(run.generation), output=output,
                   call=ModelCall(request={"prompt": generation.get("prompt"),
                                           "prompt_format": generation.get("prompt_format"),
                                           "sampling": generation.get("sampling")},
                                  response={"answer": generation["answer"]})),
        SpanEndEvent(id=f"{span}/generate", span_id=f"{span}/generate", timestamp=generated),
        SpanEndEvent(id=f"{span}/solvers", span_id=f"{span}/solvers", timestamp=generated),
        SpanBeginEvent(id=f"{span}/scorers", span_id=f"{span}/scorers", type="scorers", name="scorers",
                       timestamp=judged),
        SpanBeginEvent(id=f"{span}/scorer", span_id=f"{span}/scorer", parent_id=f"{span}/scorers",
                       type="scorer", name=scorer_name, timestamp=judged),
        *[_grader_event(item, judge, row, graders[judge], run, dim_name, f"{span}/scorer", judged)
          for item, judge, row in calls],
        ScoreEvent(span_id=f"{span}/scorer", timestamp=judged, score=score, target=target,
                   scorer=scorer_name),
        SpanEndEvent(id=f"{span}/scorer", span_id=f"{span}/scorer", timestamp=judged),
        SpanEndEvent(id=f"{span}/scorers", span_id=f"{span}/scorers", timestamp=judged),
    ]
    sample = EvalSample(
        id=sample_id, epoch=epoch + 1, input=question["question"], target=target,
        messages=[user, output.message], output=output, scores={scorer_name: score}, metadata=metadata,
        events=events, model_usage=_usage([output.usage], model),
        started_at=generated, completed_at=judged,
    )
    return condense_sample(sample)  # repeated texts (prompts, answers) stored once, as the reference does


def _grader_event(item: GradingItem, judge: str, row: Mapping[str, Any], grader: str, run: Run, dim_name,
                  span_id: str, timestamp: dt.datetime) -> ModelEvent:
    """One judge call: the prompt the judge saw, its reply, and what the scorer version read in it."""
    return ModelEvent(
        span_id=span_id, timestamp=timestamp, model=grader, role="grader",
        input=[ChatMessageUser(content=item.prompt)], tools=[], tool_choice="none",
        config=_grader_config(run.judges[judge]),
        output=ModelOutput.from_content(model=grader, content=row["raw"] if row.get("raw") is not None else ""),
        metadata={"judge": judge, "dimension": dim_name(item.dimension), "variables": item.assignment,
                  "grade": row["grade"], "scorer_version": run.scorer_version,
                  "prompt_sha256": item.prompt_sha256, "draw": item.draw},
    )


def _epoch_score(question: Mapping[str, Any], answer: str, values: Mapping[str, float], calls,
                 dimensions: Mapping[str, Any], labels: Mapping[str, str], version: ScorerVersion,
                 benchmark_format: str, dim_name) -> Score:
    """The reference scorer's Score for one epoch: the values from the tidy CSV, the explanation
    and grade metadata from the judge calls behind them."""
    by_assignment: dict[str, list[tuple[dict, dict[str, float | None]]]] = defaultdict(list)
    for item, judge, row in calls:
        cells = by_assignment[item.dimension]
        if not cells or cells[-1][0] != item.assignment:
            cells.append((item.assignment, {}))
        cells[-1][1][labels[judge]] = version.value(row["grade"])
    metadata = {
        "dimension_grades": {dim_name(dim): [{"variables": assignment, "by_grader": dict(sorted(grades.items()))}
                                             for assignment, grades in cells]
                             for dim, cells in by_assignment.items()},
        "grades_attempted": len(calls),
        "grades_unparseable": sum(row["grade"] is None for _, _, row in calls),
    }
    if scores_csv.OVERALL not in values:
        return Score.unscored(reason=GRADER_FAILED, answer=answer, metadata=metadata,
                              explanation="No grader produced a parseable grade for any dimension.")
    dims = {dim: values[dim] for dim in question["dimensions"] if dim in values}
    lines = [f"**Overall: {values[scores_csv.OVERALL]:.3f}**", ""]
    for dim, score in dims.items():
        weight = f" (weight: {float(dimensions[dim]['weight']):.2f})" if benchmark_format == "ahb" else ""
        lines.append(f"- **{dim_name(dim)}: {score:.3f}**{weight}")
        for assignment, grades in by_assignment[dim]:
            usable = [value for value in grades.values() if value is not None]
            label = ", ".join(f"{k}: {v}" for k, v in assignment.items()) or "no variables"
            lines.append(f"  - {label}: " + (f"{sum(usable) / len(usable):.3f}" if usable else "no usable grade"))
            lines.extend(f"    - {grader}: " + ("unparseable" if value is None else f"{value:g}")
                         for grader, value in grades.items())
        lines.extend(["", ""])
    return Score(value=_score_value(values[scores_csv.OVERALL], dims, dim_name), answer=answer,
                 explanation="\n".join(lines).strip(), metadata=metadata)


def _score_value(overall: float, dims: Mapping[str, float], dim_name) -> dict[str, float]:
    return {"overall": overall, **{dim_name(dim): score for dim, score in dims.items()}}


# --------------------------------------------------------------------------------------------
# Reading the run's files

def _answers(path, questions: Sequence[Mapping[str, Any]], epochs: int) -> dict[tuple[str, str, int], dict]:
    """(question_id, language, epoch) -> generation row; every question needs every epoch."""
    rows = {(str(row["question_id"]), str(row["language"]), row["epoch"]): row
            for row in read_jsonl(path, required=("question_id", "language", "epoch", "answer"))}
    expected = {(q["question_id"], q["language"], epoch) for q in questions for epoch in range(epochs)}
    missing, extra = sorted(expected - rows.keys(), key=str), sorted(rows.keys() - expected, key=str)
    if missing:
        raise DataError(f"{len(missing)} answer(s) missing for the config's {epochs} epoch(s); first: question "
                        f"{missing[0][0]} ({missing[0][1]}), epoch {missing[0][2]}", path)
    if extra:
        raise DataError(f"an answer beyond the config's {epochs} epoch(s) or questions: question {extra[0][0]} "
                        f"({extra[0][1]}), epoch {extra[0][2]}", path, rows[extra[0]]["_row"])
    return rows


def _grades(items: Sequence[GradingItem], files: RunFiles, questions, dimensions, run: Run,
            version: ScorerVersion) -> dict[tuple, dict[str, Any]]:
    """Every judgment row by (question, language, epoch, dimension, assignment, judge), each proven
    to answer the prompt its item rebuilds; DataError for a missing, extra or foreign row."""
    if len(files.judgments) != len(run.judges):
        raise DataError(f"{len(files.judgments)} judgments file(s) for the panel's {len(run.judges)} judge(s)",
                        os.fspath(files.judgments[0]) if files.judgments else None)
    rows = scoring.check_judgments(questions, dimensions, scoring.read_judgments(files.judgments),
                                   run.benchmark_format, version)
    by_key = {(r["question_id"], r["language"], r["epoch"], r["dimension"], scoring.assignment_key(r), r["judge"]): r
              for r in rows}
    for judge, path in zip(run.judges, files.judgments):
        if not any(r["judge"] == judge and r["_path"] == os.fspath(path) for r in rows):
            raise DataError(f"no judgment of judge '{judge}' (the panel's judges: {', '.join(run.judges)})", path)
    expected = set()
    for item in items:
        for judge in run.judges:
            key = (item.question_id, item.language, item.epoch, item.dimension,
                   _assignment_key(item.assignment), judge)
            expected.add(key)
            row = by_key.get(key)
            if row is None:
                raise DataError(f"no grade of judge '{judge}' for {item.describe()}",
                                files.judgments[list(run.judges).index(judge)])
            if row.get("prompt_sha256") not in (None, item.prompt_sha256):
                raise DataError(f"the judge answered another prompt than the one {item.describe()} rebuilds "
                                f"under scorer version {version.name} (prompt sha256 {row['prompt_sha256'][:12]}, "
                                f"rebuilt {item.prompt_sha256[:12]})", row["_path"], row["_row"])
    extra = [row for key, row in by_key.items() if key not in expected]
    if extra:
        raise DataError("a judgment of an answer the generations do not hold", extra[0]["_path"], extra[0]["_row"])
    return by_key


def _score_json(path, run: Run) -> dict[str, Any]:
    result = read_json(path)
    labels = {"bench": run.bench, "condition": run.condition, "seed": run.seed}
    if result.get("run") is not None and result["run"] != labels:
        raise DataError(f"the scores of run {result['run']}, not of {labels}", path)
    if result.get("scorer_version") != run.scorer_version:
        raise DataError(f"scored under scorer version {result.get('scorer_version')!r}, "
                        f"the run's is {run.scorer_version!r}", path)
    return result


def _epoch_scores(path, run: Run) -> dict[tuple[str, str, int], dict[str, float]]:
    """(question_id, language, epoch) -> {dimension or "overall": the panel's score}."""
    rows = scores_csv.read_checked(path, benchmark=run.bench)
    foreign = rows[(rows["condition"] != run.condition) | (rows["seed"] != run.seed)]
    if len(foreign):
        raise DataError(f"a row of condition {foreign.iloc[0]['condition']!r}, seed {foreign.iloc[0]['seed']} "
                        f"(this run: {run.condition!r}, seed {run.seed})", path, int(foreign.iloc[0]["_row"]))
    scores: dict[tuple[str, str, int], dict[str, float]] = defaultdict(dict)
    for row in rows[rows["judge"] == scores_csv.PANEL_AVERAGE].itertuples():
        scores[(row.question_id, row.language, int(row.epoch))][row.dimension] = float(row.score)
    return scores


def _job_times(path) -> tuple[dt.datetime, dt.datetime]:
    """When the job that wrote ``path`` started and ended (its sidecar; else the file's time)."""
    sidecar = sidecar_path(path)
    if sidecar.exists():
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        return dt.datetime.fromisoformat(record["started"]), dt.datetime.fromisoformat(record["ended"])
    written = dt.datetime.fromtimestamp(Path(path).stat().st_mtime, tz=dt.UTC)
    return written, written


# --------------------------------------------------------------------------------------------
# Names and settings, as the reference spells them

def _sample_id(benchmark_format: str, question: Mapping[str, Any]) -> int | str:
    """The reference's sample id: AHB the question's id (a number where it is one); MORU
    ``{id}_{language code}``."""
    question_id = question["question_id"]
    if benchmark_format == "moru":
        return f"{question_id}_{_reference_language(question, benchmark_format)}"
    return int(question_id) if question_id.isdigit() and str(int(question_id)) == question_id else question_id


def _reference_language(question: Mapping[str, Any], benchmark_format: str) -> str:
    """AHB's reference names the language ("English" for its null); MORU's keeps the raw code."""
    if benchmark_format == "moru":
        return LANGUAGE_CODE.get(question["language"], question["language"])
    return question["language"]


def _dimension_namer(benchmark_format: str):
    """MORU's reference names its dimensions in lower case; AHB's as written."""
    if benchmark_format == "moru":
        return lambda name: name.strip().lower()
    return lambda name: name


def _target(question: Mapping[str, Any], benchmark_format: str, dim_name) -> str:
    """The reference's target: the tags, and for AHB each variable's values."""
    tags = [dim_name(dim) for dim in question["dimensions"]]
    if benchmark_format == "moru":
        return json.dumps({"tags": tags})
    variables: dict[str, list[str]] = {}
    for assignment in question["assignments"]:
        for name, value in assignment.items():
            if value not in variables.setdefault(name, []):
                variables[name].append(value)
    return json.dumps({"tags": tags, "variables": variables})


def _answer_model(run: Run) -> str:
    """The answering model as Inspect names one: its provider (``hf`` for transformers, ``vllm``)
    and the checkpoint's path."""
    provider = "vllm" if run.generation.get("backend") == "vllm" else "hf"
    return f"{provider}/{run.model_path}"


def _grader_model(judge: str, spec: Mapping[str, Any]) -> str:
    """A judge as Inspect names a grader model: ``openai/<model>`` for an OpenAI-compatible API,
    ``hf/<model>`` for a local transformers model, ``lexical/<judge>`` for the lexical baseline."""
    kind = spec["type"]
    if kind == "openai":
        return f"openai/{spec['model']}"
    if kind == "transformers":
        return f"hf/{spec['model']}"
    return f"{kind}/{judge}"


def _answer_config(generation: Mapping[str, Any]) -> GenerateConfig:
    return GenerateConfig(temperature=generation.get("temperature"), top_p=generation.get("top_p"),
                          max_tokens=generation.get("max_new_tokens"))


def _grader_config(spec: Mapping[str, Any]) -> GenerateConfig:
    """The sampling the judge sends; null (not sent) stays unset, as in the reference's log."""
    return GenerateConfig(temperature=spec.get("temperature"), top_p=spec.get("top_p"),
                          max_tokens=spec.get("max_tokens"))


def _answer_output(generation: Mapping[str, Any], model: str, spec: Mapping[str, Any]) -> ModelOutput:
    completion = int(generation.get("completion_tokens") or 0)
    prompt = int(generation.get("prompt_tokens") or 0)
    limit = (generation.get("sampling") or {}).get("max_new_tokens", spec.get("max_new_tokens"))
    message = ChatMessageAssistant(content=generation["answer"], source="generate", model=model)
    return ModelOutput(model=model, choices=[ChatCompletionChoice(
        message=message, stop_reason="max_tokens" if limit and completion >= limit else "stop")],
        completion=generation["answer"],
        usage=ModelUsage(input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion))


def _usage(usages: Sequence[ModelUsage | None], model: str) -> dict[str, ModelUsage]:
    present = [usage for usage in usages if usage is not None]
    if not present:
        return {}
    return {model: ModelUsage(input_tokens=sum(u.input_tokens for u in present),
                              output_tokens=sum(u.output_tokens for u in present),
                              total_tokens=sum(u.total_tokens for u in present))}


def _assignment_key(assignment: Mapping[str, str]) -> str:
    return scoring.assignment_key({"assignment": assignment})
