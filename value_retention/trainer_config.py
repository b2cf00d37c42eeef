"""A stage block of the config, and the TRL and PEFT configs made from it.

A stage block (``stages.midtrain``, ``stages.sft``, ``stages.grpo``, and a tiny model's
``models.*.pretrain``) has three parts:

- ``trainer``: keyword arguments of ``trl.SFTConfig`` (pre-training, mid-training, SFT) or
  ``trl.GRPOConfig`` (GRPO), in TRL's own names: every TRL option is reachable, and nothing is
  translated. Where the recipe's default differs from TRL's, :data:`RECIPE_DEFAULTS` says so
  and why; everything else is TRL's default.
- ``lora``: keyword arguments of ``peft.LoraConfig`` (with ``method: lora``).
- the project's own keys (:data:`PROJECT_KEYS`), only where TRL and PEFT have none: the method,
  the data, the GPUs, the chat template and its tokens, early stopping, the learning checks.

:func:`check_stage_block` checks a block's keys against the dataclasses' fields, so a typo fails
at parse time with the key named (and the nearest field suggested), not hours later on a GPU; a
key from before the ``trainer:`` block gets its new name. :func:`resolve` fills in the
defaults (the project keys' from the config schema) and applies the project's rules.
:func:`check_block`, which ``check-config`` and the workflow run at parse time, does all of that
and then builds the TRL config from the block as the train job will (:func:`check_trainer_values`),
so TRL's and transformers' own checks of the values fail before any job runs. TRL and PEFT are
imported only when a check or a resolve needs them.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import schema
from .errors import ConfigError

TEXT_STAGES = ("pretrain", "midtrain")
CHAT_STAGES = ("sft", "grpo")
STAGES = (*TEXT_STAGES, *CHAT_STAGES)

# The project's own keys, where TRL and PEFT have no field: their one home is the config schema's
# stage definition, which gives each its type, default and description.
PROJECT_KEYS: dict[str, dict[str, Any]] = schema.definition("stage")["properties"]
REPO = Path(__file__).resolve().parent.parent

# Keys of the stage block before the `trainer:` block, and where they live now.
MOVED_KEYS: dict[str, str] = {
    "epochs": "trainer.num_train_epochs",
    "max_steps": "trainer.max_steps",
    "learning_rate": "trainer.learning_rate",
    "batch_size": "trainer.per_device_train_batch_size",
    "gradient_accumulation_steps": "trainer.gradient_accumulation_steps",
    "max_length": "trainer.max_length",
    "packing": "trainer.packing",
    "warmup_ratio": "trainer.warmup_steps (a float below 1 is a fraction of the steps)",
    "bf16": "trainer.bf16",
    "gradient_checkpointing": "trainer.activation_checkpointing",
    "save_steps": "trainer.save_steps",
    "logging_steps": "trainer.logging_steps",
    "num_generations": "trainer.num_generations",
    "max_completion_length": "trainer.max_completion_length",
    "beta": "trainer.beta",
    "temperature": "trainer.temperature",
    "use_vllm": "trainer.use_vllm",
    "vllm_mode": "trainer.vllm_mode",
    "loss_type": "trainer.loss_type",
}
MOVED_LORA_KEYS = {"alpha": "lora_alpha", "dropout": "lora_dropout"}

# Trainer and LoRA fields the workflow sets itself; the config may not.
WORKFLOW_TRAINER_ARGS: dict[str, str] = {
    "output_dir": "checkpoints go to the run's folder under results/checkpoints/",
    "seed": "the seed is the run's seed (the config's `seeds`)",
    "data_seed": "the data order follows the run's seed (the config's `seeds`)",
    "resume_from_checkpoint": "the workflow resumes from the run's latest complete checkpoint itself",
    "dataset_text_field": "normalised text datasets have the field `text`",
    "hub_token": "a token never goes in the config: set HF_TOKEN in the environment",
}
WORKFLOW_LORA_ARGS: dict[str, str] = {
    "task_type": "always CAUSAL_LM",
    "base_model_name_or_path": "the parent model directory",
    "inference_mode": "the adapters are trained",
}

# Where the recipe's default differs from TRL's (TRL 1.16), and why. A stage's `trainer` block
# overrides any of them; everything not named here is TRL's default.
RECIPE_DEFAULTS: dict[str, Any] = {
    "num_train_epochs": 1,             # transformers: 3; each recipe names its epochs or steps
    "activation_checkpointing": False, # TRL: on; the paper config turns it on where memory needs it
    "logging_first_step": True,        # the first loss is the baseline a curve is read against
    "save_total_limit": 2,             # resumable checkpoints are kept, but not every one
    "disable_tqdm": True,              # ProgressLogger writes one line per log instead of a bar
    "dataloader_num_workers": 0,
    "include_num_input_tokens_seen": "non_padding",  # for tokens/s in the training log
}
TEXT_DEFAULTS: dict[str, Any] = {"assistant_only_loss": False}  # language modelling: every token is a target
SFT_DEFAULTS: dict[str, Any] = {"assistant_only_loss": True}    # the loss on the assistant's tokens only
GRPO_DEFAULTS: dict[str, Any] = {
    "log_completions": True,           # a sample of completions and rewards, kept in the model folder
    "num_completions_to_print": 2,     # ... of which the job log shows two per logged step
}
# About this many checkpoints and log lines per run where the block sets no save_steps/logging_steps.
CHECKPOINTS_PER_RUN = 5
LOG_LINES_PER_RUN = 25


def trainer_class(stage: str):
    """The TRL config class a stage's ``trainer`` block is passed to."""
    if stage not in STAGES:
        raise ConfigError(f"unknown stage '{stage}' (expected {', '.join(STAGES)})", key="stage")
    if stage == "grpo":
        from trl import GRPOConfig

        return GRPOConfig
    from trl import SFTConfig

    return SFTConfig


