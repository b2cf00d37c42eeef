"""Run the reference implementation (inspect_evals + inspect_ai) and write down what it did.

This script runs inside a reference venv (``make reference-venvs``: .venv-ref-paper-era with
inspect_evals 0.10.1 + inspect_ai 0.3.214, .venv-ref-current with inspect_evals 0.26.0 + inspect_ai
0.3.285), never in the project's venv; tests/test_reference_parity.py calls it through a
subprocess and compares its output with the project's own prompts, grades and scores.

    python tests/reference/harness.py SPEC.json OUT.json

SPEC holds ``jobs``: each a benchmark in its real Hugging Face schema (``format`` ahb or moru,
``questions`` and ``dimensions`` JSONL paths, the AHB ``revision``), the answers per sample and
epoch, the grader names, and optionally ``log``. For each job the reference's own dataset
converter, dimension model, scorer and metrics run in a real ``inspect_ai.eval`` with fake
models: the answerer returns the given answers, and each grader replies
``replies.reply_for(grader, prompt)``. OUT holds every grader call (grader, prompt, reply), every
epoch's score, the epoch-reduced scores and the metrics, plus, per format, the grade the
reference reads from each of ``replies.AWKWARD_REPLIES``, and the reference's template texts.
A job with ``log: true`` also runs the reference's own task function (``ahb``, ``anima`` or
``moru``, as ``inspect eval inspect_evals/<task>`` would, on the job's files and answers), and OUT
holds what its Inspect log shows: the samples with their scores and grader calls, the reductions
and the metrics, for the comparison with the project's own log (value_retention/inspect_logs.py).

One adaptation, which touches no number: a dimension without a usable grade in some epoch is
reported as NaN rather than left out (Inspect's epoch reducer wants the same keys in every
epoch; its mean skips the NaN), and NaN dimensions are dropped again before the metrics, as if
left out. The epochs are reduced by Inspect's own default reducer (``mean_score``) applied to
the logged epoch scores.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
from importlib import import_module
from importlib.metadata import version as package_version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inspect_ai.scorer._model as model_graded
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import resolve_sample_attachments
from inspect_ai.model import ModelAPI, ModelOutput, modelapi
from inspect_ai.scorer import SampleScore, Score, mean_score, model_graded_qa, scorer
from inspect_ai.solver import solver
from replies import AWKWARD_REPLIES, reply_for

CALLS: list[list] = []
REPLY_MARKER = re.compile(r"\[Submission\]: reply-(\d+)\n")


@modelapi(name="parity")
def parity():
    class Parity(ModelAPI):
        async def generate(self, input, tools, tool_choice, config):
            prompt = "\n".join(str(message.text) for message in input)
            marker = REPLY_MARKER.search(prompt)
            reply = AWKWARD_REPLIES[int(marker.group(1))] if marker else reply_for(self.model_name, prompt)
            CALLS.append([self.model_name, len(input), prompt, reply])
            return ModelOutput.from_content(model=self.model_name, content=reply)
    return Parity


def reference_modules(fmt: str):
    """(dataset, scorer, types, metrics) modules of the installed reference for a format."""
    package = "moru" if fmt == "moru" else ("ahb" if _has("inspect_evals.ahb") else "anima")
    return tuple(import_module(f"inspect_evals.{package}.{name}") for name in ("dataset", "scorer", "types", "metrics"))


def _has(module: str) -> bool:
    try:
        import_module(module)
        return True
    except ImportError:
        return False


def read_jsonl(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def load(job: dict):
    """The reference's dimensions, samples, scorer factory and metrics for one job."""
    fmt = job["format"]
    dataset, scorer_module, types, metrics = reference_modules(fmt)
    rows = read_jsonl(job["dimensions"])
    if fmt == "ahb":
        dimension_type = getattr(types, "AhaDimension", None) or types.AnimaDimension
        dims = {row["dimension"]: dimension_type.model_validate({  # as dataset.load_dimensions builds them
            "name": row["dimension"], "weight": row.get("default_weighting", 1.0),
            "scoring_description": row["scoring"], "guiding_question": row["guiding_question"],
            "indicators": row.get("observable_indicators", "")}) for row in rows}
        scorer_fn = getattr(scorer_module, "ahb_scorer", None) or scorer_module.anima_scorer

        def make_scorer(graders):
            return scorer_fn(dimensions=dims, revision=job["revision"], grader_models=graders)
        task_metrics = [metrics.overall_mean(), metrics.dimension_normalized_avg(dims), metrics.avg_by_dimension()]
    else:
        dims = {}
        for row in rows:  # as moru.dataset.load_dimensions builds them
            name = row["dimension"].strip()
            dims[name.lower()] = types.MoruDimension(name=name.lower(), guiding_question=row["guiding_question"],
                                                     indicators=row.get("observable_indicators", ""))

        def make_scorer(graders):
            return scorer_module.moru_scorer(dimensions=dims, grader_models=graders)
        task_metrics = [metrics.overall_mean(), metrics.avg_by_dimension()]
    convert = dataset.record_to_sample(dims.keys())
    samples = []
    for record in read_jsonl(job["questions"]):
        converted = convert(record)
        samples.extend(converted if isinstance(converted, list) else [converted])
    return dims, samples, make_scorer, task_metrics, scorer_module


