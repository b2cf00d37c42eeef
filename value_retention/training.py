"""Training stages with TRL: pre-training, mid-training, SFT and GRPO.

Every stage reads a model directory (or, for pre-training, a freshly initialised model), trains,
and writes a complete Hugging Face checkpoint (LoRA adapters merged) with a ``training_log.json``:

- ``pretrain`` / ``midtrain``: causal language modelling on raw ``text`` rows (TRL ``SFTTrainer``
  on a language-modelling dataset: every token is a target), full fine-tuning by default.
- ``sft``: ``SFTTrainer`` on conversational ``messages`` rendered with the chat template, the loss
  on the assistant's tokens only (TRL's ``assistant_only_loss``, through the template's
  ``{% generation %}`` markers).
- ``grpo``: ``GRPOTrainer`` on conversational ``prompt`` rows, rewarded by ``rewards.build_reward``.

The stage block's ``trainer`` part goes straight to ``SFTConfig`` or ``GRPOConfig`` and its
``lora`` part to ``LoraConfig`` (:mod:`value_retention.trainer_config` checks and completes them);
the workflow adds only what belongs to the run: the output folder, the seed, and save and log
intervals where the block sets none.

After training, :func:`learning_warnings` checks that the stage learned something (non-zero
gradients; GRPO rewards that vary within a prompt's group; a loss that moved). What it finds is
in the training log's ``warnings``, or fails the job with ``no_learning: error``.

Runs are resumable: Trainer checkpoints go to ``checkpoint_dir`` (outside the rule's declared
output, so a killed job keeps them) and a re-run resumes from the latest complete one, provided
the run is the same (same stage block, data, parent and seed: see :func:`run_fingerprint`). The
final model is written to a temporary sibling of ``out_dir`` and renamed into place when
complete.

The same code runs in every process of a multi-GPU run started by ``value_retention.launch``
(``accelerate launch`` with an FSDP config): the Trainer shards the data and the model, and the
checkpoint bookkeeping, the log lines and the final save happen once, on the main process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PrinterCallback, TrainerCallback, set_seed

from . import modeling, rewards, trainer_config
from .errors import ConfigError, DataError, NoLearningError
from .jsonl import read_jsonl, write_json, write_jsonl
from .provenance import sha256_path
from .trainer_config import CHAT_STAGES, TEXT_STAGES, stage_key, trainer_value

log = logging.getLogger(__name__)

LOGGED_METRICS = ("loss", "eval_loss", "reward", "reward_std", "grad_norm", "learning_rate", "train_loss")
RUN_FILE = "run.json"
TRAINER_SUBDIR = "trainer"
COMPLETIONS_FILE = "completions.jsonl"   # GRPO's logged completions, in the model directory
TENSORBOARD_SUBDIR = "runs"              # TensorBoard event files (report_to: tensorboard), likewise


# --------------------------------------------------------------------------------------------
# Entry points

def pretrain(model: PreTrainedModel, tokenizer, texts_path: str | os.PathLike, spec: dict[str, Any],
             out_dir: str | os.PathLike, seed: int, checkpoint_dir: str | os.PathLike,
             callbacks: Sequence[TrainerCallback] = ()) -> dict[str, Any]:
    """Pre-train a freshly initialised model on raw text; returns the training log."""
    return _train("pretrain", model, tokenizer, texts_path, spec, None, out_dir, seed, checkpoint_dir,
                  parent=None, callbacks=callbacks)


def train_stage(stage: str, parent_dir: str | os.PathLike, data_path: str | os.PathLike, spec: dict[str, Any],
                reward_spec: dict[str, Any] | None, out_dir: str | os.PathLike, seed: int,
                checkpoint_dir: str | os.PathLike, callbacks: Sequence[TrainerCallback] = ()) -> dict[str, Any]:
    """Train ``stage`` (midtrain, sft or grpo) from the model in ``parent_dir``; returns the training log."""
    if stage not in ("midtrain", "sft", "grpo"):
        raise ConfigError(f"unknown stage '{stage}' (expected midtrain, sft or grpo)", key="stage")
    if stage == "grpo" and not reward_spec:
        raise ConfigError("a grpo stage needs a reward (the condition's 'reward')", key="reward")
    model, tokenizer = modeling.load_model_dir(parent_dir)
    return _train(stage, model, tokenizer, data_path, spec, reward_spec, out_dir, seed, checkpoint_dir,
                  parent=parent_dir, callbacks=callbacks)


def _train(stage: str, model: PreTrainedModel, tokenizer, data_path, spec, reward_spec, out_dir, seed: int,
           checkpoint_dir, parent, callbacks: Sequence[TrainerCallback]) -> dict[str, Any]:
    started = time.time()
    spec = resolve_spec(stage, spec)
    set_seed(seed)
    reward = rewards.build_reward(reward_spec) if stage == "grpo" else None

    modeling.ensure_pad_token(model, tokenizer)
    chat = prepare_chat_format(stage, model, tokenizer, spec)
    train_rows, data_report = load_stage_rows(stage, data_path, spec, tokenizer, reward)
    validation_seed = seed if spec["validation_seed"] is None else spec["validation_seed"]
    train_set, eval_set = split_validation(train_rows, spec["validation_fraction"], validation_seed)
    data_report.update(n_train=len(train_set), n_validation=len(eval_set) if eval_set else 0,
                       validation_seed=validation_seed if eval_set else None)

    checkpoint_dir = Path(checkpoint_dir)
    fingerprint = run_fingerprint(stage, spec, reward_spec, seed, data_path, model, parent)

    progress = ProgressLogger(stage)
    sharding = ShardingProbe()
    trainer = build_trainer(stage, model, tokenizer, train_set, eval_set, spec, reward, seed,
                            checkpoint_dir / TRAINER_SUBDIR, [progress, sharding, *callbacks])
    trainer.remove_callback(PrinterCallback)  # its raw dicts would repeat ProgressLogger's lines
    # The main process discards stale checkpoints before the others look for one to resume.
    with trainer.args.main_process_first(local=False, desc="checkpoints"):
        resume_from = resumable_checkpoint(checkpoint_dir, fingerprint)
    if resume_from is not None:
        log.info("resuming %s from %s", stage, resume_from.name)
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)

    no_learning = learning_warnings(stage, trainer.state.log_history)
    warnings = [*chat["warnings"], *no_learning]
    for warning in warnings:
        log.warning("%s: %s", stage, warning)
    if no_learning and spec["no_learning"] == "error":
        raise NoLearningError(f"the {stage} stage learned nothing: {'; '.join(no_learning)}. Its checkpoints stay "
                              f"in {checkpoint_dir}; {stage_key(stage)}.no_learning: warn keeps such a model")

    training_log = {
        "stage": stage,
        "method": spec["method"],
        "lora_merged": is_peft_model(trainer.model),
        "seed": seed,
        "parent": os.fspath(parent) if parent is not None else None,
        "data": os.fspath(data_path),
        **trainer_summary(trainer, result, progress, spec),
        "sharding": sharding.summary,
        "wall_time_s": round(time.time() - started, 2),
        "resumed_from": resume_from.name if resume_from else None,
        "data_report": data_report,
        "chat_template": chat["template"],
        "special_tokens_reset": chat["reset"],
        "warnings": warnings,
        "reward": reward_spec,
        "spec": spec,
    }
    save_trained_model(trainer, tokenizer, out_dir, training_log)
    if trainer.accelerator.is_main_process:
        clear_checkpoints(checkpoint_dir)
        log.info("%s done: %d steps, %s tokens, %.0f tokens/s, %.1fs -> %s", stage, training_log["steps"],
                 f"{training_log['tokens_seen']:,}", training_log["tokens_per_second"] or 0,
                 training_log["wall_time_s"], out_dir)
    return training_log


# --------------------------------------------------------------------------------------------
# The stage block

REPORTING_PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",)}


def resolve_spec(stage: str, spec: dict[str, Any] | None) -> dict[str, Any]:
    """The stage block with every default filled in (:func:`value_retention.trainer_config.resolve`),
    checked for what TRL would reject late or this machine lacks."""
    resolved = trainer_config.resolve(stage, spec, cuda=torch.cuda.is_available())
    where = stage_key(stage)
    trainer_config.check_trainer_values(stage, resolved, where)  # as at parse time: before the model loads
    trainer = resolved["trainer"]
    if trainer.get("use_vllm") and importlib.util.find_spec("vllm") is None:
        raise ConfigError("use_vllm needs the vllm package: the train rule runs such stages in envs/vllm.yaml "
                          "(--software-deployment-method conda), or set use_vllm: false",
                          key=f"{where}.trainer.use_vllm")
    for backend, packages in REPORTING_PACKAGES.items():
        if backend in trainer_config.reports_to(trainer) and not any(importlib.util.find_spec(p) for p in packages):
            raise ConfigError(f"report_to {backend} needs the {packages[0]} package in the training environment",
                              key=f"{where}.trainer.report_to")
    return resolved


# --------------------------------------------------------------------------------------------
# Data

def load_stage_rows(stage: str, path: str | os.PathLike, spec: dict[str, Any], tokenizer,
                    reward: Callable | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Validated training rows for ``stage`` (only the columns the trainer needs) and a report.

    ``max_examples`` keeps the first rows in file order, so every seed sees the same subset.
    GRPO prompts longer than ``max_prompt_length`` tokens are skipped (TRL no longer truncates
    them) and counted; so are rows beyond ``max_examples``.
    """
    if stage in TEXT_STAGES:
        rows = [{"text": modeling.require_text(row, "text", path)} for row in read_jsonl(path, required=["text"])]
    elif stage == "sft":
        rows = [{"messages": _sft_messages(row, path)} for row in read_jsonl(path, required=["messages"])]
    else:
        rows = [_grpo_row(row, path, getattr(reward, "required_columns", ())) for row in
                read_jsonl(path, required=["prompt"])]
    report: dict[str, Any] = {"n_rows": len(rows), "skipped": {}}
    if not rows:
        raise DataError("no training rows", path)
    if stage == "grpo" and spec["max_prompt_length"]:
        kept = [row for row in rows if prompt_length(tokenizer, row["prompt"]) <= spec["max_prompt_length"]]
        if len(kept) < len(rows):
            report["skipped"]["prompt_too_long"] = len(rows) - len(kept)
            log.warning("skipped %d of %d prompts longer than max_prompt_length=%d tokens",
                        len(rows) - len(kept), len(rows), spec["max_prompt_length"])
        if not kept:
            raise DataError(f"every prompt is longer than max_prompt_length={spec['max_prompt_length']} tokens", path)
        rows = kept
    if spec["max_examples"] and len(rows) > spec["max_examples"]:
        report["skipped"]["beyond_max_examples"] = len(rows) - spec["max_examples"]
        rows = rows[: spec["max_examples"]]
    report["n_used"] = len(rows)
    return rows, report