def lora_fields() -> set[str]:
    from peft import LoraConfig

    return set(LoraConfig.__dataclass_fields__)


def stage_key(stage: str) -> str:
    """Where a stage's block lives in the config, for error messages."""
    return "models.*.pretrain" if stage == "pretrain" else f"stages.{stage}"


def check_moved_keys(block: Mapping[str, Any], where: str) -> None:
    """A key from before the ``trainer:`` block is an error that gives its new name."""
    if not isinstance(block, Mapping):
        return  # the schema says what is wrong
    for key in block:
        if key in MOVED_KEYS:
            raise ConfigError(f"moved: write it as {where}.{MOVED_KEYS[key]} (TRL's own name)", key=f"{where}.{key}")
    lora = block.get("lora")
    if isinstance(lora, Mapping):
        for key in lora:
            if key in MOVED_LORA_KEYS:
                raise ConfigError(f"renamed: write it as {where}.lora.{MOVED_LORA_KEYS[key]} "
                                  f"(peft.LoraConfig's own name)", key=f"{where}.lora.{key}")


def check_stage_block(stage: str, block: Mapping[str, Any], where: str | None = None) -> None:
    """Every ``trainer`` key names a TRL config field and every ``lora`` key a LoraConfig field (the
    project's own keys are the schema's), and the method and the lora block go together."""
    where = where or stage_key(stage)
    check_moved_keys(block, where)
    cls = trainer_class(stage)
    _check_fields(block.get("trainer") or {}, set(cls.__dataclass_fields__), WORKFLOW_TRAINER_ARGS,
                  f"trl.{cls.__name__}", f"{where}.trainer")
    if block.get("lora") is not None:
        if block.get("method", PROJECT_KEYS["method"]["default"]) != "lora":
            raise ConfigError("a lora block needs method: lora", key=f"{where}.lora")
        _check_fields(block["lora"], lora_fields(), WORKFLOW_LORA_ARGS, "peft.LoraConfig", f"{where}.lora")
    elif block.get("method") == "lora":
        raise ConfigError("method 'lora' needs a 'lora' block (peft.LoraConfig arguments: r, lora_alpha, ...)",
                          key=f"{where}.lora")


