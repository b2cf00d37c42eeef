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


def write(tmp_path, config, name="config.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config) if not isinstance(config, str) else config)
    return path


def dry_run(workdir, *args) -> subprocess.CompletedProcess:
    """The workflow's dry run in ``workdir``, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                           str(workdir), "--dry-run", "--quiet", "rules", *args],
                          capture_output=True, text=True, timeout=300, cwd=workdir)


def job_counts(result: subprocess.CompletedProcess) -> dict[str, int]:
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return {line.split()[0]: int(line.split()[1]) for line in result.stdout.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}


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


def test_plan_runs_on_a_world_that_trains_on_cpu():
    """The tiny and rehearsal worlds ask for no GPUs (gpus: 0): the plan still says what each costs."""
    from value_retention.plan import format_plan, plan

    for name in ("config.yaml", "rehearsal.yaml"):
        rows = plan(load_config(REPO / "config" / name), profile=REPO / "slurm" / "profile.yaml")
        train = [row for row in rows if row.rule.startswith("train/")]
        assert train and all(row.gpus_per_job == 0 and "on CPU" in row.note for row in train)
        assert "total" in format_plan(rows)


def test_leaving_out_the_reference_condition_means_none(tmp_path):
    """The schema's default (null) is no baseline, not a condition named None."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    del config["analysis"]["reference_condition"]
    assert load_config(write(tmp_path, config))["analysis"]["reference_condition"] is None
    config["analysis"]["reference_condition"] = None
    assert load_config(write(tmp_path, config))["analysis"]["reference_condition"] is None


def test_a_tiny_model_needs_its_pretraining_before_any_job(tiny_config):
    del tiny_config["models"]["tiny_llama"]["pretrain"]
    with pytest.raises(ConfigError, match=r"key 'models\.tiny_llama(\.pretrain)?'.*pretrain"):
        validate_schema(tiny_config)


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
        check_moved_keys(tiny_config)
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


def test_a_local_dataset_nothing_uses_needs_no_file(tmp_path, monkeypatch):
    """The paper config names the mid-training corpus for its documented alternative only."""
    from value_retention.config import preflight

    monkeypatch.setenv("GEMINI_API_KEY", "set")
    paper = load_config(REPO / "config" / "paper.yaml")
    assert paper["datasets"]["compassion_docs"]["source"] == "local"
    assert preflight(paper, workdir=tmp_path) == []
    paper["conditions"]["midtrained"] = {"from": "base", "stage": "midtrain", "data": "compassion_docs"}
    assert [error.key for error in preflight(paper, workdir=tmp_path)] == ["datasets.compassion_docs.path"]


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


@pytest.mark.parametrize("edit, key", [
    (lambda trainer: trainer.update(learning_rat=1e-5), "stages.grpo.trainer.learning_rat"),
    (lambda trainer: trainer.update(per_device_train_batch_size=6), "stages.grpo.trainer.num_generations"),
])
def test_the_workflow_rejects_a_bad_stage_block_at_parse_time(tiny_config, tmp_path, edit, key):
    """A misspelt TRL field, and a value TRL itself rejects: the dry run fails before any job."""
    edit(tiny_config["stages"]["grpo"]["trainer"])
    result = dry_run(tmp_path, "--configfile", str(write(tmp_path, tiny_config)))
    assert result.returncode != 0
    assert f"key '{key}'" in result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# Each entry's keys depend on its source or type: an unknown one is named, with what it may be

@pytest.mark.parametrize("edit, key, message", [
    # The typo users hit: a hub dataset's `max_row` was accepted and every row written.
    (lambda c: c["datasets"].update(dolly={"source": "hub", "repo": "r", "format": "dolly", "max_row": 5}),
     "datasets.dolly.max_row", "unknown key (did you mean 'max_rows'?); a hub dataset takes format, max_rows, "
     "repo, revision, shuffle_seed, source, split, text_field"),
    (lambda c: c["datasets"]["dolly"].update(max_rows=5), "datasets.dolly.max_rows",
     "unknown key; a tiny dataset takes format, generator, n, source"),
    (lambda c: c["models"]["tiny_llama"].update(revision="main"), "models.tiny_llama.revision",
     "unknown key; a tiny model takes architecture, pretrain, pretrain_data, source, tokenizer_corpus, vocab_size"),
    (lambda c: c["judges"]["lexical"].update(min_match=2), "judges.lexical.min_match",
     "unknown key (did you mean 'min_matches'?); a lexical judge takes min_matches, type"),
    (lambda c: c["judges"].update(api={"type": "openai", "model": "m", "temprature": 0}), "judges.api.temprature",
     "unknown key (did you mean 'temperature'?); an openai judge takes api_key_env, backoff_s"),
    (lambda c: c["rewards"]["code"].update(timeout=2), "rewards.code.timeout",
     "unknown key (did you mean 'timeout_s'?); a code reward takes generated_inputs, memory_mb"),
    (lambda c: c["rewards"]["helpfulness"].update(model="m"), "rewards.helpfulness.model",
     "unknown key; a reward takes type"),
    (lambda c: c["benchmarks"]["moru"].update(source="hub", questions_config="q"), "benchmarks.moru.questions_config",
     "unknown key; a hub MORU benchmark takes dimensions_repo, dimensions_revision, format, languages"),
    (lambda c: c["conditions"]["base"].update(stage="sft"), "conditions.base.stage",
     "unknown key; a root condition takes description, init, prompt_format"),
    (lambda c: c["stages"]["sft"].update(validaton_fraction=0.1), "stages.sft.validaton_fraction",
     "unknown key (did you mean 'validation_fraction'?); a stage block takes accelerate_config"),
    (lambda c: c["datasets"]["dolly"].update(source="hubb"), "datasets.dolly.source",
     "'hubb' is not one of tiny, hub, local (did you mean 'hub'?)"),
])
def test_an_unknown_key_is_named_with_the_keys_its_entry_takes(tiny_config, edit, key, message):
    edit(tiny_config)
    with pytest.raises(ConfigError) as error:
        validate_schema(tiny_config)
    assert f"key '{key}': {message}" in str(error.value)


def test_a_typo_in_a_dataset_fails_before_any_job_naming_the_file(tiny_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files are named as given, relative to the working directory
    tiny_config["datasets"]["rlhflow_prompts"] = {"source": "hub", "repo": "RLHFlow/prompt-collection-v0.1",
                                                  "format": "rlhflow", "max_row": 5}
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, tiny_config, "mine.yaml"))
    assert str(error.value).startswith("mine.yaml, key 'datasets.rlhflow_prompts.max_row': unknown key "
                                       "(did you mean 'max_rows'?)")
    assert str(error.value).count("\n") == 0  # one problem, one line