def _sft_messages(row: dict[str, Any], path) -> list[dict[str, str]]:
    messages = modeling.require_messages(row, "messages", path)
    if not any(message["role"] == "assistant" for message in messages):
        raise DataError("an SFT conversation needs at least one assistant message", path, row["_row"])
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _grpo_row(row: dict[str, Any], path, required_columns: Sequence[str]) -> dict[str, Any]:
    prompt = modeling.require_messages(row, "prompt", path)
    if prompt[-1]["role"] == "assistant":
        raise DataError("a GRPO prompt must not end with an assistant message", path, row["_row"])
    out = {"prompt": [{"role": m["role"], "content": m["content"]} for m in prompt]}
    for column in ("tests", "reference"):
        value = row.get(column)
        if value is not None and not isinstance(value, str):
            raise DataError(f"field '{column}' must be a string or null", path, row["_row"])
        out[column] = value
    for column in required_columns:
        if not out.get(column):
            raise DataError(f"the reward needs a non-empty '{column}' in every row", path, row["_row"])
    return out


def prompt_length(tokenizer, prompt: list[dict[str, str]]) -> int:
    """Tokens in a conversational prompt as the model sees it (chat template, generation prompt)."""
    text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def split_validation(rows: list[dict[str, Any]], fraction: float, seed: int):
    """Train and validation ``datasets.Dataset``s; validation is None when ``fraction`` is 0."""
    from datasets import Dataset

    dataset = Dataset.from_list(rows)
    if not fraction:
        return dataset, None
    n_validation = max(1, round(fraction * len(rows)))
    if n_validation >= len(rows):
        raise ConfigError(f"validation_fraction {fraction} leaves no training rows out of {len(rows)}",
                          key="validation_fraction")
    split = dataset.train_test_split(test_size=n_validation, seed=seed, shuffle=True)
    return split["train"], split["test"]