def _check_fields(values: Mapping[str, Any], fields: set[str], reserved: Mapping[str, str], owner: str,
                  where: str) -> None:
    if not isinstance(values, Mapping):
        raise ConfigError(f"must be a mapping of {owner} arguments", key=where)
    for key in values:
        if key in reserved:
            raise ConfigError(f"set by the workflow: {reserved[key]}", key=f"{where}.{key}")
        if key not in fields:
            raise ConfigError(_unknown(key, fields, f"a field of {owner}"), key=f"{where}.{key}")


def _unknown(key: str, known, what: str) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return f"'{key}' is not {what}" + (f" (did you mean '{close[0]}'?)" if close else "")


def check_config_stages(config: Mapping[str, Any], source: str = "config") -> None:
    """:func:`check_block` on every stage block of a config (``stages`` and models' ``pretrain``)."""
    blocks = [(stage, block, f"stages.{stage}") for stage, block in (config.get("stages") or {}).items()]
    blocks += [("pretrain", model["pretrain"], f"models.{name}.pretrain")
               for name, model in (config.get("models") or {}).items() if isinstance(model, Mapping)
               and model.get("pretrain") is not None]
    for stage, block, where in blocks:
        try:
            check_block(stage, block, where)
        except ConfigError as error:
            raise error.located(source) from None


def check_moved_config_keys(config: Any, source: str = "config") -> None:
    """Before the schema: old stage keys get their new names rather than "additional property"."""
    if not isinstance(config, Mapping):
        return
    blocks = [(block, f"stages.{stage}") for stage, block in (config.get("stages") or {}).items()]
    blocks += [(model["pretrain"], f"models.{name}.pretrain") for name, model in (config.get("models") or {}).items()
               if isinstance(model, Mapping) and isinstance(model.get("pretrain"), Mapping)]
    for block, where in blocks:
        try:
            check_moved_keys(block, where)
        except ConfigError as error:
            raise error.located(source) from None


# --------------------------------------------------------------------------------------------
# Resolving a block

def resolve(stage: str, block: Mapping[str, Any] | None, cuda: bool, where: str | None = None) -> dict[str, Any]:
    """The stage block with every default filled in: project keys, ``trainer`` and ``lora``.

    The project keys' defaults are the config schema's. ``trainer`` holds the recipe defaults,
    then the block's own values; the workflow's own arguments (output directory, seed,
    step-dependent intervals) are added by :func:`trainer_arguments`. ``cuda``: whether this
    machine has CUDA (bf16 and pinned memory are for GPUs only).
    """
    where = where or stage_key(stage)
    check_moved_keys(block or {}, where)
    resolved = schema.resolved("stage", block, key=where)
    check_stage_block(stage, resolved, where)
    stage_defaults = {"sft": SFT_DEFAULTS, "grpo": GRPO_DEFAULTS}.get(stage, TEXT_DEFAULTS)
    trainer = {**RECIPE_DEFAULTS, "bf16": cuda, "dataloader_pin_memory": cuda, **stage_defaults,
               **resolved.get("trainer", {})}
    resolved["trainer"] = trainer
    gpus = resolved["gpus"]
    if resolved.get("processes") is None:
        resolved["processes"] = max(gpus, 1)  # one process per GPU; on CPU, one process
    processes = resolved["processes"]
    if gpus and processes != gpus:
        raise ConfigError(f"{processes} processes on {gpus} GPUs: each training process drives one GPU, so set "
                          "processes equal to gpus or leave it out (processes above 1 without GPUs are CPU "
                          "processes, for rehearsing the multi-GPU path)", key=f"{where}.processes")
    if resolved["method"] == "lora" and processes > 1:
        # An 8B model with LoRA adapters fits one GPU; merging adapters into FSDP-sharded
        # weights is a different save path, which this workflow does not take.
        raise ConfigError("LoRA trains in one process (gpus: 1, or 0 on CPU); several processes are for full "
                          "fine-tuning (FSDP)", key=f"{where}.processes" if gpus <= 1 else f"{where}.gpus")
    if stage == "pretrain" and processes > 1:
        raise ConfigError("pre-training the tiny model runs in one process (gpus: 0 or 1, processes: 1)",
                          key=f"{where}.processes" if gpus <= 1 else f"{where}.gpus")
    if processes > 1 and trainer.get("use_vllm") and trainer.get("vllm_mode", "colocate") == "colocate":
        raise ConfigError("vLLM colocate generation runs on one GPU here; use gpus: 1 or vllm_mode: server",
                          key=f"{where}.trainer.vllm_mode")
    if resolved.get("early_stopping_patience") and not resolved["validation_fraction"]:
        raise ConfigError("early stopping watches the eval loss: it needs validation_fraction above 0",
                          key=f"{where}.early_stopping_patience")
    return resolved