def nan_filled(base):
    @scorer(metrics=[])
    def nan_fill():
        async def score(state, target):
            result = await base(state, target)
            if isinstance(result.value, dict):
                for tag in json.loads(target.text)["tags"]:
                    result.value.setdefault(tag, float("nan"))
            return result
        return score
    return nan_fill()


def without_nan(value):
    """A score value with NaN dimensions left out; None for an unscored (non-dict) value."""
    if not isinstance(value, dict):
        return None
    return {key: score for key, score in value.items() if not (isinstance(score, float) and math.isnan(score))}


@solver
def fixed_answers(answers: dict):
    async def solve(state, generate):
        content = answers[str(state.sample_id)][state.epoch - 1]
        state.output = ModelOutput.from_content(model="answerer", content=content)
        return state
    return solve


def run_job(job: dict, log_dir: str) -> dict:
    dims, samples, make_scorer, task_metrics, scorer_module = load(job)
    if hasattr(scorer_module, "_generate_explanation"):
        # ANIMA's explanation raises KeyError when a dimension has no usable grade; it is text only.
        scorer_module._generate_explanation = lambda **kwargs: ""
    graders = [f"parity/{name}" for name in job["graders"]]
    CALLS.clear()
    task = Task(dataset=MemoryDataset(samples), solver=fixed_answers(job["answers"]),
                scorer=nan_filled(make_scorer(graders)), epochs=job["epochs"])
    log = inspect_eval(task, model="parity/answerer", log_dir=log_dir, display="none")[0]
    if log.status != "success":
        raise RuntimeError(f"job {job['name']}: the reference run failed: {log.error}")
    epochs, by_sample = [], {}
    for sample in log.samples:
        value = next(iter(sample.scores.values())).value
        epochs.append({"id": str(sample.id), "epoch": sample.epoch, "value": without_nan(value)})
        if isinstance(value, dict):  # an unscored epoch (NaN) is excluded from the reducer
            by_sample.setdefault(str(sample.id), []).append(Score(value=value))
    # Inspect's default epoch reducer for a Task with epochs=N: mean_score, applied as Inspect does.
    reduced = {sid: without_nan(mean_score()(values).value) for sid, values in by_sample.items()}
    scores = [SampleScore(score=Score(value=value), sample_id=sid) for sid, value in reduced.items() if value]
    metrics = {}
    for metric in task_metrics:
        value = metric(scores)
        metrics.update(value if isinstance(value, dict) else {metric_name(metric): value})
    return {"samples": [{"id": str(s.id), "input": s.input, "target": s.target} for s in samples],
            "calls": list(CALLS), "epochs": epochs, "reduced": reduced, "metrics": metrics}


def reference_log(job: dict, log_dir: str) -> dict:
    """The reference's own task (``ahb``/``anima``/``moru``, its dataset converter, scorer,
    metrics and epoch reducer) run on the job's files with the job's answers, and what its Inspect
    log holds, for the comparison with the project's log (value_retention/inspect_logs.py)."""
    dims, samples, _, _, _ = load(job)
    package = "moru" if job["format"] == "moru" else ("ahb" if _has("inspect_evals.ahb") else "anima")
    module = import_module(f"inspect_evals.{package}.{package}")
    module.load_dimensions = lambda *args, **kwargs: list(dims.values())  # the files, not the hub
    module.load_dataset_from_hf = lambda *args, **kwargs: MemoryDataset(samples)
    task = getattr(module, package)(grader_models=[f"parity/{name}" for name in job["graders"]],
                                    **({"dataset_revision": job["revision"]} if job["format"] == "ahb" else {}))
    CALLS.clear()
    log = inspect_eval(task, model="parity/answerer", solver=fixed_answers(job["answers"]), epochs=job["epochs"],
                       log_dir=log_dir, display="none")[0]
    if log.status != "success":
        raise RuntimeError(f"job {job['name']}: the reference task failed: {log.error}")

    def value(score):
        return None if isinstance(score, float) and math.isnan(score) else score

    def grader_calls(sample):
        return sorted([event.model, event.input[0].text, event.output.completion]
                      for event in sample.events if getattr(event, "event", None) == "model"
                      and getattr(event, "role", None) == "grader")

    return {
        "task": log.eval.task, "epochs": log.eval.config.epochs,
        "samples": [{"id": sample.id, "epoch": sample.epoch, "input": sample.input, "target": sample.target,
                     "metadata": sample.metadata, "answer": sample.output.completion,
                     "scores": {name: value(score.value) for name, score in sample.scores.items()},
                     "grader_calls": grader_calls(sample)}
                    for sample in (resolve_sample_attachments(s, "full") for s in log.samples)],
        "reductions": {reduction.scorer: {str(entry.sample_id): value(entry.value) for entry in reduction.samples}
                       for reduction in log.reductions or []},
        "metrics": {score.name: {key: value(metric.value) for key, metric in score.metrics.items()}
                    for score in log.results.scores},
    }


