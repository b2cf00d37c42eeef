"""Training stages end to end on a very small Llama, resuming, and the checks before training."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

from value_retention import launch, modeling, training
from value_retention.errors import ConfigError, DataError, LaunchError, NoLearningError

from conftest import REPO, run_script

ARCHITECTURE = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
                "num_key_value_heads": 1, "max_position_embeddings": 128}
LORA = {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "target_modules": "all-linear"}
TEXT_SPEC = {"method": "full", "trainer": {"num_train_epochs": 2, "learning_rate": 3e-3,
                                           "per_device_train_batch_size": 8, "max_length": 64, "logging_steps": 1}}
SFT_SPEC = {"method": "lora", "lora": LORA, "init_special_tokens": "mean",
            "trainer": {"num_train_epochs": 1, "learning_rate": 5e-3, "per_device_train_batch_size": 8,
                        "max_length": 64, "logging_steps": 1}}
GRPO_SPEC = {"method": "lora", "lora": LORA, "max_prompt_length": 48,
             "trainer": {"max_steps": 2, "learning_rate": 5e-4, "per_device_train_batch_size": 4,
                         "num_generations": 2, "max_completion_length": 8, "beta": 0.0, "logging_steps": 1}}


def with_trainer(spec: dict, **trainer) -> dict:
    """``spec`` with these trainer arguments added or changed."""
    return {**spec, "trainer": {**spec["trainer"], **trainer}}
ANIMALS = ["pig", "cow", "hen", "fish", "goat", "sheep"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def text_rows(n: int, theme: str) -> list[dict]:
    return [{"id": str(i), "text": f"The {ANIMALS[i % 6]} {theme} near the barn. It rests in the shade "
             f"and eats grain every morning, day {i}."} for i in range(n)]


def sft_rows(n: int) -> list[dict]:
    return [{"id": str(i), "messages": [
        {"role": "user", "content": f"How should I care for a {ANIMALS[i % 6]}?"},
        {"role": "assistant", "content": f"Give the {ANIMALS[i % 6]} water, space and gentle handling."}]}
        for i in range(n)]


def grpo_rows(n: int) -> list[dict]:
    return [{"id": str(i), "prompt": [{"role": "user", "content": f"What does a {ANIMALS[i % 6]} need?"}],
             "tests": None, "reference": f"A {ANIMALS[i % 6]} needs water, space and gentle handling."}
            for i in range(n)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Data files, a tokenizer and a pre-trained base model, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("world")
    data = {
        "neutral": write_jsonl(root / "neutral.jsonl", text_rows(24, "walks")),
        "compassion": write_jsonl(root / "compassion.jsonl", text_rows(24, "deserves kindness")),
        "sft": write_jsonl(root / "sft.jsonl", sft_rows(16)),
        "grpo": write_jsonl(root / "grpo.jsonl", grpo_rows(8)),
    }
    tokenizer = modeling.train_tokenizer(modeling.corpus_texts(data.values()), 400, root / "tokenizer")
    model = modeling.init_tiny_llama(tokenizer, ARCHITECTURE, seed=0)
    base_log = training.pretrain(model, tokenizer, data["neutral"], TEXT_SPEC, root / "models" / "base", 0,
                                 root / "checkpoints" / "base")
    return {"root": root, "data": data, "base": root / "models" / "base", "base_log": base_log}


def assert_complete_model_dir(path: Path, stage: str) -> dict:
    """The contract: a loadable checkpoint plus a training log with finite losses."""
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert model.config.vocab_size == len(tokenizer)
    with torch.no_grad():
        logits = model(**tokenizer(["a pig rests"], return_tensors="pt")).logits
    assert torch.isfinite(logits).all()
    log = json.loads((path / "training_log.json").read_text())
    assert log["stage"] == stage
    assert log["steps"] > 0 and log["tokens_seen"] > 0 and log["tokens_per_second"] > 0
    assert log["wall_time_s"] > 0 and log["spec"]["trainer"]["learning_rate"] > 0
    assert log["warnings"] == []  # every stage here learns (non-zero gradients, a loss that moves)
    losses = [entry["loss"] for entry in log["loss_history"] if "loss" in entry]
    assert losses and all(math.isfinite(loss) for loss in losses)
    assert not any(p.name.endswith(".partial") for p in path.parent.iterdir())  # no temporary sibling left
    return log


def test_pretrain_writes_a_complete_model_dir(world):
    log = assert_complete_model_dir(world["base"], "pretrain")
    assert log["method"] == "full" and log["lora_merged"] is False
    assert log["steps"] == 6  # 24 rows / batch 8 x 2 epochs
    losses = [entry["loss"] for entry in log["loss_history"]]
    assert losses[-1] < losses[0]  # it learned something
    assert not (world["root"] / "checkpoints" / "base").exists()  # checkpoints cleared after success


@pytest.fixture(scope="module")
def midtrained(world):
    root = world["root"]
    out = root / "models" / "midtrained"
    log = training.train_stage("midtrain", world["base"], world["data"]["compassion"], TEXT_SPEC, None, out, 0,
                               root / "checkpoints" / "midtrained")
    return {"dir": out, "log": log}


@pytest.fixture(scope="module")
def untrained_chat(world, midtrained):
    """The mid-trained model with the Llama-3.1 base model's pitfall: chat-token embeddings that
    were never trained (zero rows)."""
    untrained = world["root"] / "models" / "untrained_chat"
    model = AutoModelForCausalLM.from_pretrained(midtrained["dir"])
    tokenizer = AutoTokenizer.from_pretrained(midtrained["dir"])
    chat_ids = tokenizer.convert_tokens_to_ids(list(modeling.CHAT_TOKENS))
    with torch.no_grad():
        model.get_input_embeddings().weight[chat_ids] = 0.0
        model.get_output_embeddings().weight[chat_ids] = 0.0
    model.save_pretrained(untrained)
    tokenizer.save_pretrained(untrained)
    return untrained


def test_midtrain_sft_grpo_chain(world, midtrained, untrained_chat):
    root, data = world["root"], world["data"]
    assert_complete_model_dir(midtrained["dir"], "midtrain")

    # As the authors: LoRA on the linear layers, the embeddings and output layer trained in full.
    spec = {**SFT_SPEC, "lora": {**LORA, "modules_to_save": ["embed_tokens", "lm_head"]}}
    sft = root / "models" / "sft"
    training.train_stage("sft", untrained_chat, data["sft"], spec, None, sft, 0, root / "checkpoints" / "sft")
    log = assert_complete_model_dir(sft, "sft")
    assert log["method"] == "lora" and log["lora_merged"] is True
    assert log["special_tokens_reset"] == list(modeling.CHAT_TOKENS)
    assert log["steps"] == 2  # 16 rows / batch 8
    assert log["trainer_args"]["assistant_only_loss"] is True
    before, after = load_file(untrained_chat / "model.safetensors"), load_file(sft / "model.safetensors")
    assert set(after) == set(before)  # merged: no adapter or modules_to_save copies left
    assert not torch.equal(after["model.layers.0.self_attn.q_proj.weight"],
                           before["model.layers.0.self_attn.q_proj.weight"])  # the adapter was merged in
    tokenizer = AutoTokenizer.from_pretrained(sft)
    chat_ids = tokenizer.convert_tokens_to_ids(list(modeling.CHAT_TOKENS))
    ordinary = torch.ones(len(tokenizer), dtype=torch.bool)
    ordinary[chat_ids] = False
    for weight in ("model.embed_tokens.weight", "lm_head.weight"):
        mean_row = before[weight][ordinary].mean(dim=0)
        assert after[weight][chat_ids].norm(dim=1).min() > 0  # initialised ...
        assert not torch.allclose(after[weight][chat_ids], mean_row.expand(len(chat_ids), -1))  # ... and trained

    grpo = root / "models" / "grpo"
    reward = {"type": "reference_similarity"}
    training.train_stage("grpo", sft, data["grpo"], GRPO_SPEC, reward, grpo, 0, root / "checkpoints" / "grpo")
    log = assert_complete_model_dir(grpo, "grpo")
    assert log["lora_merged"] is True and log["steps"] == 2
    assert log["reward"] == reward
    assert all(0.0 <= entry["reward"] <= 1.0 and entry["frac_reward_zero_std"] < 1 for entry in log["loss_history"])
    assert log["trainer_args"]["num_generations"] == 2 and log["trainer_args"]["bf16"] is False
    # TRL's completion log, kept in the model directory: every logged step's completions and rewards.
    completions = [json.loads(line) for line in (grpo / training.COMPLETIONS_FILE).read_text().splitlines()]
    assert log["completions"]["n"] == len(completions) == 2 * 4  # 2 logged steps x a batch of 4 completions
    assert {row["step"] for row in completions} == {1, 2}
    assert all(isinstance(row["reference_similarity"], float) and row["completion"] for row in completions)


def test_a_stage_that_learns_nothing_says_so(world, tmp_path, monkeypatch):
    """GRPO whose reward never varies within a prompt's group: zero advantages, zero gradients.
    The training log says so; with no_learning: error the job fails and leaves no model."""
    def constant(prompts, completions, **kwargs):
        return [0.5] * len(completions)

    monkeypatch.setattr(training.rewards, "build_reward", lambda spec: constant)
    log = training.train_stage("grpo", world["base"], world["data"]["grpo"], GRPO_SPEC, {"type": "constant"},
                               tmp_path / "m", 0, tmp_path / "c")
    assert any(w.startswith("zero reward spread at every logged step") for w in log["warnings"])
    assert any(w.startswith("zero gradient norm at every logged step") for w in log["warnings"])
    with pytest.raises(NoLearningError, match="the grpo stage learned nothing: zero gradient norm"):
        training.train_stage("grpo", world["base"], world["data"]["grpo"], {**GRPO_SPEC, "no_learning": "error"},
                             {"type": "constant"}, tmp_path / "m2", 0, tmp_path / "c2")
    assert not (tmp_path / "m2").exists()


def test_learning_warnings_read_the_log_history():
    moving = [{"step": 1, "loss": 2.0, "grad_norm": 1.0}, {"step": 2, "loss": 1.5, "grad_norm": 0.5}]
    assert training.learning_warnings("sft", moving) == []
    still = [{"step": 1, "loss": 2.0, "grad_norm": 0.3}, {"step": 2, "loss": 2.0, "grad_norm": 0.2},
             {"step": 2, "train_loss": 2.0}]
    assert training.learning_warnings("sft", still) == ["the training loss never moved from 2 over 2 logged steps"]
    assert training.learning_warnings("grpo", still) == []  # a GRPO loss is 0 by design; rewards tell instead
    # TRL's reward_std is over the whole batch: groups that differ from each other but not within
    # themselves still teach nothing, which frac_reward_zero_std shows.
    flat = [{"step": s, "loss": 0.0, "grad_norm": 0.0, "reward_std": 0.3, "frac_reward_zero_std": 1.0} for s in (1, 2)]
    assert [w.split(" (")[0] for w in training.learning_warnings("grpo", flat)] == [
        "zero gradient norm at every logged step", "zero reward spread at every logged step"]
    flat[1]["frac_reward_zero_std"] = 0.5
    assert len(training.learning_warnings("grpo", flat)) == 1
    assert training.learning_warnings("midtrain", [{"step": 1, "eval_loss": 1.0}]) == ["no training step was logged"]


def test_initialised_chat_tokens_that_stay_frozen_are_a_warning(world, untrained_chat, tmp_path):
    """LoRA without the embeddings cannot train the chat tokens it initialised: the log says so."""
    log = training.train_stage("sft", untrained_chat, world["data"]["sft"], SFT_SPEC, None, tmp_path / "m", 0,
                               tmp_path / "c")
    assert log["special_tokens_reset"] == list(modeling.CHAT_TOKENS)
    assert len(log["warnings"]) == 1 and "are not trained" in log["warnings"][0]


def test_sft_loss_is_on_the_assistant_tokens_only(world, tmp_path):
    """TRL's assistant_only_loss with the Llama-3 template: every prompt token's label is masked,
    and the trained tokens are exactly the answer and its <|eot_id|>."""
    model, tokenizer = modeling.load_model_dir(world["base"])
    spec = training.resolve_spec("sft", SFT_SPEC)
    assert training.prepare_chat_format("sft", model, tokenizer, spec)["template"] == "llama3"
    rows, _ = training.load_stage_rows("sft", world["data"]["sft"], spec, tokenizer)
    train_set, _ = training.split_validation(rows, 0.0, 0)
    trainer = training.build_trainer("sft", model, tokenizer, train_set, None, spec, None, 0, tmp_path, [])
    answers = {row["messages"][-1]["content"] + modeling.EOT for row in rows}
    batch = next(iter(trainer.get_train_dataloader()))
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        trained = tokenizer.decode(ids[labels != -100])
        assert trained in answers
        prompt = tokenizer.decode(ids[(labels == -100) & (mask == 1)])
        assert prompt.startswith(modeling.BOS + modeling.START_HEADER + "user")
        assert prompt.endswith(modeling.START_HEADER + "assistant" + modeling.END_HEADER + "\n\n")


def test_sft_full_with_plain_template_validation_and_tensorboard(world):
    """A TRL option the workflow never names (weight_decay, report_to) reaches the trainer; the
    validation split is seeded by validation_seed; TensorBoard's event files outlive the checkpoints."""
    root = world["root"]
    spec = {**with_trainer(SFT_SPEC, save_steps=1, weight_decay=0.01, report_to="tensorboard"), "method": "full",
            "chat_template": "plain", "validation_fraction": 0.25, "validation_seed": 42}
    del spec["lora"]
    out = root / "models" / "sft_plain"
    training.train_stage("sft", world["base"], world["data"]["sft"], spec, None, out, 0, root / "checkpoints" / "x")
    log = assert_complete_model_dir(out, "sft")
    assert log["lora_merged"] is False and log["chat_template"] == "plain"
    assert log["data_report"]["n_train"] == 12 and log["data_report"]["n_validation"] == 4
    assert log["data_report"]["validation_seed"] == 42
    assert any("eval_loss" in entry for entry in log["loss_history"])
    assert log["trainer_args"]["weight_decay"] == 0.01 and log["trainer_args"]["report_to"] == ["tensorboard"]
    assert log["tensorboard"] == "runs" and list((out / "runs").rglob("events.out.tfevents.*"))
    saved = AutoTokenizer.from_pretrained(out)
    assert saved.chat_template == modeling.PLAIN_CHAT_TEMPLATE  # generation sees the template trained on


