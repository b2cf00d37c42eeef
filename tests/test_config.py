"""The config: schema validation and the condition tree's semantic checks."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from value_retention.cli import main as cli_main
from value_retention.config import (
    check_config,
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
    assert int(jobs["train"]) == n_conditions - 1
    assert int(jobs["download_dataset"]) == len(config["datasets"])


def test_plan_prints_gpu_hours_for_the_paper():
    from value_retention.plan import format_plan, plan

    paper = load_config(REPO / "config" / "paper.yaml")
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

    assert cli_main(["plan", "--config", str(REPO / "config" / "paper.yaml"), "--benchmarks", str(tmp_path)]) == 0
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


# ------------------------------------------------------------------------------------------------
# Typos and impossible settings, caught before any job

@pytest.mark.parametrize("change, key", [
    (lambda c: c["analysis"].update(reference_condition="bsae"), "analysis.reference_condition"),
    (lambda c: c["analysis"].update(transfer_ratio=["sft_magicoder", "bsae"]), "analysis.transfer_ratio.1"),
    (lambda c: c["analysis"]["contrasts"].append(["sft_dolly", "nowhere"]), "analysis.contrasts.7"),
    (lambda c: c["references"]["ahb"]["all"].update(sft_dooly=35.7), "references.ahb.all.sft_dooly"),
    (lambda c: c["references"].update(ahbb={"all": {"sft_dolly": 1.0}}), "references.ahbb"),
    (lambda c: c["references"]["moru"].update(englsh={"sft_dolly": 1.0}), "references.moru.englsh"),
    (lambda c: c["models"]["tiny_llama"].update(torch_dtype="bfloat16"), "models.tiny_llama.torch_dtype"),
    (lambda c: c["judges"].update(api={"type": "openai"}), "judges.api.model"),
    (lambda c: c["judges"].update(api={"type": "openai", "model": " "}), "judges.api.model"),
    (lambda c: c["judges"].update(api={"type": "openai", "model": "m", "base_url": "localhost:8000/v1"}),
     "judges.api.base_url"),
    (lambda c: c["judges"].update(api={"type": "openai", "model": "m", "base_url": "http:///v1"}),
     "judges.api.base_url"),
    (lambda c: c["judges"].update(api={"type": "openai", "model": "m", "base_url": "http://host:99999/v1"}),
     "judges.api.base_url"),
    (lambda c: c["judges"].update(api={"type": "openai", "model": "m", "base_url": "ftp://host/v1"}),
     "judges.api.base_url"),
])
def test_a_typo_or_impossible_setting_is_an_error_naming_the_key(tiny_config, tmp_path, change, key):
    change(tiny_config)
    with pytest.raises(ConfigError) as error:
        validate_schema(tiny_config)
        check_config(tiny_config)
    assert f"key '{key}'" in str(error.value)
    assert cli_main(["check-config", str(write(tmp_path, tiny_config))]) == 2  # check-config says so too


def test_an_openai_judge_with_a_model_and_a_good_base_url_passes(tiny_config):
    for url in ("https://generativelanguage.googleapis.com/v1beta/openai/", "http://judge-node:8000/v1",
                "http://127.0.0.1:8000/v1", None):
        tiny_config["judges"]["api"] = {"type": "openai", "model": "m", **({"base_url": url} if url else {})}
        check_config(tiny_config)


def paper_world(tiny_config):
    """The tiny config with what the paper world adds: a local dataset and an API judge."""
    tiny_config["datasets"]["dolly"] = {"source": "local", "path": "data/dolly.jsonl", "format": "dolly"}
    tiny_config["judges"]["api"] = {"type": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1",
                                    "api_key_env": "PREFLIGHT_TEST_KEY"}
    tiny_config["panel"] = ["lexical", "api"]
    return tiny_config


def test_preflight_names_missing_local_files_and_key_variables_for_the_jobs_about_to_run(
        tiny_config, tmp_path, monkeypatch):
    from value_retention.config import preflight

    config = paper_world(tiny_config)
    monkeypatch.delenv("PREFLIGHT_TEST_KEY", raising=False)
    keys = [error.key for error in preflight(config, workdir=tmp_path)]
    assert keys == ["datasets.dolly.path", "judges.api.api_key_env"]
    # Only for the jobs about to run: a re-run whose download and API judge jobs are done needs neither.
    assert preflight(config, [("train", {"condition": "sft_dolly", "seed": "0"})], workdir=tmp_path) == []
    assert [e.key for e in preflight(config, [("judge_api", {"bench": "ahb", "judge": "api"})],
                                     workdir=tmp_path)] == ["judges.api.api_key_env"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dolly.jsonl").write_text("{}\n")
    monkeypatch.setenv("PREFLIGHT_TEST_KEY", "set")
    assert preflight(config, workdir=tmp_path) == []


def test_a_workflow_needing_a_missing_file_or_key_fails_before_any_job(tiny_config, tmp_path, monkeypatch):
    """Snakemake's onstart: after the DAG is known, before the first job (not in dry runs)."""
    monkeypatch.delenv("PREFLIGHT_TEST_KEY", raising=False)
    path = write(tmp_path, paper_world(tiny_config))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(path),
               "--directory", str(tmp_path), "--cores", "1", "results/judgments/ahb/base/seed0/api.jsonl"]
    dry = subprocess.run([*command, "--dry-run"], capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr[-2000:]  # planning needs neither
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "key 'datasets.dolly.path'" in output and "key 'judges.api.api_key_env'" in output
    assert "PREFLIGHT_TEST_KEY" in output
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results").exists()  # no job ran


def test_check_config_warns_of_missing_local_files_and_unset_key_variables(tiny_config, tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.delenv("PREFLIGHT_TEST_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli_main(["check-config", str(write(tmp_path, paper_world(tiny_config)))]) == 0
    out = capsys.readouterr().out
    assert "warning: key 'datasets.dolly.path'" in out and "warning: key 'judges.api.api_key_env'" in out
