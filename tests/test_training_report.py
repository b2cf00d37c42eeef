"""The training summary, its warnings in the statistics and the paper, and the training-curves figure."""

from __future__ import annotations

import json

import pytest

from value_retention import numbers, training_report
from value_retention.errors import DataError


def model_dir(tmp_path, name: str, log: dict):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "training_log.json").write_text(json.dumps(log))
    return folder


def sft_log(seed: int) -> dict:
    history = [{"step": 1, "loss": 3.0, "grad_norm": 1.0}, {"step": 2, "loss": 2.5, "grad_norm": 0.8},
               {"step": 2, "eval_loss": 2.7}]
    return {"stage": "sft", "method": "lora", "steps": 2, "final_loss": 2.5, "warnings": [], "loss_history": history,
            "seed": seed}


GRPO_LOG = {"stage": "grpo", "method": "lora", "steps": 2, "final_loss": 0.0,
            "warnings": ["zero reward spread at every logged step (2)"],
            "loss_history": [{"step": 1, "loss": 0.0, "reward": 0.0, "reward_std": 0.0, "grad_norm": 0.0},
                             {"step": 2, "loss": 0.0, "reward": 0.0, "reward_std": 0.0, "grad_norm": 0.0}]}


@pytest.fixture
def summary(tmp_path):
    runs = [{"condition": "sft_dolly", "seed": 0}, {"condition": "sft_dolly", "seed": 1},
            {"condition": "grpo_magicoder", "seed": 0}]
    dirs = [model_dir(tmp_path, "a", sft_log(0)), model_dir(tmp_path, "b", sft_log(1)),
            model_dir(tmp_path, "c", GRPO_LOG)]
    return training_report.summarise(runs, dirs)


def test_summary_labels_every_warning_with_its_run(summary):
    assert [(r["condition"], r["seed"], r["stage"]) for r in summary["runs"]] == [
        ("sft_dolly", 0, "sft"), ("sft_dolly", 1, "sft"), ("grpo_magicoder", 0, "grpo")]
    assert summary["warnings"] == ["grpo_magicoder seed 0 (grpo): zero reward spread at every logged step (2)"]
    assert summary["runs"][0]["history"][-1] == {"step": 2, "eval_loss": 2.7}


def test_a_folder_without_a_training_log_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no training_log.json"):
        training_report.summarise([{"condition": "x", "seed": 0}], [tmp_path / "empty"])


def test_warnings_reach_the_statistics_and_the_paper(summary):
    stats = training_report.carry_warnings({"warnings": ["mixed model on the boundary"]}, summary)
    assert stats["training_warnings"] == summary["warnings"]
    assert stats["warnings"] == ["mixed model on the boundary", "training: " + summary["warnings"][0]]
    book = numbers.MacroBook()
    numbers.add_training_checks(book, {"ahb": ("results/stats/ahb.json", stats)})
    assert book.value("NTrainingWarnings") == "1"
    assert "flagged 1 finding" in book.value("TrainingChecks")
    assert "grpo\\_magicoder seed 0 (grpo): zero reward" in book.value("TrainingChecks")  # LaTeX-escaped
    clean = numbers.MacroBook()
    numbers.add_training_checks(clean, {"ahb": ("s.json", {"training_warnings": []})})
    assert clean.value("TrainingChecks").startswith("Every training run passed the learning checks")


def test_training_curves_figure(summary, tmp_path):
    written = training_report.plot_training_curves(summary, tmp_path / "training_curves")
    assert [path.name for path in written] == ["training_curves.pdf", "training_curves.png"]
    assert written[0].read_bytes()[:4] == b"%PDF" and written[1].read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(DataError, match="no training runs"):
        training_report.plot_training_curves({"runs": [], "warnings": []}, tmp_path / "none")