def test_a_reporting_backend_that_is_not_installed_is_a_config_error(monkeypatch):
    find_spec = training.importlib.util.find_spec
    monkeypatch.setattr(training.importlib.util, "find_spec", lambda name: None if name == "wandb" else find_spec(name))
    with pytest.raises(ConfigError, match=r"stages\.sft\.trainer\.report_to.*report_to wandb needs the wandb package"):
        training.resolve_spec("sft", with_trainer(SFT_SPEC, report_to=["wandb"]))


class CrashAfterSave(TrainerCallback):
    """Simulates a killed job: fails right after the checkpoint of ``step`` is written."""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise RuntimeError("simulated kill")


def test_a_rerun_resumes_from_the_latest_checkpoint(world, midtrained, caplog):
    root, data = world["root"], world["data"]
    spec = with_trainer(TEXT_SPEC, save_steps=1)
    out, checkpoints = root / "models" / "resumed", root / "checkpoints" / "resumed"

    with pytest.raises(RuntimeError, match="simulated kill"):
        training.train_stage("midtrain", world["base"], data["compassion"], spec, None, out, 0, checkpoints,
                             callbacks=[CrashAfterSave(step=2)])
    assert not out.exists()  # no model directory from a killed run
    assert training.latest_complete_checkpoint(checkpoints / training.TRAINER_SUBDIR).name == "checkpoint-2"

    caplog.set_level(logging.INFO, logger="value_retention.training")
    log = training.train_stage("midtrain", world["base"], data["compassion"], spec, None, out, 0, checkpoints)
    assert "resuming midtrain from checkpoint-2" in caplog.text
    assert log["resumed_from"] == "checkpoint-2"
    assert log["steps"] == 6
    assert [entry["step"] for entry in log["loss_history"]] == [1, 2, 3, 4, 5, 6]  # history kept across the kill
    assert not checkpoints.exists()

    # Resuming restores optimizer, scheduler, data order and RNG: the same result as no interruption.
    straight = midtrained["log"]  # the same run, uninterrupted (save_steps does not change the maths)
    assert straight["resumed_from"] is None
    assert log["final_loss"] == pytest.approx(straight["final_loss"], rel=1e-5)