def metric_name(metric) -> str:
    from inspect_ai._util.registry import registry_info
    return registry_info(metric).name.split("/")[-1]


def reply_grades(job: dict, log_dir: str) -> list[dict]:
    """What the reference makes of each awkward reply: the benchmark scorer's value for a
    one-dimension sample, and the letter model_graded_qa reads (None: no grade found)."""
    dims, _, make_scorer, _, scorer_module = load(job)
    name, dimension = next((n, d) for n, d in dims.items() if "{{" not in d.guiding_question)
    target = {"tags": [name], "variables": {}} if job["format"] == "ahb" else {"tags": [name]}
    samples = [Sample(id=f"r{i}", input="Should I adopt a rabbit?", target=json.dumps(target),
                      metadata={"language": "English"}) for i in range(len(AWKWARD_REPLIES))]
    template = scorer_module.PER_DIMENSION_PROMPT.format(
        revision=job.get("revision"), dimension=dimension.name, guiding_question=dimension.guiding_question,
        indicators=dimension.indicators)
    answers = {f"r{i}": [f"reply-{i}"] for i in range(len(AWKWARD_REPLIES))}
    task = Task(dataset=MemoryDataset(samples), solver=fixed_answers(answers),
                scorer=[make_scorer(["parity/j1"]), model_graded_qa(template=template, model="parity/j1")])
    log = inspect_eval(task, model="parity/answerer", log_dir=log_dir, display="none")[0]
    if log.status != "success":
        raise RuntimeError(f"reply grades ({job['format']}): the reference run failed: {log.error}")
    grades = []
    for sample in sorted(log.samples, key=lambda s: int(str(s.id)[1:])):
        bench_score, qa_score = list(sample.scores.values())
        value = bench_score.value.get(name) if isinstance(bench_score.value, dict) else None
        letter = qa_score.value if isinstance(qa_score.value, str) else None
        if letter is not None and (qa_score.explanation or "").startswith("Grade not found"):
            letter = None  # inspect_ai before 0.3.245 scores a missing grade as I: record it as missing
        grades.append({"reply": AWKWARD_REPLIES[int(str(sample.id)[1:])],
                       "value": None if value is None or (isinstance(value, float) and math.isnan(value)) else value,
                       "letter": letter})
    return grades


def reference_texts() -> dict:
    """The reference's own template, instruction and pattern texts, for the character-for-character check."""
    texts = {"default_instructions": model_graded.default_instructions(False),
             "default_grade_pattern": model_graded.DEFAULT_GRADE_PATTERN}
    for fmt in ("ahb", "moru"):
        texts[f"{fmt}_template"] = reference_modules(fmt)[1].PER_DIMENSION_PROMPT
    for name in ("_PERMISSIVE_GRADE_PATTERN", "_GRADE_WORD_VALUES", "_STRUCTURAL_DELIMITER_RE"):
        value = getattr(model_graded, name, None)
        texts[name] = value.pattern if hasattr(value, "pattern") else value
    return texts


def main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = {"packages": {name: package_version(name) for name in ("inspect_ai", "inspect_evals")},
              "texts": reference_texts(), "jobs": {}, "reply_grades": {}}
    with tempfile.TemporaryDirectory() as log_dir:
        for job in spec["jobs"]:
            result["jobs"][job["name"]] = run_job(job, log_dir)
            if job.get("log"):
                result["jobs"][job["name"]]["log"] = reference_log(job, log_dir)
            if job["format"] not in result["reply_grades"]:
                result["reply_grades"][job["format"]] = reply_grades(job, log_dir)
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
