"""docs/recipe.md: the paper config's training recipe, every value with its source tag."""

from __future__ import annotations

import subprocess
import sys

from value_retention import recipe_table

from conftest import REPO

PAPER = REPO / "config" / "paper.yaml"


def test_the_recipe_table_in_docs_is_the_paper_configs():
    expected = recipe_table.render(PAPER, shown_as="config/paper.yaml")
    assert (REPO / "docs" / "recipe.md").read_text(encoding="utf-8") == expected, (
        "docs/recipe.md is stale: run `value-retention recipe-table config/paper.yaml > docs/recipe.md`")


def test_every_value_of_the_paper_recipe_has_a_tag_and_training_values_their_own():
    found = recipe_table.entries(PAPER)
    assert recipe_table.untagged(found) == []
    by_key = {entry.key: entry for entry in found}
    # The values the issue tracker asked about, with the tags they must carry.
    dropout = by_key["stages.sft.lora.lora_dropout"]
    assert dropout.value == 0.0 and dropout.tag == "authors"
    assert by_key["stages.sft.early_stopping_patience"].value == 2
    assert by_key["stages.sft.trainer.eval_steps"].value == by_key["stages.sft.trainer.save_steps"].value == 20
    lr = by_key["stages.grpo.trainer.learning_rate"]
    assert lr.tag == "choice" and 5e-6 <= lr.value <= 1e-5 and "LoRA Without Regret" in lr.note
    assert by_key["datasets.rlhflow_prompts.shuffle_seed"].tag == "choice"
    assert by_key["rewards.code.type"].tag == "choice" and "no tests" in by_key["rewards.code.type"].note


def test_tags_notes_and_inheritance(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "seeds: [0]   # [paper] one run\n"
        "datasets:\n"
        "  dolly:     # [paper] the dataset\n"
        "    repo: 'a#b'\n"
        "    # the longer reason\n"
        "    revision: main   # [choice] see above\n"
        "    split: train\n"
        "stages:\n"
        "  sft:\n"
        "    lora: {r: 16, lora_alpha: 8}   # [authors] rank and alpha\n"
        "    method: lora\n"
        "judges:\n"
        "  x: {temperature: 0}\n")
    found = {entry.key: entry for entry in recipe_table.entries(config)}
    assert set(found) == {"seeds", "datasets.dolly.repo", "datasets.dolly.revision", "datasets.dolly.split",
                          "stages.sft.lora.r", "stages.sft.lora.lora_alpha", "stages.sft.method"}  # no judges
    assert (found["seeds"].tag, found["seeds"].note) == ("paper", "one run")
    repo, revision = found["datasets.dolly.repo"], found["datasets.dolly.revision"]
    assert repo.value == "a#b" and repo.inherited_from == "datasets.dolly"
    assert (revision.tag, revision.note) == ("choice", "the longer reason")
    assert found["stages.sft.lora.r"].tag == "authors" and found["stages.sft.method"].tag is None
    assert recipe_table.untagged(list(found.values())) == ["stages.sft.method"]


def test_the_command_prints_the_table():
    result = subprocess.run([sys.executable, "-m", "value_retention.cli", "recipe-table", str(PAPER)],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0 and "| `stages.sft.lora.r` | `16` | authors |" in result.stdout
