"""Plan a run before submitting it: jobs, GPUs and estimated GPU-hours per rule.

The estimate is the usual back-of-envelope: training costs about 6N FLOPs per token (forward and
backward) and generation about 2N per token, for a model of N parameters; dividing by the
achieved FLOP/s stated in the config's ``planning`` block (measured figures, not peak) gives GPU
seconds. Token counts come from the config: dataset rows (known for tiny datasets, stated in
``planning.dataset_rows`` for hub ones), steps and batch sizes, and tokens per example.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import condition_order

DEFAULT_PLANNING = {
    "parameters": 8.03e9,
    # Achieved FLOP/s per GPU. Defaults from NOTES.md's H100 measurements on a Llama-3.1-8B shape:
    # LoRA SFT about 3,700 tokens/s (x 6N), batched generation about 3,200 tokens/s (x 2N).
    "achieved_flops": {"midtrain": 1.78e14, "sft": 1.78e14, "grpo": 0.9e14, "generate": 0.51e14},
    "tokens_per_example": {"midtrain": 1024, "sft": 512, "grpo": 384, "question": 256},
    "dataset_rows": {},
    "benchmark_questions": {"ahb": 115, "moru": 201},
}


@dataclass
class PlanRow:
    rule: str
    jobs: int
    gpus_per_job: int
    gpu_model: str
    tokens: float
    gpu_hours: float
    note: str = ""


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


def _stage_examples(stage_spec: Mapping[str, Any], rows: int) -> float:
    """Examples seen: max_steps x effective batch when set, else epochs x rows (the trainer block's
    TRL names; the fallbacks are TRL's defaults and the recipe's one epoch)."""
    trainer = stage_spec.get("trainer") or {}
    if trainer.get("max_steps", -1) > 0:
        batch = trainer.get("per_device_train_batch_size", 8) * trainer.get("gradient_accumulation_steps", 1)
        return min(trainer["max_steps"] * batch, rows * trainer.get("num_train_epochs", 1e9))
    return rows * trainer.get("num_train_epochs", 1)


def plan(config: Mapping[str, Any], profile: str | Path = "slurm/profile.yaml") -> list[PlanRow]:
    planning = {**DEFAULT_PLANNING, **config.get("planning", {})}
    params = planning["parameters"]
    flops = {**DEFAULT_PLANNING["achieved_flops"], **planning.get("achieved_flops", {})}
    per_example = {**DEFAULT_PLANNING["tokens_per_example"], **planning.get("tokens_per_example", {})}
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
        stage_spec = config["stages"][stage]
        gpus = int(stage_spec.get("gpus", 1))
        conditions = [c for c in trained if config["conditions"][c]["stage"] == stage]
        tokens = 0.0
        for condition in conditions:
            examples = _stage_examples(stage_spec, _rows(config, planning, config["conditions"][condition]["data"]))
            generations = (stage_spec.get("trainer") or {}).get("num_generations", 8) if stage == "grpo" else 1
            per_example_tokens = per_example[stage] * generations
            tokens += examples * per_example_tokens * seeds
        gpu_hours = tokens * 6 * params / flops[stage] / 3600
        jobs = len(conditions) * seeds
        rows.append(PlanRow(f"train/{stage}", jobs, gpus, gpu_model("train"), tokens, gpu_hours,
                            f"6N FLOPs per token; ~{gpu_hours / jobs / gpus:.1f} h per job"))

    benches = config["benchmarks"]
    questions = sum(planning["benchmark_questions"].get(b, 100) for b in benches)
    answers = len(config["conditions"]) * seeds * questions * config["generation"]["epochs"]
    gen_tokens = answers * (per_example["question"] + config["generation"]["max_new_tokens"])
    rows.append(PlanRow("generate", len(config["conditions"]) * seeds * len(benches), 1, gpu_model("generate"),
                        gen_tokens, gen_tokens * 2 * params / flops["generate"] / 3600,
                        "2N FLOPs per token (one GPU per job)"))
    judge_jobs = len(config["conditions"]) * seeds * len(benches) * len(config["panel"])
    rows.append(PlanRow("judge", judge_jobs, 0, "-", 0, 0.0,
                        f"about {answers * 6 * len(config['panel']):,} judge calls (answers x dimensions, ~6)"))
    return rows


def format_plan(rows: list[PlanRow]) -> str:
    lines = [f"{'rule':<14} {'jobs':>5} {'GPUs/job':>9} {'GPU':>6} {'tokens':>14} {'GPU-hours':>10}  note"]
    for row in rows:
        lines.append(f"{row.rule:<14} {row.jobs:>5} {row.gpus_per_job:>9} {row.gpu_model:>6} "
                     f"{row.tokens:>14,.0f} {row.gpu_hours:>10.1f}  {row.note}")
    lines.append(f"{'total':<14} {sum(r.jobs for r in rows):>5} {'':>9} {'':>6} "
                 f"{sum(r.tokens for r in rows):>14,.0f} {sum(r.gpu_hours for r in rows):>10.1f}")
    return "\n".join(lines)
