"""Plan a run before submitting it: jobs, GPUs and estimated GPU-hours per rule.

The estimate is the usual back-of-envelope: training costs about 6N FLOPs per token (forward and
backward) and generation about 2N per token, for a model of N parameters; dividing by the
achieved FLOP/s stated in the config's ``planning`` block (measured figures, not peak) gives GPU
seconds. Token counts come from the config: dataset rows (known for tiny datasets, stated in
``planning.dataset_rows`` for hub ones), steps and batch sizes, and tokens per example.

Given a run's ``benchmarks`` folder (``<results_dir>/benchmarks``: the ``benchmark:`` files
Snakemake writes for the training, generation and judge jobs), :func:`measured` sums what the
jobs really took, so the estimates can be checked against a finished run (or its tiny rehearsal)
and the profile's runtime and memory requests against the longest and largest job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import condition_order
from .errors import DataError
from .trainer_config import resolve, trainer_value


@dataclass
class Measured:
    """What the benchmark files of one plan row's finished jobs say."""

    jobs: int
    wall_hours: float      # summed over the jobs
    max_job_hours: float   # the longest job: check the profile's `runtime` against it
    max_rss_mb: float | None  # the largest resident memory of any job: check `mem_mb` against it


@dataclass
class PlanRow:
    rule: str
    jobs: int
    gpus_per_job: int
    gpu_model: str
    tokens: float
    gpu_hours: float
    note: str = ""
    measured: Measured | None = None


def _profile_resources(profile: Path) -> dict[str, dict[str, str]]:
    """rule -> {resource: value} from the profile's set-resources, read as Snakemake reads it (with
    its YTE templating, so the site's VR_SLURM_* variables apply)."""
    if not profile.exists():
        return {}
    from snakemake.profiles import ProfileConfigFileParser

    with profile.open(encoding="utf-8") as stream:
        assignments = dict(ProfileConfigFileParser().parse(stream)).get("set-resources", [])
    resources: dict[str, dict[str, str]] = {}
    for assignment in assignments:
        target, value = assignment.split("=", 1)
        rule, _, key = target.rpartition(":")
        resources.setdefault(rule, {})[key] = value
    return resources


def _rows(config: Mapping[str, Any], planning: Mapping[str, Any], dataset: str) -> int:
    spec = config["datasets"][dataset]
    if dataset in planning["dataset_rows"]:
        rows = planning["dataset_rows"][dataset]
    elif spec["source"] == "tiny":
        rows = spec["n"]
    else:
        raise ValueError(f"planning.dataset_rows.{dataset} is needed to plan a {spec['source']} dataset")
    return min(rows, spec.get("max_rows", rows))


def _stage_examples(stage: str, trainer: Mapping[str, Any], rows: int) -> float:
    """Examples seen: max_steps x effective batch when set, else epochs x rows (a resolved trainer
    block, read with TRL's defaults for what it leaves out)."""
    def value(name: str) -> Any:
        return trainer_value(stage, trainer, name)

    if value("max_steps") > 0:
        batch = value("per_device_train_batch_size") * value("gradient_accumulation_steps")
        return min(value("max_steps") * batch, rows * value("num_train_epochs"))
    return rows * value("num_train_epochs")


def plan(config: Mapping[str, Any], profile: str | Path = "slurm/profile.yaml") -> list[PlanRow]:
    """One row per rule that costs GPU time; ``config`` as :func:`value_retention.config.load_config`
    returns it, with the schema's defaults (those of ``planning`` included)."""
    planning = config["planning"]
    params = planning["parameters"]
    flops = planning["achieved_flops"]
    per_example = planning["tokens_per_example"]
    resources = _profile_resources(Path(profile))
    seeds = len(config["seeds"])

    def gpu_model(rule: str) -> str:
        return resources.get(rule, {}).get("gpu_model", "any")

    # One row per training stage: each has its own GPU count (the stage's `gpus`; the train rule
    # asks SLURM for that many). Achieved FLOP/s are per GPU and FSDP scales about linearly, so
    # GPU-hours do not depend on the count; the time of each job does.
    rows: list[PlanRow] = []
    trained = [c for c in condition_order(config) if "stage" in config["conditions"][c]]
    for stage in dict.fromkeys(config["conditions"][c]["stage"] for c in trained):
        stage_spec = resolve(stage, config["stages"][stage], cuda=True)
        gpus = stage_spec["gpus"]
        conditions = [c for c in trained if config["conditions"][c]["stage"] == stage]
        tokens = 0.0
        for condition in conditions:
            examples = _stage_examples(stage, stage_spec["trainer"],
                                       _rows(config, planning, config["conditions"][condition]["data"]))
            generations = trainer_value(stage, stage_spec["trainer"], "num_generations") if stage == "grpo" else 1
            per_example_tokens = per_example[stage] * generations
            tokens += examples * per_example_tokens * seeds
        gpu_hours = tokens * 6 * params / flops[stage] / 3600
        jobs = len(conditions) * seeds
        rows.append(PlanRow(f"train/{stage}", jobs, gpus, gpu_model("train"), tokens, gpu_hours,
                            f"6N FLOPs per token; ~{gpu_hours / jobs / max(gpus, 1):.1f} h per job"
                            + ("" if gpus else " (gpus 0: on CPU, the hours are CPU hours at the GPU's rate)")))

    benches = config["benchmarks"]
    questions = sum(planning["benchmark_questions"].get(b, 100) for b in benches)
    answers = len(config["conditions"]) * seeds * questions * config["generation"]["epochs"]
    gen_tokens = answers * (per_example["question"] + config["generation"]["max_new_tokens"])
    generation_gpus = config["generation"]["gpus"]
    rows.append(PlanRow("generate", len(config["conditions"]) * seeds * len(benches), generation_gpus,
                        gpu_model("generate"), gen_tokens, gen_tokens * 2 * params / flops["generate"] / 3600,
                        f"2N FLOPs per token ({generation_gpus} GPU per job, the generation block's gpus)"))
    judge_jobs = len(config["conditions"]) * seeds * len(benches) * len(config["panel"])
    rows.append(PlanRow("judge", judge_jobs, 0, "-", 0, 0.0,
                        f"about {answers * 6 * len(config['panel']):,} judge calls (answers x dimensions, ~6)"))
    return rows