def test_a_schema_error_is_a_few_lines_each_naming_its_key(tiny_config):
    tiny_config["generation"].update(epochs=0, top_p=3, temperature=-1)
    tiny_config["seeds"] = ["zero"]
    with pytest.raises(ConfigError) as error:
        validate_schema(tiny_config, source="mine.yaml")
    lines = str(error.value).splitlines()
    assert lines == ["mine.yaml, key 'generation.epochs': 0 is less than the minimum of 1",
                     "mine.yaml, key 'generation.temperature': -1 is less than the minimum of 0",
                     "mine.yaml, key 'generation.top_p': 3 is greater than the maximum of 1",
                     "(and 1 more)"]


# --------------------------------------------------------------------------------------------
# Defaults: the schema is their one home

def test_the_loader_fills_in_the_schemas_defaults(tiny_config, tmp_path):
    tiny_config["datasets"]["dolly"] = {"source": "hub", "repo": "r", "format": "dolly"}
    tiny_config["judges"]["api"] = {"type": "openai", "model": "m"}
    config = load_config(write(tmp_path, tiny_config))
    assert config["datasets"]["dolly"] == {"source": "hub", "repo": "r", "format": "dolly", "split": "train",
                                           "shuffle_seed": 0, "warn_row_bytes": 1 << 20}
    assert config["datasets"]["neutral_text"] == tiny_config["datasets"]["neutral_text"]  # tiny: no such keys
    assert config["judges"]["api"]["concurrency"] == 32 and config["judges"]["api"]["temperature"] is None
    assert config["judges"]["lexical"] == {"type": "lexical", "min_matches": 1}
    assert config["stages"]["sft"]["lora"]["target_modules"] == "all-linear"
    assert config["stages"]["midtrain"]["no_learning"] == "warn"
    assert config["planning"]["achieved_flops"]["grpo"] == 0.9e14 and config["paper"]["title"] != ""
    assert config["benchmarks"]["ahb"]["strict_tags"] is True  # the config's own value wins