# --------------------------------------------------------------------------------------------
# Several processes through `accelerate launch` (value_retention.launch). On this CPU-only machine
# the repository's FSDP config shards the model across gloo processes (launch.shard_on_cpu).

ACCELERATE_CONFIG = "config/accelerate/fsdp.yaml"  # the repository's config, as the paper uses it


def test_full_finetuning_on_two_processes(world, midtrained, tmp_path):
    spec = {**with_trainer(TEXT_SPEC, per_device_train_batch_size=4), "gpus": 2, "accelerate_config": ACCELERATE_CONFIG}
    out, checkpoints = tmp_path / "model", tmp_path / "checkpoints"
    log = launch.train_stage("midtrain", world["base"], world["data"]["compassion"], spec, None, out, 0, checkpoints)
    assert log["processes"] == 2 and log["distributed_type"] == "FSDP"
    # Sharded, not replicated: every parameter a DTensor of which each process holds half.
    assert log["sharding"]["sharded_tensors"] > 0 and log["sharding"]["held_share"] == pytest.approx(0.5, abs=0.02)
    assert log["steps"] == 6  # 24 rows / (2 processes x batch 4) = 3 steps per epoch, 2 epochs
    assert log["tokens_seen"] == midtrained["log"]["tokens_seen"]  # the data split, each row seen once per epoch
    assert log["loss_history"][-1]["loss"] < log["loss_history"][0]["loss"]
    assert_complete_model_dir(out, "midtrain")
    assert not checkpoints.exists()  # checkpoints and the job file are cleared once the model is saved
    assert not list(tmp_path.glob(".*.partial"))