# --------------------------------------------------------------------------------------------
# Model preparation

def prepare_chat_format(stage: str, model: PreTrainedModel, tokenizer, spec: dict[str, Any]) -> dict[str, Any]:
    """For chat stages: choose the chat template, check that SFT can mask the loss to the
    assistant's tokens with it, and initialise untrained chat-token embeddings."""
    if stage not in CHAT_STAGES:
        return {"template": None, "reset": [], "warnings": []}
    template = modeling.set_chat_template(tokenizer, spec["chat_template"])
    if stage == "sft" and spec["trainer"].get("assistant_only_loss"):
        modeling.training_chat_template(tokenizer, key=f"{stage_key(stage)}.chat_template")
    reset = []
    if spec["init_special_tokens"] == "mean":
        reset = modeling.init_chat_token_embeddings(model, tokenizer)
    modeling.configure_generation(model, tokenizer)
    warnings = []
    if reset and not trains_input_embeddings(spec, model):
        warnings.append(f"the chat tokens {', '.join(reset)} were initialised from the mean embedding but are not "
                        "trained: add the input embeddings to lora.modules_to_save or lora.trainable_token_indices")
    return {"template": template, "reset": reset, "warnings": warnings}


def trains_input_embeddings(spec: dict[str, Any], model: PreTrainedModel) -> bool:
    """Whether the stage updates the input embedding matrix: full fine-tuning, or LoRA with the
    embeddings in ``modules_to_save`` or some of their rows in ``trainable_token_indices``."""
    if spec["method"] == "full":
        return True
    lora = spec["lora"]
    embedding = model.get_input_embeddings()
    name = next(name for name, module in model.named_modules() if module is embedding).rsplit(".", 1)[-1]
    indices = lora.get("trainable_token_indices")
    return name in (lora.get("modules_to_save") or []) or bool(
        indices if not isinstance(indices, dict) else indices.get(name))


