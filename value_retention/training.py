"""Training stages with TRL: pre-training, mid-training, SFT and GRPO.

Every stage reads a model directory (or, for pre-training, a freshly initialised model), trains,
and writes a complete Hugging Face checkpoint (LoRA adapters merged) with a ``training_log.json``:

- ``pretrain`` / ``midtrain``: causal language modelling on raw ``text`` rows (TRL ``SFTTrainer``
  on a language-modelling dataset: every token is a target), full fine-tuning by default.
- ``sft``: ``SFTTrainer`` on conversational ``messages`` rendered with the tokenizer's chat
  template (loss on the whole conversation, TRL's default).
- ``grpo``: ``GRPOTrainer`` on conversational ``prompt`` rows, rewarded by ``rewards.build_reward``.

TRL's defaults differ from the study's recipe (docs/design.md, "Training"), so every training argument is set here
from the stage block, with the documented fallbacks in :data:`DEFAULTS` and :data:`GRPO_DEFAULTS`.

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
from transformers import PreTrainedModel, PrinterCallback, TrainerCallback, TrainingArguments, set_seed

from . import modeling, rewards
from .errors import ConfigError, DataError
from .jsonl import read_jsonl, write_json
from .provenance import sha256_path

log = logging.getLogger(__name__)

TEXT_STAGES = ("pretrain", "midtrain")
CHAT_STAGES = ("sft", "grpo")
STAGES = (*TEXT_STAGES, *CHAT_STAGES)

# Fallbacks for keys a stage block leaves out (config/README.md documents the keys). `None` for
# save_steps/logging_steps means "about 5 checkpoints / 25 log lines per run".
DEFAULTS: dict[str, Any] = {
    "method": "full",
    "epochs": 1,
    "max_steps": None,
    "batch_size": 8,
    "gradient_accumulation_steps": 1,
    "max_length": 1024,
    "packing": False,
    "warmup_ratio": 0.0,
    "gradient_checkpointing": False,
    "bf16": True,                      # only ever used on CUDA
    "init_special_tokens": "mean",     # a no-op where the chat tokens are trained
    "chat_template": "auto",
    "validation_fraction": 0.0,
    "early_stopping_patience": None,
    "save_steps": None,
    "logging_steps": None,
    "max_examples": None,
    "gpus": 1,                         # processes (one per GPU); above 1, value_retention.launch starts them
    "accelerate_config": "config/accelerate/fsdp.yaml",
}
GRPO_DEFAULTS: dict[str, Any] = {
    "num_generations": 8,
    "max_prompt_length": None,         # TRL 1.x no longer truncates prompts: longer ones are skipped
    "max_completion_length": 256,
    "beta": 0.0,
    "temperature": 1.0,
    "use_vllm": False,
    "vllm_mode": "colocate",
    "loss_type": "dapo",               # TRL 1.16's default, stated so that it is recorded
}
LORA_DEFAULTS: dict[str, Any] = {"dropout": 0.0, "target_modules": "all-linear"}
CHECKPOINTS_KEPT = 2
# transformers 5.x renamed gradient_checkpointing to activation_checkpointing (the old name warns).
CHECKPOINTING_ARG = ("activation_checkpointing" if "activation_checkpointing" in TrainingArguments.__dataclass_fields__
                     else "gradient_checkpointing")
LOGGED_METRICS = ("loss", "eval_loss", "reward", "learning_rate", "train_loss")  # in ProgressLogger's lines
RUN_FILE = "run.json"
TRAINER_SUBDIR = "trainer"


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
    train_set, eval_set = split_validation(train_rows, spec["validation_fraction"], seed)
    data_report.update(n_train=len(train_set), n_validation=len(eval_set) if eval_set else 0)

    checkpoint_dir = Path(checkpoint_dir)
    fingerprint = run_fingerprint(stage, spec, reward_spec, seed, data_path, model, parent)

    progress = ProgressLogger(stage)
    trainer = build_trainer(stage, model, tokenizer, train_set, eval_set, spec, reward, seed,
                            checkpoint_dir / TRAINER_SUBDIR, [progress, *callbacks])
    trainer.remove_callback(PrinterCallback)  # its raw dicts would repeat ProgressLogger's lines
    # The main process discards stale checkpoints before the others look for one to resume.
    with trainer.args.main_process_first(local=False, desc="checkpoints"):
        resume_from = resumable_checkpoint(checkpoint_dir, fingerprint)
    if resume_from is not None:
        log.info("resuming %s from %s", stage, resume_from.name)
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)

    training_log = {
        "stage": stage,
        "method": spec["method"],
        "lora_merged": is_peft_model(trainer.model),
        "seed": seed,
        "parent": os.fspath(parent) if parent is not None else None,
        "data": os.fspath(data_path),
        **trainer_summary(trainer, result, progress),
        "wall_time_s": round(time.time() - started, 2),
        "resumed_from": resume_from.name if resume_from else None,
        "data_report": data_report,
        "chat_template": chat["template"],
        "special_tokens_reset": chat["reset"],
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

def resolve_spec(stage: str, spec: dict[str, Any] | None) -> dict[str, Any]:
    """The stage block with every fallback filled in, checked for what TRL would reject late."""
    where = "models.*.pretrain" if stage == "pretrain" else f"stages.{stage}"
    spec = dict(spec or {})
    resolved = {**DEFAULTS, **(GRPO_DEFAULTS if stage == "grpo" else {}), **spec}
    if "learning_rate" not in resolved:
        raise ConfigError("a stage block needs 'learning_rate'", key=f"{where}.learning_rate")
    if stage == "pretrain" and resolved["gpus"] > 1:
        raise ConfigError("pre-training the tiny model runs in one process (gpus: 1)", key=f"{where}.gpus")
    if resolved["method"] not in ("full", "lora"):
        raise ConfigError(f"method must be full or lora, not '{resolved['method']}'", key=f"{where}.method")
    if resolved["method"] == "lora":
        if "lora" not in spec:
            raise ConfigError("method 'lora' needs a 'lora' block (r, alpha)", key=f"{where}.lora")
        resolved["lora"] = {**LORA_DEFAULTS, **spec["lora"]}
        if resolved["gpus"] > 1:
            # An 8B model with LoRA adapters fits one GPU; merging adapters into FSDP-sharded
            # weights is a different save path, which this workflow does not take.
            raise ConfigError("LoRA trains on one GPU (gpus: 1); several GPUs are for full fine-tuning (FSDP)",
                              key=f"{where}.gpus")
    if resolved["gpus"] > 1 and resolved.get("use_vllm") and resolved.get("vllm_mode") == "colocate":
        raise ConfigError("vLLM colocate generation runs on one GPU here; use gpus: 1 or vllm_mode: server",
                          key=f"{where}.vllm_mode")
    if stage == "grpo":
        global_batch = resolved["batch_size"] * resolved["gradient_accumulation_steps"]
        if resolved["num_generations"] < 2:
            raise ConfigError("GRPO needs at least 2 generations per prompt", key=f"{where}.num_generations")
        if global_batch % resolved["num_generations"]:
            raise ConfigError(f"batch_size x gradient_accumulation_steps ({global_batch}) must be divisible by "
                              f"num_generations ({resolved['num_generations']}): each step holds whole prompt groups",
                              key=f"{where}.batch_size")
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
    if stage == "grpo" and spec.get("max_prompt_length"):
        kept = [row for row in rows if prompt_length(tokenizer, row["prompt"]) <= spec["max_prompt_length"]]
        if len(kept) < len(rows):
            report["skipped"]["prompt_too_long"] = len(rows) - len(kept)
            log.warning("skipped %d of %d prompts longer than max_prompt_length=%d tokens",
                        len(rows) - len(kept), len(rows), spec["max_prompt_length"])
        if not kept:
            raise DataError(f"every prompt is longer than max_prompt_length={spec['max_prompt_length']} tokens", path)
        rows = kept
    if spec.get("max_examples") and len(rows) > spec["max_examples"]:
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
    """For chat stages: choose the chat template and initialise untrained chat-token embeddings."""
    if stage not in CHAT_STAGES:
        return {"template": None, "reset": []}
    template = modeling.set_chat_template(tokenizer, spec["chat_template"])
    reset = []
    if spec["init_special_tokens"] == "mean":
        reset = modeling.init_chat_token_embeddings(model, tokenizer)
    modeling.configure_generation(model, tokenizer)
    return {"template": template, "reset": reset}


def lora_config(spec: dict[str, Any]):
    """PEFT LoraConfig from the stage's ``lora`` block, or None for full fine-tuning."""
    if spec["method"] != "lora":
        return None
    from peft import LoraConfig

    lora = spec["lora"]
    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                      target_modules=lora["target_modules"], bias="none", task_type="CAUSAL_LM")