def check_block(stage: str, block: Mapping[str, Any], where: str | None = None) -> None:
    """Everything about a stage block that can be known before its job runs, as the job will see
    it: its keys, the project's rules (:func:`resolve`), TRL's and transformers' own checks of the
    values (:func:`check_trainer_values`), and, on several processes, that the accelerate config exists."""
    where = where or stage_key(stage)
    resolved = resolve(stage, block, cuda=False, where=where)
    check_trainer_values(stage, resolved, where)
    if resolved["processes"] > 1:
        accelerate_config_file(resolved["accelerate_config"], f"{where}.accelerate_config")


def accelerate_config_file(value: str, key: str) -> Path:
    """The accelerate config a stage names: relative to the working directory, else to the repository."""
    path = Path(value)
    if not path.is_absolute() and not path.exists():
        path = REPO / path
    if not path.is_file():
        raise ConfigError(f"accelerate config '{value}' not found (relative paths are read from the working "
                          f"directory, then from the repository, {REPO})", key=key)
    return path.resolve()


def trainer_arguments(stage: str, spec: Mapping[str, Any], seed: int, output_dir: str | Path, n_steps: int,
                      has_eval: bool) -> dict[str, Any]:
    """The TRL config's keyword arguments: the resolved block's ``trainer``, plus what belongs to the
    run (output folder, seed) and intervals the block leaves open (about 5 checkpoints and 25 log
    lines per run; with a validation split, an evaluation at every checkpoint and the best model
    loaded at the end)."""
    trainer = dict(spec["trainer"])
    where = f"{stage_key(stage)}.trainer"
    trainer.setdefault("save_steps", max(1, math.ceil(n_steps / CHECKPOINTS_PER_RUN)))
    trainer.setdefault("logging_steps", max(1, n_steps // LOG_LINES_PER_RUN))
    trainer.setdefault("per_device_eval_batch_size", trainer_value(stage, trainer, "per_device_train_batch_size"))
    if has_eval:
        trainer.setdefault("eval_strategy", "steps")
        trainer.setdefault("eval_steps", trainer["save_steps"])
        trainer.setdefault("load_best_model_at_end", True)
        trainer.setdefault("metric_for_best_model", "eval_loss")
    elif trainer.get("eval_strategy", "no") != "no" or trainer.get("load_best_model_at_end"):
        raise ConfigError("evaluation needs a validation split: set validation_fraction above 0",
                          key=f"{where}.eval_strategy")
    run = {"output_dir": str(output_dir), "seed": seed, "data_seed": seed}
    if stage != "grpo":
        run["dataset_text_field"] = "text"  # the normalised text format (conversations use `messages`)
    return {**trainer, **run}


# Steps assumed for the parse-time check, where the dataset's size is not known yet: they only
# set the default save and logging intervals, whose consistency does not depend on them.
CHECK_STEPS = 100


def check_trainer_values(stage: str, resolved: Mapping[str, Any], where: str) -> None:
    """Build the stage's TRL config from a resolved block, as the train job will, without touching
    this process's devices: ConfigError naming the key when TRL or transformers rejects a value.

    The config is built as on the job's machine, whatever this one has: it runs ``processes``
    processes (TRL's batch rules count them) and has the precision it asks for (the bf16 check
    needs the GPU, so it waits for the job). Nothing is written; warnings are the job's to give.
    """
    with tempfile.TemporaryDirectory() as output_dir:
        kwargs = trainer_arguments(stage, resolved, seed=0, output_dir=output_dir, n_steps=CHECK_STEPS,
                                   has_eval=resolved["validation_fraction"] > 0)
        cls = _offline_config_class(trainer_class(stage), resolved["processes"])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cls(**{**kwargs, "use_cpu": True})
        except (TypeError, ValueError) as error:
            raise ConfigError(_rejection(stage, resolved, error), key=_rejected_key(stage, resolved, error, where)) \
                from None


@functools.cache
def _offline_config_class(cls: type, processes: int) -> type:
    """``cls`` as it runs on ``processes`` processes, with its device set-up (accelerate's
    process-wide state, CUDA) replaced by the CPU, so building one has no side effects."""
    import torch

    def setup_devices(self):
        self._n_gpu = 0
        self.distributed_state = None
        return torch.device("cpu")

    return type(cls.__name__, (cls,), {
        "_setup_devices": functools.cached_property(setup_devices),
        "world_size": property(lambda self: processes),
        "__module__": cls.__module__,
    })


def _rejection(stage: str, resolved: Mapping[str, Any], error: Exception) -> str:
    message = f"trl.{trainer_class(stage).__name__} rejects it: {error}"
    trainer = resolved["trainer"]
    if stage == "grpo" and "generation_batch_size" in str(error) and "generation_batch_size" not in trainer:
        batch = trainer_value(stage, trainer, "per_device_train_batch_size")
        steps = trainer.get("steps_per_generation") or trainer_value(stage, trainer, "gradient_accumulation_steps")
        message += (f" (TRL's generation_batch_size is per_device_train_batch_size x steps_per_generation, "
                    f"else gradient_accumulation_steps, x processes: {batch} x {steps} x {resolved['processes']}; "
                    f"each step must hold whole groups of num_generations completions)")
    return message


def _rejected_key(stage: str, resolved: Mapping[str, Any], error: Exception, where: str) -> str:
    """The block's key the rejection is about: the first field the message names that the block sets."""
    trainer = resolved["trainer"]
    named = [field for field in re.findall(r"[a-z_][a-z0-9_]+", str(error)) if field in trainer]
    if not named and stage == "grpo" and "generations" in str(error):
        named = ["num_generations"]
    return f"{where}.trainer.{named[0]}" if named else f"{where}.trainer"


def field_default(stage: str, name: str) -> Any:
    """TRL's default for one field of the stage's config class."""
    import dataclasses

    field = trainer_class(stage).__dataclass_fields__[name]
    return field.default_factory() if field.default is dataclasses.MISSING else field.default


def trainer_value(stage: str, trainer: Mapping[str, Any], name: str) -> Any:
    """A trainer argument as the run will see it: the block's value, else TRL's default."""
    return trainer[name] if name in trainer else field_default(stage, name)


def reports_to(trainer: Mapping[str, Any]) -> list[str]:
    """The trainer's ``report_to`` as a list ("none" and "all" as TRL reads them)."""
    value = trainer.get("report_to", "none")
    names = [value] if isinstance(value, str) else list(value or [])
    return [name for name in names if name != "none"]