def lora_config(spec: dict[str, Any]):
    """``peft.LoraConfig`` from the stage's ``lora`` block, or None for full fine-tuning."""
    if spec["method"] != "lora":
        return None
    from peft import LoraConfig

    return LoraConfig(**spec["lora"], task_type="CAUSAL_LM")


def is_peft_model(model) -> bool:
    """Whether the trained model carries LoRA adapters (merged into the weights when saved)."""
    from peft import PeftModel

    return isinstance(model, PeftModel)


# --------------------------------------------------------------------------------------------
# Trainer

def build_trainer(stage: str, model, tokenizer, train_set, eval_set, spec: dict[str, Any],
                  reward: Callable | None, seed: int, output_dir: Path, callbacks: list[TrainerCallback]):
    """The TRL trainer for ``stage``: its config from the stage's ``trainer`` block and the run."""
    from transformers import EarlyStoppingCallback

    n_steps = estimated_steps(stage, spec["trainer"], len(train_set))
    kwargs = trainer_config.trainer_arguments(stage, spec, seed, output_dir, n_steps, has_eval=eval_set is not None)
    config_class = trainer_config.trainer_class(stage)
    try:
        args = config_class(**kwargs)
    except (TypeError, ValueError) as error:  # TRL's and transformers' own checks of the arguments
        raise ConfigError(f"{config_class.__name__} rejected the arguments: {error}",
                          key=f"{stage_key(stage)}.trainer") from error
    if spec["early_stopping_patience"]:
        callbacks = [*callbacks, EarlyStoppingCallback(early_stopping_patience=spec["early_stopping_patience"])]
    if stage == "grpo":
        from trl import GRPOTrainer

        return GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=train_set,
                           eval_dataset=eval_set, processing_class=tokenizer, peft_config=lora_config(spec),
                           callbacks=callbacks)
    from trl import SFTTrainer

    return SFTTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                      processing_class=tokenizer, peft_config=lora_config(spec), callbacks=callbacks)