def is_peft_model(model) -> bool:
    """Whether the trained model carries LoRA adapters (merged into the weights when saved)."""
    from peft import PeftModel

    return isinstance(model, PeftModel)


# --------------------------------------------------------------------------------------------
# Trainer

def build_trainer(stage: str, model, tokenizer, train_set, eval_set, spec: dict[str, Any],
                  reward: Callable | None, seed: int, output_dir: Path, callbacks: list[TrainerCallback]):
    """The TRL trainer for ``stage`` with every argument set from ``spec``."""
    from transformers import EarlyStoppingCallback

    n_steps = estimated_steps(stage, spec, len(train_set))
    common = common_arguments(spec, seed, output_dir, n_steps, has_eval=eval_set is not None)
    if spec.get("early_stopping_patience") and eval_set is not None:
        callbacks = [*callbacks, EarlyStoppingCallback(early_stopping_patience=spec["early_stopping_patience"])]
    if stage == "grpo":
        from trl import GRPOConfig, GRPOTrainer

        if spec["use_vllm"] and importlib.util.find_spec("vllm") is None:
            raise ConfigError("use_vllm needs the vllm package: the train rule runs such stages in envs/vllm.yaml "
                              "(--software-deployment-method conda), or set use_vllm: false",
                              key="stages.grpo.use_vllm")

        args = GRPOConfig(
            **common,
            num_generations=spec["num_generations"],
            max_completion_length=spec["max_completion_length"],
            beta=spec["beta"],
            temperature=spec["temperature"],
            loss_type=spec["loss_type"],
            use_vllm=spec["use_vllm"],
            vllm_mode=spec["vllm_mode"],
            shuffle_dataset=True,
            log_completions=False,
        )
        return GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=train_set,
                           eval_dataset=eval_set, processing_class=tokenizer, peft_config=lora_config(spec),
                           callbacks=callbacks)
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        **common,
        max_length=spec["max_length"],
        packing=spec["packing"],
        dataset_text_field="text",
        completion_only_loss=False,    # language modelling: every token of the text is a target
        assistant_only_loss=False,
        include_num_input_tokens_seen="non_padding",
    )
    return SFTTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                      processing_class=tokenizer, peft_config=lora_config(spec), callbacks=callbacks)