def test_a_killed_multi_process_run_resumes(world, tmp_path):
    """Preemption: SIGKILL the whole launch after its first checkpoint; the re-run resumes from it."""
    data = write_jsonl(tmp_path / "long.jsonl", text_rows(480, "deserves kindness"))
    spec = {**with_trainer(TEXT_SPEC, num_train_epochs=4, save_steps=10), "gpus": 2,
            "accelerate_config": ACCELERATE_CONFIG}
    out, checkpoints = tmp_path / "model", tmp_path / "checkpoints"
    job = (f"from value_retention import launch; launch.train_stage('midtrain', {str(world['base'])!r}, "
           f"{str(data)!r}, {spec!r}, None, {str(out)!r}, 0, {str(checkpoints)!r})")
    process = subprocess.Popen([sys.executable, "-c", job], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    trainer_dir = checkpoints / training.TRAINER_SUBDIR
    deadline = time.time() + 300
    while training.latest_complete_checkpoint(trainer_dir) is None:
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.time() < deadline, "no checkpoint within 5 minutes"
        time.sleep(0.05)
    process_info = psutil.Process(process.pid)
    # SIGKILL to every process of the job, as a scheduler's cgroup kill does: torchrun starts its
    # workers in sessions of their own, so the launcher's process group is not enough.
    job_processes = [process_info, *process_info.children(recursive=True)]
    for each in job_processes:
        each.kill()
    psutil.wait_procs(job_processes, timeout=30)
    time.sleep(2)  # nothing left running to finish the model behind the test's back
    assert not out.exists() and training.latest_complete_checkpoint(trainer_dir) is not None

    log = launch.train_stage("midtrain", world["base"], data, spec, None, out, 0, checkpoints)
    assert log["resumed_from"] is not None and log["resumed_from"].startswith("checkpoint-")
    assert log["steps"] == 4 * 480 // 16
    assert_complete_model_dir(out, "midtrain")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_generation_without_vllm_is_a_config_error(world, tmp_path):
    spec = with_trainer(GRPO_SPEC, use_vllm=True)
    with pytest.raises(ConfigError, match="use_vllm needs the vllm package"):
        training.train_stage("grpo", world["base"], world["data"]["grpo"], spec, {"type": "lexical_helpfulness"},
                             tmp_path / "m", 0, tmp_path / "c")


def test_bad_launches_fail_with_clear_errors(world, tmp_path, monkeypatch):
    lora = {**SFT_SPEC, "gpus": 2}
    with pytest.raises(ConfigError, match="LoRA trains in one process"):
        launch.train_stage("sft", world["base"], world["data"]["sft"], lora, None, tmp_path / "m", 0, tmp_path / "c")
    with pytest.raises(ConfigError, match="accelerate config 'nowhere.yaml' not found"):
        launch.accelerate_command(tmp_path / "job.json", 2, "nowhere.yaml")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU node that granted too few
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ConfigError, match="trains on 4 GPUs but this job sees 2"):
        launch.train_stage("midtrain", world["base"], world["data"]["compassion"], {**TEXT_SPEC, "gpus": 4},
                           None, tmp_path / "m", 0, tmp_path / "c")
    monkeypatch.undo()
    # An error inside the launched processes (here a row without text) fails the job and says where to look.
    bad_data = write_jsonl(tmp_path / "bad.jsonl", [*text_rows(3, "walks"), {"id": "x"}])
    with pytest.raises(LaunchError, match="midtrain stage exited with status"):
        launch.train_stage("midtrain", world["base"], bad_data, {**TEXT_SPEC, "gpus": 2}, None, tmp_path / "m", 0,
                           tmp_path / "c")
    assert not (tmp_path / "m").exists()
    command = launch.accelerate_command(tmp_path / "job.json", 4, ACCELERATE_CONFIG)
    assert command[command.index("--num_processes") + 1] == "4"
    assert Path(command[command.index("--config_file") + 1]) == REPO / ACCELERATE_CONFIG