def estimated_steps(stage: str, trainer: dict[str, Any], n_rows: int) -> int:
    """Optimizer steps the run will take (before packing), for default save and logging intervals."""
    max_steps = trainer_value(stage, trainer, "max_steps")
    if max_steps and max_steps > 0:
        return max_steps
    samples = n_rows * (trainer_value(stage, trainer, "num_generations") if stage == "grpo" else 1)
    per_step = (trainer_value(stage, trainer, "per_device_train_batch_size")
                * trainer_value(stage, trainer, "gradient_accumulation_steps"))
    return max(1, math.ceil(math.ceil(samples / per_step) * trainer_value(stage, trainer, "num_train_epochs")))


def trainer_summary(trainer, result, progress: ProgressLogger, spec: dict[str, Any]) -> dict[str, Any]:
    """What the finished trainer knows: steps, tokens, speed, losses and the arguments it ran with."""
    state = trainer.state
    return {
        "steps": state.global_step,
        "epochs": state.epoch,
        "tokens_seen": int(state.num_input_tokens_seen),
        "tokens_per_second": progress.tokens_per_second(state),
        "train_runtime_s": result.metrics.get("train_runtime"),
        "final_loss": last_logged(state.log_history, "loss"),
        "best_checkpoint": Path(state.best_model_checkpoint).name if state.best_model_checkpoint else None,
        "loss_history": loss_history(state.log_history),
        "trainer_args": recorded_args(trainer.args, spec["trainer"]),
        "device": str(trainer.args.device),
        "processes": trainer.accelerator.num_processes,
        "distributed_type": str(trainer.accelerator.distributed_type.value),
    }


RECORDED_ARGS = ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs",
                 "max_steps", "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "bf16",
                 "activation_checkpointing", "max_length", "packing", "assistant_only_loss", "completion_only_loss",
                 "num_generations", "max_completion_length", "beta", "temperature", "loss_type", "scale_rewards",
                 "use_vllm", "vllm_mode", "eval_strategy", "eval_steps", "save_steps", "logging_steps",
                 "load_best_model_at_end", "metric_for_best_model", "report_to", "log_completions", "seed")


def recorded_args(args, block: dict[str, Any]) -> dict[str, Any]:
    """The arguments the trainer ran with: every one the stage block set, and the recipe's
    headline ones (the full set is hundreds of keys)."""
    keys = [*RECORDED_ARGS, *(key for key in block if key not in RECORDED_ARGS)]
    recorded = {key: getattr(args, key) for key in keys if hasattr(args, key)}
    return json.loads(json.dumps(recorded, default=str))


class ProgressLogger(TrainerCallback):
    """One log line per Trainer log: step, loss, tokens seen, tokens/s and ETA."""

    def __init__(self, stage: str):
        self.stage = stage
        self.started = None
        self.tokens_at_start = 0
        self.step_at_start = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.time()
        self.tokens_at_start = state.num_input_tokens_seen
        self.step_at_start = state.global_step

    def tokens_per_second(self, state) -> float | None:
        if self.started is None:
            return None
        elapsed = time.time() - self.started
        return round((state.num_input_tokens_seen - self.tokens_at_start) / elapsed, 1) if elapsed > 0 else None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.started is None or not logs or not state.is_world_process_zero:
            return
        elapsed = time.time() - self.started
        done = state.global_step - self.step_at_start
        remaining = max(state.max_steps - state.global_step, 0)
        eta = elapsed / done * remaining if done else float("nan")
        metrics = " ".join(f"{key} {logs[key]:.4g}" for key in LOGGED_METRICS
                           if isinstance(logs.get(key), (int, float)))
        log.info("%s step %d/%d %s | %s tokens, %s tokens/s | %.0fs elapsed, ETA %.0fs", self.stage,
                 state.global_step, state.max_steps, metrics, f"{state.num_input_tokens_seen:,}",
                 self.tokens_per_second(state), elapsed, eta)


class ShardingProbe(TrainerCallback):
    """Records, as training starts, how much of the model this process holds: all of it, unless FSDP
    sharded the parameters (DTensors, of which each process keeps its own slice)."""

    def __init__(self):
        self.summary: dict[str, Any] | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            return
        total = held = sharded = 0
        for parameter in model.parameters():
            total += parameter.numel()
            local = parameter.to_local() if hasattr(parameter, "to_local") else parameter
            held += local.numel()
            sharded += local is not parameter
        self.summary = {"parameters": total, "held_by_main_process": held,
                        "held_share": round(held / total, 4) if total else None,
                        "sharded_tensors": sharded}