def common_arguments(spec: dict[str, Any], seed: int, output_dir: Path, n_steps: int, has_eval: bool) -> dict[str, Any]:
    """TrainingArguments shared by every stage, all explicit (TRL's defaults are not the recipe's)."""
    save_steps = spec["save_steps"] or max(1, math.ceil(n_steps / 5))
    logging_steps = spec["logging_steps"] or max(1, n_steps // 25)
    warmup = spec["warmup_ratio"]
    args = {
        "output_dir": str(output_dir),
        "seed": seed,
        "data_seed": seed,
        "learning_rate": spec["learning_rate"],
        "per_device_train_batch_size": spec["batch_size"],
        "per_device_eval_batch_size": spec["batch_size"],
        "gradient_accumulation_steps": spec["gradient_accumulation_steps"],
        "num_train_epochs": spec["epochs"],
        "max_steps": spec["max_steps"] or -1,
        "lr_scheduler_type": "linear",
        "warmup_steps": warmup if warmup < 1 else n_steps,  # a float below 1 is a ratio of the steps
        "weight_decay": 0.0,
        "max_grad_norm": 1.0,
        "bf16": torch.cuda.is_available() and bool(spec["bf16"]),
        CHECKPOINTING_ARG: bool(spec["gradient_checkpointing"]),
        "logging_steps": logging_steps,
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": save_steps,
        "save_total_limit": CHECKPOINTS_KEPT,
        "save_only_model": False,      # optimizer and scheduler too, so a resumed run continues exactly
        "report_to": "none",
        "disable_tqdm": True,          # ProgressLogger writes one line per log instead of a bar
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": torch.cuda.is_available(),
    }
    if has_eval:
        args.update(eval_strategy="steps", eval_steps=save_steps, load_best_model_at_end=True,
                    metric_for_best_model="eval_loss", greater_is_better=False)
    return args


def estimated_steps(stage: str, spec: dict[str, Any], n_rows: int) -> int:
    """Optimizer steps the run will take (before packing), for default save and logging intervals."""
    if spec["max_steps"]:
        return spec["max_steps"]
    samples = n_rows * (spec["num_generations"] if stage == "grpo" else 1)
    per_step = spec["batch_size"] * spec["gradient_accumulation_steps"]
    return max(1, math.ceil(math.ceil(samples / per_step) * spec["epochs"]))


def trainer_summary(trainer, result, progress: ProgressLogger) -> dict[str, Any]:
    """What the finished trainer knows: steps, tokens, speed, losses and the arguments it ran with."""
    state = trainer.state
    return {
        "steps": state.global_step,
        "epochs": state.epoch,
        "tokens_seen": int(state.num_input_tokens_seen),
        "tokens_per_second": progress.tokens_per_second(state),
        "train_runtime_s": result.metrics.get("train_runtime"),
        "final_loss": last_logged(state.log_history, "loss"),
        "loss_history": loss_history(state.log_history),
        "trainer_args": recorded_args(trainer.args),
        "device": str(trainer.args.device),
        "processes": trainer.accelerator.num_processes,
        "distributed_type": str(trainer.accelerator.distributed_type.value),
    }


def recorded_args(args) -> dict[str, Any]:
    """The trainer arguments worth recording (the full set is hundreds of keys)."""
    keys = ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs",
            "max_steps", "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "bf16",
            "gradient_checkpointing", "max_length", "packing", "completion_only_loss", "num_generations",
            "max_completion_length", "beta", "temperature", "loss_type", "scale_rewards", "use_vllm",
            "vllm_mode", "save_steps", "logging_steps", "seed")
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


def loss_history(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The logged losses (and rewards, for GRPO) by step, from the Trainer's log history."""
    keys = ("loss", "eval_loss", "reward", "reward_std", "learning_rate", "grad_norm", "num_input_tokens_seen")
    history = []
    for entry in log_history:
        if "loss" in entry or "eval_loss" in entry:
            history.append({"step": entry["step"], **{k: entry[k] for k in keys if k in entry}})
    return history


def provenance_facts(training_log: dict[str, Any]) -> dict[str, Any]:
    """The training log's headline facts, for the model directory's provenance sidecar."""
    keys = ("stage", "method", "processes", "steps", "tokens_seen", "tokens_per_second", "wall_time_s",
            "final_loss", "lora_merged", "resumed_from", "special_tokens_reset", "data_report")
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
            write_json(staging / "training_log.json", training_log)
            if out_dir.exists():
                shutil.rmtree(out_dir)
            os.replace(staging, out_dir)
    except BaseException:
        if accelerator.is_main_process:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    accelerator.wait_for_everyone()