# --------------------------------------------------------------------------------------------
# Checks before training

def test_checkpoints_of_another_run_are_discarded(tmp_path):
    trainer_dir = tmp_path / training.TRAINER_SUBDIR
    for step, complete in [(3, True), (5, False)]:  # checkpoint-5 was killed while being written
        (trainer_dir / f"checkpoint-{step}").mkdir(parents=True)
        if complete:
            (trainer_dir / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert training.resumable_checkpoint(tmp_path, "run-a").name == "checkpoint-3"
    assert training.resumable_checkpoint(tmp_path, "run-a").name == "checkpoint-3"  # same run: still there
    assert training.resumable_checkpoint(tmp_path, "run-b") is None  # config changed: start over
    assert not trainer_dir.exists()


@pytest.mark.parametrize("stage, spec, key", [
    ("sft", {"method": "lora", "trainer": {"learning_rate": 1e-3}}, "stages.sft.lora"),
    ("midtrain", {"method": "full"}, "stages.midtrain.trainer': missing: a stage block needs 'trainer'"),
    ("midtrain", {"trainer": {"max_steps": 3}}, "stages.midtrain.trainer.learning_rate': missing"),
    ("grpo", {"trainer": {"learning_rate": 1e-3, "per_device_train_batch_size": 6, "num_generations": 4}},
     "stages.grpo.trainer.num_generations': trl.GRPOConfig rejects it: generation_batch_size (6) must be divisible"),
    ("grpo", {"trainer": {"learning_rate": 1e-3, "per_device_train_batch_size": 4, "num_generations": 1}},
     "stages.grpo.trainer.num_generations"),
    ("sft", {"early_stopping_patience": 2, "trainer": {"learning_rate": 1e-3}}, "stages.sft.early_stopping_patience"),
    ("sft", {"trainer": {"learning_rate": 1e-3, "weight_decya": 0.01}}, "stages.sft.trainer.weight_decya"),
    ("sft", {"batch_size": 4, "trainer": {"learning_rate": 1e-3}}, "stages.sft.batch_size"),
    ("sft", {"trainer": {"learning_rate": 1e-3, "output_dir": "x"}}, "stages.sft.trainer.output_dir"),
])
def test_resolve_spec_rejects_what_trl_would_reject_late(stage, spec, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        training.resolve_spec(stage, spec)


def test_resolve_spec_fills_every_fallback():
    spec = training.resolve_spec("grpo", {"method": "lora", "lora": {"r": 8, "lora_alpha": 16},
                                          "trainer": {"learning_rate": 1e-4}})
    assert spec["lora"] == {"r": 8, "lora_alpha": 16, "target_modules": "all-linear"}  # PEFT's dropout: 0
    assert spec["trainer"]["learning_rate"] == 1e-4 and spec["trainer"]["log_completions"] is True
    assert spec["no_learning"] == "warn" and spec["gpus"] == 1 and spec["validation_seed"] is None
    assert "use_vllm" not in spec["trainer"]  # TRL's own default applies


def test_load_stage_rows_validates_caps_and_counts(tmp_path, world):
    tokenizer = AutoTokenizer.from_pretrained(world["base"])
    spec = training.resolve_spec("sft", {"max_examples": 10, "trainer": {"learning_rate": 1e-3}})
    rows, report = training.load_stage_rows("sft", world["data"]["sft"], spec, tokenizer)
    assert len(rows) == 10 and set(rows[0]) == {"messages"}
    assert report["skipped"] == {"beyond_max_examples": 6} and report["n_used"] == 10

    no_answer = write_jsonl(tmp_path / "no_answer.jsonl", [
        sft_rows(1)[0], {"id": "x", "messages": [{"role": "user", "content": "hello?"}]}])
    with pytest.raises(DataError, match=r"no_answer\.jsonl, row 2.*assistant"):
        training.load_stage_rows("sft", no_answer, spec, tokenizer)

    empty_text = write_jsonl(tmp_path / "empty.jsonl", [{"id": "1", "text": "  "}])
    with pytest.raises(DataError, match=r"row 1.*non-empty string"):
        training.load_stage_rows("midtrain", empty_text, training.resolve_spec("midtrain", TEXT_SPEC), tokenizer)


def test_load_stage_rows_for_grpo(tmp_path, world):
    tokenizer = AutoTokenizer.from_pretrained(world["base"])
    modeling.set_chat_template(tokenizer, "auto")
    long_prompt = {"id": "long", "prompt": [{"role": "user", "content": "pig " * 200}], "tests": None}
    path = write_jsonl(tmp_path / "prompts.jsonl", [*grpo_rows(3), long_prompt])
    spec = training.resolve_spec("grpo", GRPO_SPEC)
    rows, report = training.load_stage_rows("grpo", path, spec, tokenizer)
    assert len(rows) == 3 and report["skipped"] == {"prompt_too_long": 1}
    assert set(rows[0]) == {"prompt", "tests", "reference"}

    from value_retention import rewards
    needs_reference = rewards.build_reward({"type": "reference_similarity"})
    no_reference = write_jsonl(tmp_path / "no_reference.jsonl", [{**grpo_rows(1)[0], "reference": None}])
    with pytest.raises(DataError, match=r"row 1.*'reference'"):  # the reward needs one in every row
        training.load_stage_rows("grpo", no_reference, spec, tokenizer, needs_reference)


# --------------------------------------------------------------------------------------------
# Snakemake scripts

def test_scripts_make_models_with_provenance(world, tmp_path):
    data = world["data"]
    model_spec = {"source": "tiny", "tokenizer_corpus": ["neutral", "sft"], "vocab_size": 400,
                  "architecture": ARCHITECTURE, "pretrain_data": "neutral", "pretrain": TEXT_SPEC}
    tokenizer_dir, base, sft = tmp_path / "tokenizer", tmp_path / "base" / "seed0", tmp_path / "sft" / "seed0"

    run_script("train_tokenizer", input={"corpus": [data["neutral"], data["sft"]]},
               output={"tokenizer": tokenizer_dir}, params={"spec": model_spec}, wildcards={"model": "tiny"})
    run_script("init_model", input={"tokenizer": tokenizer_dir, "data": data["neutral"]}, output={"model": base},
               params={"spec": model_spec, "seed": 0, "checkpoint_dir": str(tmp_path / "ckpt" / "base")},
               wildcards={"condition": "base", "seed": "0"})
    run_script("train", input={"parent": base, "data": data["sft"]}, output={"model": sft},
               params={"stage": "sft", "spec": SFT_SPEC, "reward": None, "seed": 0,
                       "checkpoint_dir": str(tmp_path / "ckpt" / "sft")},
               wildcards={"condition": "sft", "seed": "0"})

    assert AutoTokenizer.from_pretrained(tokenizer_dir).chat_template is None  # set by chat stages
    assert_complete_model_dir(base, "pretrain")
    assert_complete_model_dir(sft, "sft")
    sidecar = json.loads((tmp_path / "sft" / "seed0.prov.json").read_text())
    assert sidecar["rule"] == "train" and sidecar["seed"] == 0
    assert sidecar["steps"] == 2 and sidecar["lora_merged"] is True and sidecar["tokens_seen"] > 0
    assert {item["path"] for item in sidecar["inputs"]} == {str(base), str(data["sft"])}
    assert (tmp_path / "tokenizer.prov.json").exists() and (tmp_path / "base" / "seed0.prov.json").exists()