def plan_row_of(config: Mapping[str, Any], benchmark: Path) -> str:
    """The plan row a job's benchmark file belongs to: ``train/<stage>`` for a training job (by its
    condition, ``train/<condition>/seed<seed>.tsv``), else the rule, the file's first folder."""
    rule, *rest = benchmark.parts
    if rule == "train" and rest:
        stage = config["conditions"].get(rest[0], {}).get("stage")
        return f"train/{stage}" if stage else f"train/{rest[0]}"
    return rule


def read_benchmark(path: Path) -> tuple[float, float | None]:
    """(seconds, max RSS in MB) of one Snakemake benchmark file; a repeated benchmark counts its
    mean time and largest memory. Memory Snakemake could not measure ("NA") is None."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t", na_values=["NA"])
    if "s" not in table.columns or table.empty or table["s"].isna().all():
        raise DataError("not a Snakemake benchmark file (no running time in column 's')", path)
    rss = table["max_rss"].max() if "max_rss" in table.columns else math.nan
    return float(table["s"].mean()), (None if math.isnan(rss) else float(rss))


def measured(config: Mapping[str, Any], benchmarks_dir: str | Path) -> dict[str, Measured]:
    """Plan row -> what its finished jobs took, from every ``*.tsv`` under ``benchmarks_dir``."""
    folder = Path(benchmarks_dir)
    if not folder.is_dir():
        raise DataError("no such benchmarks folder (a run writes <results_dir>/benchmarks)", folder)
    by_row: dict[str, list[tuple[float, float]]] = {}
    for path in sorted(folder.rglob("*.tsv")):
        by_row.setdefault(plan_row_of(config, path.relative_to(folder)), []).append(read_benchmark(path))
    return {row: Measured(jobs=len(runs), wall_hours=sum(s for s, _ in runs) / 3600,
                          max_job_hours=max(s for s, _ in runs) / 3600,
                          max_rss_mb=max((r for _, r in runs if r is not None), default=None))
            for row, runs in by_row.items()}


def with_measured(rows: list[PlanRow], measurements: Mapping[str, Measured]) -> list[PlanRow]:
    """The plan's rows with their measurements, plus a row for each measured rule the plan has no
    estimate for (``init_model`` of a tiny root, say)."""
    planned = {row.rule for row in rows}
    for row in rows:
        row.measured = measurements.get(row.rule)
    extra = [PlanRow(rule, 0, 0, "-", 0, 0.0, "measured only", measured=m)
             for rule, m in measurements.items() if rule not in planned]
    return [*rows, *extra]


def format_plan(rows: list[PlanRow]) -> str:
    """The plan as a table; with measurements, four more columns: jobs run, GPU-hours (wall hours
    for jobs without GPUs), the longest job in hours, the largest resident memory in GiB."""
    show_measured = any(row.measured for row in rows)
    header = f"{'rule':<14} {'jobs':>5} {'GPUs/job':>9} {'GPU':>6} {'tokens':>14} {'GPU-hours':>10}"
    if show_measured:
        header += f" | {'run':>4} {'GPU-h':>8} {'max h':>7} {'max GiB':>8}"
    lines = [header + "  note"]
    for row in rows:
        line = (f"{row.rule:<14} {row.jobs:>5} {row.gpus_per_job:>9} {row.gpu_model:>6} "
                f"{row.tokens:>14,.0f} {row.gpu_hours:>10.1f}")
        if show_measured:
            line += " | " + _measured_cells(row)
        lines.append(f"{line}  {row.note}")
    total = (f"{'total':<14} {sum(r.jobs for r in rows):>5} {'':>9} {'':>6} "
             f"{sum(r.tokens for r in rows):>14,.0f} {sum(r.gpu_hours for r in rows):>10.1f}")
    if show_measured:
        total += f" | {sum(r.measured.jobs for r in rows if r.measured):>4} " \
                 f"{sum(_measured_gpu_hours(r) for r in rows if r.measured):>8.2f}"
    lines.append(total)
    return "\n".join(lines)


def _measured_gpu_hours(row: PlanRow) -> float:
    return row.measured.wall_hours * max(row.gpus_per_job, 1)


def _measured_cells(row: PlanRow) -> str:
    if row.measured is None:
        return f"{'-':>4} {'-':>8} {'-':>7} {'-':>8}"
    m = row.measured
    memory = "-" if m.max_rss_mb is None else f"{m.max_rss_mb / 1024:.2f}"
    return f"{m.jobs:>4} {_measured_gpu_hours(row):>8.2f} {m.max_job_hours:>7.2f} {memory:>8}"