def loss_history(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The logged losses (and rewards, for GRPO) by step, from the Trainer's log history."""
    keys = ("loss", "eval_loss", "reward", "reward_std", "frac_reward_zero_std", "learning_rate", "grad_norm",
            "num_input_tokens_seen")
    history = []
    for entry in log_history:
        if "loss" in entry or "eval_loss" in entry:
            history.append({"step": entry["step"], **{k: entry[k] for k in keys if k in entry}})
    return history


# A loss whose logged values all lie within this fraction of the first one "never moved".
STILL_LOSS_TOLERANCE = 1e-6


def learning_warnings(stage: str, log_history: list[dict[str, Any]]) -> list[str]:
    """Signs that a stage learned nothing, from the Trainer's logged training steps.

    - a zero gradient norm at every logged step: no parameter moved;
    - GRPO: at every logged step, every prompt's group of completions earned one reward (TRL's
      ``frac_reward_zero_std`` of 1; where it was not logged, a zero ``reward_std``): every
      advantage, and so the policy gradient, was zero;
    - other stages: a training loss that never moved.
    """
    steps = [entry for entry in log_history if "loss" in entry and "train_loss" not in entry]
    if not steps:
        return ["no training step was logged"]
    found = []
    grad_norms = [entry["grad_norm"] for entry in steps if entry.get("grad_norm") is not None]
    if grad_norms and all(norm == 0 for norm in grad_norms):
        found.append(f"zero gradient norm at every logged step ({len(grad_norms)} of {len(steps)})")
    if stage == "grpo":
        flat_groups = [entry["frac_reward_zero_std"] for entry in steps
                       if entry.get("frac_reward_zero_std") is not None]
        stds = [entry["reward_std"] for entry in steps if entry.get("reward_std") is not None]
        if (flat_groups and all(share == 1 for share in flat_groups)) or (
                not flat_groups and stds and all(std == 0 for std in stds)):
            found.append(f"zero reward spread at every logged step ({len(flat_groups or stds)}): every completion of "
                         "a prompt earned the same reward, so every advantage was zero")
    else:
        losses = [entry["loss"] for entry in steps]
        if len(losses) > 1 and max(losses) - min(losses) <= STILL_LOSS_TOLERANCE * max(1.0, abs(losses[0])):
            found.append(f"the training loss never moved from {losses[0]:.6g} over {len(losses)} logged steps")
    return found


def provenance_facts(training_log: dict[str, Any]) -> dict[str, Any]:
    """The training log's headline facts, for the model directory's provenance sidecar."""
    keys = ("stage", "method", "processes", "distributed_type", "sharding", "steps", "tokens_seen",
            "tokens_per_second", "wall_time_s",
            "final_loss", "lora_merged", "resumed_from", "special_tokens_reset", "warnings", "data_report")
    return {key: training_log.get(key) for key in keys}


def last_logged(log_history: list[dict[str, Any]], key: str) -> float | None:
    values = [entry[key] for entry in log_history if key in entry]
    return values[-1] if values else None


# --------------------------------------------------------------------------------------------
# Checkpoints and resuming

def run_fingerprint(stage: str, spec: dict[str, Any], reward_spec: dict[str, Any] | None, seed: int,
                    data_path, model: PreTrainedModel, parent) -> str:
    """A hash of everything that makes a run this run; checkpoints of another run are not resumed."""
    parent_stamp = None
    if parent is not None:
        parent_stamp = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                              for p in Path(parent).iterdir() if p.is_file())
    identity = {
        "stage": stage, "spec": spec, "reward": reward_spec, "seed": seed,
        "data_sha256": sha256_path(data_path), "parent": parent_stamp,
        "model_config": model.config.to_dict() if parent is None else None,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def resumable_checkpoint(checkpoint_dir: Path, fingerprint: str) -> Path | None:
    """The latest complete checkpoint of this same run, if any; stale checkpoints are discarded."""
    run_file = checkpoint_dir / RUN_FILE
    trainer_dir = checkpoint_dir / TRAINER_SUBDIR
    if run_file.exists() and json.loads(run_file.read_text())["fingerprint"] != fingerprint:
        log.warning("discarding checkpoints in %s: they belong to a different run (config, data or parent changed)",
                    checkpoint_dir)
        shutil.rmtree(trainer_dir, ignore_errors=True)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_file, {"fingerprint": fingerprint})
    return latest_complete_checkpoint(trainer_dir)