def test_the_library_reads_its_defaults_from_the_schema(monkeypatch, tmp_path):
    """Change a default in the schema and the library follows: no dict of its own holds it."""
    from value_retention import schema
    from value_retention.judges import build_judge
    from value_retention.stats import resolve_spec

    judge_defaults = schema.definition("judge_openai")["properties"]
    monkeypatch.setitem(judge_defaults["concurrency"], "default", 7)
    monkeypatch.setitem(schema.definition("analysis")["properties"]["bootstrap_samples"], "default", 123)
    judge = build_judge("api", {"type": "openai", "model": "m"}, tmp_path)
    assert judge.concurrency == 7
    judge.close()
    assert resolve_spec({})["bootstrap_samples"] == 123
    assert schema.defaults("judge", type="openai")["concurrency"] == 7


# --------------------------------------------------------------------------------------------
# Several files, overlays, --config overrides and duplicate keys

OVERLAY = "seeds: [0, 1]\ngeneration:\n  epochs: 1\n"


def test_an_overlay_is_merged_over_a_full_config_as_snakemake_merges_it(tmp_path):
    from snakemake.utils import update_config

    from value_retention.config import merge

    config = load_config(REPO / "config" / "paper.yaml", write(tmp_path, OVERLAY, "over.yaml"))
    paper = load_config(REPO / "config" / "paper.yaml")
    assert config["seeds"] == [0, 1] and config["generation"] == {**paper["generation"], "epochs": 1}
    # The same merge as Snakemake's own: mappings key by key, lists replaced.
    expected = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    update_config(expected, yaml.safe_load(OVERLAY))
    assert merge(yaml.safe_load((REPO / "config" / "paper.yaml").read_text()), yaml.safe_load(OVERLAY)) == expected


def test_an_error_in_an_overlay_names_the_overlay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overlay = write(tmp_path, "generation:\n  epochs: 0\n", "over.yaml")
    with pytest.raises(ConfigError, match=r"^over\.yaml, key 'generation\.epochs': 0 is less than"):
        load_config(REPO / "config" / "config.yaml", overlay)


def test_a_lone_overlay_is_a_short_error_saying_overlays_go_after_a_full_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, OVERLAY, "over.yaml"))
    assert str(error.value).startswith("over.yaml: not a full config: it has no conditions, models,")
    assert "an overlay (a partial config) goes after a full one" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("text, line", [
    ("seeds: [0]\nseeds: [1]\n", 2),
    ("generation:\n  epochs: 2\n  max_new_tokens: 8\n  epochs: 3\n", 4),
])
def test_a_key_given_twice_is_an_error_naming_the_file_and_lines(tmp_path, monkeypatch, text, line):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=rf"^dup\.yaml: line {line}, column \d+: duplicate key '(seeds|epochs)' "
                                          r"\(first given on line \d+"):
        load_config(REPO / "config" / "config.yaml", write(tmp_path, text, "dup.yaml"))


def test_config_overrides_are_typed_as_in_a_config_file():
    from value_retention.config import parse_overrides

    assert parse_overrides(["seeds=[0,1,2]", "generation={epochs: 3, top_p: 0.9}", "results_dir=out",
                            "judges={api: {temperature: null}}", "paper={title: 'A: B'}"]) == {
        "seeds": [0, 1, 2], "generation": {"epochs": 3, "top_p": 0.9}, "results_dir": "out",
        "judges": {"api": {"temperature": None}}, "paper": {"title": "A: B"}}
    assert parse_overrides(["ab=5", "cd=0.5", "ef=True", "gh=null"]) == {"ab": 5, "cd": 0.5, "ef": True, "gh": "null"}
    with pytest.raises(ConfigError, match="a nested key is set as a mapping: 'generation=\\{epochs: 3\\}'"):
        parse_overrides(["generation.epochs=3"])


def test_check_config_takes_several_files_and_overrides(tmp_path, capsys):
    overlay = write(tmp_path, OVERLAY, "over.yaml")
    for args in (["config/config.yaml"], ["config/paper.yaml"],
                 ["config/paper.yaml", str(overlay), "--config", "seeds=[0,1,2]", "generation={epochs: 2}"]):
        assert cli_main(["check-config", *[str(REPO / a) if a.startswith("config/") else a for a in args]]) == 0
        assert "valid" in capsys.readouterr().out
    assert cli_main(["check-config", str(overlay)]) == 2
    assert "not a full config" in capsys.readouterr().err


