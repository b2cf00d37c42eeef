"""The config: schema validation and the condition tree's semantic checks."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from value_retention.cli import main as cli_main
from value_retention.config import (
    check_config,
    check_moved_keys,
    condition_order,
    language_group,
    lineage,
    load_config,
    root_model,
    validate_schema,
)
from value_retention.errors import ConfigError, DataError

from conftest import REPO


def write(tmp_path, config):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_tiny_default_is_valid_and_ordered():
    config = load_config(REPO / "config" / "config.yaml")
    order = condition_order(config)
    assert order[:2] == ["base", "midtrained"]
    assert set(order) == set(config["conditions"])
    assert lineage(config, "grpo_magicoder") == ["base", "midtrained", "grpo_magicoder"]
    assert root_model(config, "sft_dolly") == "tiny_llama"


def test_schema_error_names_the_key(tiny_config, tmp_path):
    tiny_config["generation"]["epochs"] = 0
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, tiny_config))
    assert "generation.epochs" in str(error.value)
    assert "config.yaml" in str(error.value)


def test_unknown_top_level_key_is_rejected(tiny_config):
    tiny_config["sedes"] = [0]
    with pytest.raises(ConfigError, match="sedes"):
        validate_schema(tiny_config)


def test_condition_needs_init_or_parent(tiny_config):
    tiny_config["conditions"]["orphan"] = {"stage": "sft", "data": "dolly"}
    with pytest.raises(ConfigError, match="conditions.orphan"):
        validate_schema(tiny_config)


def test_unknown_parent(tiny_config):
    tiny_config["conditions"]["sft_dolly"]["from"] = "midtrianed"
    with pytest.raises(ConfigError) as error:
        check_config(tiny_config)
    assert "conditions.sft_dolly.from" in str(error.value)
    assert "midtrianed" in str(error.value)


def test_cycle_is_reported_with_its_path(tiny_config):
    tiny_config["conditions"]["a"] = {"from": "b", "stage": "sft", "data": "dolly"}
    tiny_config["conditions"]["b"] = {"from": "a", "stage": "sft", "data": "dolly"}
    with pytest.raises(ConfigError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        check_config(tiny_config)


@pytest.mark.parametrize("key, value, message", [
    ("data", "dolly_v2", "dataset 'dolly_v2' is not declared"),
    ("stage", "dpo", None),  # the schema's enum catches it
    ("reward", "kindness", "reward 'kindness' is not declared"),
])
def test_unknown_names(tiny_config, key, value, message):
    tiny_config["conditions"]["grpo_rlhflow"][key] = value
    with pytest.raises(ConfigError) as error:
        validate_schema(tiny_config)
        check_config(tiny_config)
    assert "grpo_rlhflow" in str(error.value)
    if message:
        assert message in str(error.value)


def test_stage_and_data_format_must_fit(tiny_config):
    tiny_config["conditions"]["sft_dolly"]["data"] = "compassion_docs"
    with pytest.raises(ConfigError, match="format 'text'"):
        check_config(tiny_config)


def test_adding_a_condition_is_a_config_change(tiny_config):
    tiny_config["conditions"]["sft_mix"] = {"from": "sft_dolly", "stage": "sft", "data": "magicoder"}
    check_config(tiny_config)
    assert lineage(tiny_config, "sft_mix") == ["base", "midtrained", "sft_dolly", "sft_mix"]
    assert condition_order(tiny_config).index("sft_mix") > condition_order(tiny_config).index("sft_dolly")


def test_language_groups():
    assert language_group("English") == "english"
    assert language_group("english ") == "english"
    assert language_group("Malay") == "non_english"


def test_snakemake_rejects_a_bad_config_before_any_job(tiny_config, tmp_path):
    """The Snakefile validates at parse time: a dry run fails with the key named."""
    tiny_config["conditions"]["sft_dolly"]["from"] = "nowhere"
    path = write(tmp_path, tiny_config)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(path),
         "--directory", str(tmp_path), "--dry-run", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "conditions.sft_dolly.from" in result.stdout + result.stderr


def test_paper_config_is_valid_and_plans_the_full_dag():
    """The paper's experiment: schema-valid, and a dry run lists every condition x benchmark x judge."""
    config = load_config(REPO / "config" / "paper.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile",
         str(REPO / "config" / "paper.yaml"), "--dry-run", "--quiet", "rules"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = dict(line.split() for line in result.stdout.splitlines()
                if len(line.split()) == 2 and line.split()[1].isdigit())
    n_conditions, n_benchmarks = len(config["conditions"]), len(config["benchmarks"])
    assert int(jobs["generate"]) == n_conditions * len(config["seeds"]) * n_benchmarks
    assert int(jobs["judge_api"]) == int(jobs["generate"]) * len(config["panel"])
    trained = [spec for spec in config["conditions"].values() if "stage" in spec]
    assert int(jobs["train"]) == len(trained)
    assert int(jobs["download_dataset"]) == len({spec["data"] for spec in trained})


def paper_midtraining_here() -> dict:
    """The paper config with its documented alternative: the base mid-trained here (4 GPUs, FSDP)
    instead of the authors' published checkpoint."""
    paper = load_config(REPO / "config" / "paper.yaml")
    paper["conditions"]["midtrained"] = {"from": "base", "stage": "midtrain", "data": "compassion_docs"}
    return paper


def test_plan_prints_gpu_hours_for_the_paper():
    from value_retention.plan import format_plan, plan

    paper = paper_midtraining_here()
    rows = plan(paper, profile=REPO / "slurm" / "profile.yaml")
    by_rule = {row.rule: row for row in rows}
    assert [by_rule[f"train/{stage}"].jobs for stage in ("midtrain", "sft", "grpo")] == [1, 2, 2]
    # Each stage's own GPU count: FSDP mid-training on several, LoRA on one.
    assert by_rule["train/midtrain"].gpus_per_job == paper["stages"]["midtrain"]["gpus"] > 1
    assert by_rule["train/sft"].gpus_per_job == by_rule["train/grpo"].gpus_per_job == 1
    # Mid-training: 3,000 documents x 1,500 tokens x 6N / achieved FLOP/s, whatever the GPU count.
    expected = 3000 * 1500 * 6 * paper["planning"]["parameters"] / paper["planning"]["achieved_flops"]["midtrain"]
    assert by_rule["train/midtrain"].gpu_hours == pytest.approx(expected / 3600)
    assert by_rule["generate"].gpu_hours > 0
    text = format_plan(rows)
    assert "total" in text and f"{sum(row.gpu_hours for row in rows):.1f}" in text.splitlines()[-1]


def test_plan_takes_the_gpu_type_from_the_site_variables(monkeypatch):
    from value_retention.plan import plan

    monkeypatch.setenv("VR_SLURM_GPU_MODEL", "h100")
    rows = plan(load_config(REPO / "config" / "paper.yaml"), profile=REPO / "slurm" / "profile.yaml")
    assert {row.gpu_model for row in rows if row.rule != "judge"} == {"h100"}


def test_plan_prints_measured_runtime_and_memory_beside_the_estimates(tmp_path, capsys):
    """Snakemake's own benchmark files, as the train, generate and judge rules write them."""
    from snakemake.benchmark import BenchmarkRecord, write_benchmark_records

    def job(path: str, seconds: float, rss_mb: float | None) -> None:
        record = BenchmarkRecord(running_time=seconds, max_rss=rss_mb)
        record.data_collected = rss_mb is not None  # otherwise Snakemake writes NA for memory
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        write_benchmark_records([record], str(tmp_path / path), False)

    job("train/midtrained/seed0.tsv", 2 * 3600, 90_000)     # 4 GPUs (the paper's midtrain gpus)
    job("train/sft_dolly/seed0.tsv", 1800, 40_000)
    job("train/sft_magicoder/seed0.tsv", 3600, 50_000)
    job("generate/ahb/base/seed0.tsv", 900, None)           # memory not measured: shown as "-"
    job("judge/ahb/base/seed0/gemini_flash_lite.tsv", 600, 300)

    alternative = tmp_path / "paper-midtraining.yaml"
    alternative.write_text(yaml.safe_dump(paper_midtraining_here()))
    assert cli_main(["plan", "--config", str(alternative), "--benchmarks", str(tmp_path)]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    # rule jobs GPUs/job GPU tokens GPU-hours | run GPU-h max-h max-GiB note...
    assert rows["train/midtrain"][7:11] == ["1", "8.00", "2.00", "87.89"]
    assert rows["train/sft"][7:11] == ["2", "1.50", "1.00", "48.83"]
    assert rows["train/grpo"][7:11] == ["-", "-", "-", "-"]
    assert rows["generate"][7:11] == ["1", "0.25", "0.25", "-"]
    assert rows["judge"][7:11] == ["1", "0.17", "0.17", "0.29"]
    assert rows["total"][-2:] == ["5", "9.92"]


def test_plan_names_a_missing_benchmarks_folder(tmp_path):
    from value_retention.plan import measured

    with pytest.raises(DataError, match="absent: no such benchmarks folder"):
        measured(load_config(REPO / "config" / "paper.yaml"), tmp_path / "absent")


def test_scorer_version_per_benchmark_falls_back_to_the_top_level_then_current(tiny_config):
    from value_retention.config import benchmark_scorer_version

    assert benchmark_scorer_version(tiny_config, "ahb") == "paper_era"  # the tiny config's top level
    tiny_config["benchmarks"]["moru"]["scorer_version"] = "current"
    assert benchmark_scorer_version(tiny_config, "moru") == "current"
    del tiny_config["scorer_version"]
    assert benchmark_scorer_version(tiny_config, "ahb") == "current"
    tiny_config["benchmarks"]["ahb"]["scorer_version"] = "paper_eraa"
    with pytest.raises(ConfigError, match="benchmarks.ahb.scorer_version"):
        validate_schema(tiny_config)
    paper = load_config(REPO / "config" / "paper.yaml")
    assert {benchmark_scorer_version(paper, bench) for bench in paper["benchmarks"]} == {"paper_era"}
    assert all(paper["judges"]["gemini_flash_lite"][key] is None for key in ("temperature", "top_p", "max_tokens"))


def test_judge_sampling_accepts_null_and_rejects_nonsense(tiny_config):
    tiny_config["judges"]["api"] = {"type": "openai", "model": "m", "temperature": None, "top_p": None,
                                    "max_tokens": None}
    validate_schema(tiny_config)
    tiny_config["judges"]["api"]["max_tokens"] = 0
    with pytest.raises(ConfigError, match="judges.api.max_tokens"):
        validate_schema(tiny_config)


# --------------------------------------------------------------------------------------------
# Stage blocks: `trainer` goes to TRL's config, `lora` to PEFT's, both checked against their fields

def check_config_cli(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "value_retention.cli", "check-config", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_check_config_takes_any_trl_argument_and_names_an_unknown_one(tiny_config, tmp_path):
    tiny_config["stages"]["sft"]["trainer"]["weight_decay"] = 0.01
    result = check_config_cli(write(tmp_path, tiny_config))
    assert result.returncode == 0, result.stderr
    del tiny_config["stages"]["sft"]["trainer"]["weight_decay"]
    tiny_config["stages"]["sft"]["trainer"]["weight_decya"] = 0.01
    result = check_config_cli(write(tmp_path, tiny_config))
    assert result.returncode == 2
    assert "stages.sft.trainer.weight_decya" in result.stderr
    assert "not a field of trl.SFTConfig (did you mean 'weight_decay'?)" in result.stderr


@pytest.mark.parametrize("edit, key, message", [
    (lambda c: c["stages"]["grpo"]["trainer"].update(num_generatons=4), "stages.grpo.trainer.num_generatons",
     "not a field of trl.GRPOConfig (did you mean 'num_generations'?)"),
    (lambda c: c["stages"]["sft"]["lora"].update(lora_dropuot=0.1), "stages.sft.lora.lora_dropuot",
     "not a field of peft.LoraConfig (did you mean 'lora_dropout'?)"),
    (lambda c: c["stages"]["sft"].update(batch_size=4), "stages.sft.batch_size",
     "moved: write it as stages.sft.trainer.per_device_train_batch_size"),
    (lambda c: c["stages"]["sft"]["lora"].update(alpha=16), "stages.sft.lora.alpha",
     "renamed: write it as stages.sft.lora.lora_alpha"),
    (lambda c: c["models"]["tiny_llama"]["pretrain"].update(epochs=2), "models.tiny_llama.pretrain.epochs",
     "moved: write it as models.tiny_llama.pretrain.trainer.num_train_epochs"),
    (lambda c: c["stages"]["midtrain"]["trainer"].update(output_dir="x"), "stages.midtrain.trainer.output_dir",
     "set by the workflow"),
    (lambda c: c["stages"]["midtrain"]["trainer"].update(hub_token="hf_x"), "stages.midtrain.trainer.hub_token",
     "HF_TOKEN in the environment"),
])
def test_stage_block_errors_name_the_key(tiny_config, edit, key, message):
    """load_config's checks in order: moved keys, the schema, then the semantic checks."""
    edit(tiny_config)
    with pytest.raises(ConfigError) as error:
        check_moved_keys(tiny_config)
        validate_schema(tiny_config)
        check_config(tiny_config)
    assert f"key '{key}'" in str(error.value) and message in str(error.value)


def test_the_workflow_rejects_a_misspelt_trainer_key_at_parse_time(tiny_config, tmp_path):
    tiny_config["stages"]["grpo"]["trainer"]["learning_rat"] = 1e-5
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
         "--configfile", str(write(tmp_path, tiny_config)),
         "--directory", str(tmp_path), "--dry-run", "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "stages.grpo.trainer.learning_rat" in result.stdout + result.stderr