def latest_complete_checkpoint(trainer_dir: Path) -> Path | None:
    """The ``checkpoint-N`` with the highest N whose trainer state was written (it is saved last)."""
    if not trainer_dir.is_dir():
        return None
    steps = {}
    for path in trainer_dir.iterdir():
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and (path / "trainer_state.json").exists():
            steps[int(match.group(1))] = path
    return steps[max(steps)] if steps else None


def clear_checkpoints(checkpoint_dir: Path) -> None:
    """Remove this run's checkpoints once its model is saved (they can be large)."""
    shutil.rmtree(checkpoint_dir / TRAINER_SUBDIR, ignore_errors=True)
    (checkpoint_dir / RUN_FILE).unlink(missing_ok=True)
    try:
        checkpoint_dir.rmdir()
    except OSError:
        pass  # not empty: something else lives there; leave it


# --------------------------------------------------------------------------------------------
# Saving

def save_trained_model(trainer, tokenizer, out_dir: str | os.PathLike, training_log: dict[str, Any]) -> None:
    """Write the trained model as a complete model directory, atomically; every process calls this.

    One process: LoRA adapters are merged into the weights in memory. Several (full fine-tuning
    only, see :func:`resolve_spec`): every process takes part in gathering the full state dict
    (FSDP holds a shard of each weight per process; the checkpoints along the way stay sharded)
    and the main process writes it. Either way the files go to a ``.partial`` sibling that is
    renamed into place once complete.
    """
    accelerator = trainer.accelerator
    out_dir = Path(out_dir)
    staging = out_dir.parent / f".{out_dir.name}.partial"  # the same name in every process
    if accelerator.is_main_process:
        shutil.rmtree(staging, ignore_errors=True)  # a killed save's leftovers
        staging.mkdir(parents=True)
    accelerator.wait_for_everyone()
    try:
        trainer.model.config.use_cache = True  # training turns the KV cache off; generation wants it
        if accelerator.num_processes > 1:
            state_dict = accelerator.get_state_dict(trainer.model)  # a collective: full weights on the main process
            if accelerator.is_main_process:
                accelerator.unwrap_model(trainer.model).save_pretrained(staging, state_dict=state_dict)
        elif is_peft_model(trainer.model):
            trainer.model.merge_and_unload().save_pretrained(staging)
        else:
            trainer.model.save_pretrained(staging)
        if accelerator.is_main_process:
            tokenizer.save_pretrained(staging)
            training_log.update(keep_training_records(Path(trainer.args.output_dir), staging))
            write_json(staging / "training_log.json", training_log)
            if out_dir.exists():
                shutil.rmtree(out_dir)
            os.replace(staging, out_dir)
    except BaseException:
        if accelerator.is_main_process:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    accelerator.wait_for_everyone()



def keep_training_records(trainer_dir: Path, model_dir: Path) -> dict[str, Any]:
    """Move what the trainer logged beside its checkpoints into the model directory, which
    outlives them: TensorBoard event files (``runs/``, with ``report_to: tensorboard``) and GRPO's
    logged completions with their rewards (``log_completions``: TRL's Parquet files become one
    ``completions.jsonl``). Returns the training log's pointers to them."""
    kept: dict[str, Any] = {}
    runs = trainer_dir / TENSORBOARD_SUBDIR
    if runs.is_dir():
        shutil.copytree(runs, model_dir / TENSORBOARD_SUBDIR)
        kept["tensorboard"] = TENSORBOARD_SUBDIR
    parts = sorted((trainer_dir / "completions").glob("completions_*.parquet"))
    if parts:
        import pyarrow.parquet as pq

        rows = [row for part in parts for row in pq.read_table(part).to_pylist()]
        kept["completions"] = {"file": COMPLETIONS_FILE, "n": write_jsonl(model_dir / COMPLETIONS_FILE, rows),
                               "steps": sorted({row["step"] for row in rows})}
    return kept