def test_the_workflow_takes_config_lists_and_overlays(tmp_path):
    """`--config 'seeds=[0,1,2]'` failed the schema (Snakemake reads its items as strings)."""
    counts = job_counts(dry_run(tmp_path, "--config", "seeds=[0,1,2]"))
    trained = 5  # midtrained and the four post-trained conditions
    assert counts["train"] == trained * 3 and counts["generate"] == 6 * 3 * 2
    counts = job_counts(dry_run(tmp_path, "--configfile", str(REPO / "config" / "config.yaml"),
                                str(write(tmp_path, OVERLAY, "over.yaml"))))
    assert counts["train"] == trained * 2


@pytest.mark.parametrize("files, message", [
    (["over.yaml"], "over.yaml: not a full config"),
    ([str(REPO / "config" / "config.yaml"), "dup.yaml"], "dup.yaml: line 2, column 1: duplicate key 'seeds'"),
])
def test_the_workflow_stops_a_bad_config_with_a_short_error(tmp_path, files, message):
    write(tmp_path, OVERLAY, "over.yaml")
    write(tmp_path, "seeds: [0]\nseeds: [1]\n", "dup.yaml")
    result = dry_run(tmp_path, "--configfile", *files)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output and len(output.splitlines()) < 8, output


# --------------------------------------------------------------------------------------------
# Stage blocks that their job would reject, rejected before any job

@pytest.mark.parametrize("edit, key, message", [
    (lambda c: c["stages"]["sft"].pop("lora"), "stages.sft.lora", "method 'lora' needs a 'lora' block"),
    (lambda c: c["stages"]["grpo"]["trainer"].update(per_device_train_batch_size=6),
     "stages.grpo.trainer.num_generations",
     "trl.GRPOConfig rejects it: generation_batch_size (6) must be divisible by num_generations (4)"),
    (lambda c: c["stages"]["grpo"]["trainer"].update(gradient_accumulation_steps=3, per_device_train_batch_size=2),
     "stages.grpo.trainer.num_generations", "generation_batch_size (6) must be divisible by num_generations (4)"),
    (lambda c: c["stages"]["grpo"]["trainer"].update(num_generations=1), "stages.grpo.trainer.num_generations",
     "GRPO requires at least 2 generations per prompt"),
    (lambda c: c["stages"]["sft"].update(gpus=2), "stages.sft.gpus", "LoRA trains in one process"),
    (lambda c: c["stages"]["midtrain"].update(accelerate_config="config/accelerate/nowhere.yaml"),
     "stages.midtrain.accelerate_config", "accelerate config 'config/accelerate/nowhere.yaml' not found"),
    (lambda c: c["stages"]["sft"]["trainer"].update(save_steps=3), "stages.sft.trainer.load_best_model_at_end",
     "requires the saving steps to be a round multiple of the evaluation steps"),
])
def test_check_config_rejects_what_the_train_job_would(tiny_config, tmp_path, edit, key, message):
    edit(tiny_config)
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, tiny_config))
    assert f"config.yaml, key '{key}': " in str(error.value) and message in str(error.value)


def test_the_grpo_batch_counts_the_training_processes(tiny_config, tmp_path):
    """TRL's generation batch is per device x steps x processes: with 2 processes, 2 x 1 prompts x 2
    holds whole groups of 4 where one process's 2 would not (full fine-tuning: LoRA trains on one GPU)."""
    from value_retention.trainer_config import check_block

    block = {"method": "full", "gpus": 2, "trainer": {"learning_rate": 1e-5, "per_device_train_batch_size": 2,
                                                      "num_generations": 4}}
    check_block("grpo", block)
    with pytest.raises(ConfigError, match="x processes: 2 x 1 x 1"):
        check_block("grpo", {**block, "gpus": 1})


def test_checking_a_stage_block_leaves_no_process_state_behind():
    """The parse-time TRL check runs in Snakemake's own process: no accelerate state, no CUDA set-up."""
    from accelerate.state import PartialState

    from value_retention.trainer_config import check_block

    PartialState._reset_state()
    check_block("sft", {"trainer": {"learning_rate": 1e-4, "bf16": True}})
    assert PartialState._shared_state == {}
