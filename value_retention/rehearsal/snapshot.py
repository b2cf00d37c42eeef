"""Make the rehearsal world's local hub: every repository config/rehearsal.yaml downloads.

The folder is laid out as a huggingface_hub cache lays out the Hub (``{type}s--{org}--{name}/``
with ``refs/{branch or tag}`` naming a commit and ``snapshots/{commit}/`` holding that commit's
files), and :class:`value_retention.rehearsal.hub.LocalHub` serves it. Everything in it is made
here, from the project's own generators (:mod:`value_retention.tiny_world`), in the real
repositories' schemas and file layouts:

- datasets: Dolly (one JSONL file), Magicoder-Evol-Instruct (JSONL), RLHFlow's prompt collection
  (Parquet under ``data/``);
- benchmarks: AHB/ANIMA (``questions`` and ``dimensions`` configs declared in its README, as on the
  Hub) with two commits, the first tagged ``AHB-2.2`` and a later one on ``main`` with one more
  question, so that downloading the tag must resolve it; MORU and its dimensions (Parquet);
- models: a small Llama standing in for Llama 3.1 8B (its tokenizer has the Llama-3 special tokens
  but, like the base model's, no chat template), the same model further trained on compassion
  documents standing in for the authors' mid-trained checkpoint, and a small
  ``LlamaForSequenceClassification`` (one output, the Llama-3 chat template) standing in for the
  helpfulness reward model.

Commit SHAs are content hashes, so the same code makes the same snapshot. No real AHB data is used
(it is CC-BY-NC and lives outside the repository).

    python -m value_retention.rehearsal.snapshot OUT_DIR
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import tiny_world
from ..jsonl import write_jsonl
from .hub import repo_folder

log = logging.getLogger(__name__)

ORG = "rehearsal"
SEED = 0
# Repository ids, named after the paper's (config/rehearsal.yaml uses these).
BASE_MODEL = f"{ORG}/Llama-3.1-8B"
MIDTRAINED_MODEL = f"{ORG}/pretrainingBasellama3kv3"
REWARD_MODEL = f"{ORG}/FsfairX-LLaMA3-RM-v0.1"
DOLLY = f"{ORG}/databricks-dolly-15k"
MAGICODER = f"{ORG}/Magicoder-Evol-Instruct-110K"
RLHFLOW = f"{ORG}/prompt-collection-v0.1"
AHB = f"{ORG}/anima"
MORU = f"{ORG}/moru-benchmark"
MORU_DIMENSIONS = f"{ORG}/moru-benchmark-dimensions"
AHB_TAG = "AHB-2.2"

ARCHITECTURE = {"hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4,
                "num_key_value_heads": 2, "max_position_embeddings": 256}
VOCAB_SIZE = 512
TEXT_SPEC = {"method": "full", "gpus": 0, "trainer": {"num_train_epochs": 3, "learning_rate": 3e-3,
                                                      "per_device_train_batch_size": 16, "max_length": 96}}
AHB_README = """---
configs:
- config_name: questions
  data_files:
  - split: train
    path: questions/train-00000-of-00001.parquet
- config_name: dimensions
  data_files:
  - split: train
    path: dimensions/train-00000-of-00001.parquet
---
# AHB (rehearsal stand-in)

Made by value_retention.rehearsal.snapshot from the project's tiny AHB-like benchmark.
"""


class Snapshot:
    """Writes repositories, commit by commit, into ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.commits: dict[str, list[str]] = {}

    def commit(self, repo_type: str, repo_id: str, files: Mapping[str, Path], refs: list[str],
               message: str) -> str:
        """Add a commit holding ``files`` (name -> a file to copy) and point ``refs`` at it."""
        folder = repo_folder(self.root, repo_type, repo_id)
        parent = (self.commits.get(repo_id) or [""])[-1]
        digest = hashlib.sha1(f"{parent}\n{message}\n".encode())
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(Path(files[name]).read_bytes()).digest())
        sha = digest.hexdigest()
        target = folder / "snapshots" / sha
        for name, source in files.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / name)
        (folder / "refs").mkdir(parents=True, exist_ok=True)
        for ref in refs:
            (folder / "refs" / ref).write_text(sha)
        self.commits.setdefault(repo_id, []).append(sha)
        return sha


def _parquet(rows: list[dict[str, Any]], path: Path) -> Path:
    from datasets import Dataset

    path.parent.mkdir(parents=True, exist_ok=True)
    Dataset.from_list(rows).to_parquet(str(path))
    return path


def _jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, rows)
    return path


def _folder_files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def make_models(snapshot: Snapshot, work: Path) -> None:
    """The base model, the mid-trained stand-in and the reward model."""
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from .. import modeling, training
    from ..datasets_io import prepare

    data = {}
    for name, n, fmt in (("neutral_text", 320, "text"), ("compassion_docs", 120, "text"), ("dolly", 64, "dolly"),
                         ("magicoder", 32, "magicoder")):
        raw = _jsonl(tiny_world.make_dataset(name, n, SEED), work / "raw" / f"{name}.jsonl")
        prepare(raw, fmt, work / "data" / f"{name}.jsonl")
        data[name] = work / "data" / f"{name}.jsonl"
    tokenizer = modeling.train_tokenizer(modeling.corpus_texts(data.values()), VOCAB_SIZE, work / "tokenizer")
    model = modeling.init_tiny_llama(tokenizer, ARCHITECTURE, seed=SEED)
    base_dir, midtrained_dir = work / "base", work / "midtrained"
    training.pretrain(model, tokenizer, data["neutral_text"], TEXT_SPEC, base_dir, SEED, work / "checkpoints" / "base")
    (base_dir / "training_log.json").unlink()  # a hub checkpoint has no training log of ours
    snapshot.commit("model", BASE_MODEL, _folder_files(base_dir), ["main"], "a small Llama, pre-trained here")
    training.train_stage("midtrain", base_dir, data["compassion_docs"], TEXT_SPEC, None, midtrained_dir, SEED,
                         work / "checkpoints" / "midtrained")
    (midtrained_dir / "training_log.json").unlink()
    snapshot.commit("model", MIDTRAINED_MODEL, _folder_files(midtrained_dir), ["main"],
                    "the base further trained on compassion documents")

    reward_dir = work / "reward_model"
    rm_tokenizer = modeling.PreTrainedTokenizerFast.from_pretrained(work / "tokenizer")
    rm_tokenizer.chat_template = modeling.LLAMA3_CHAT_TEMPLATE
    config = LlamaConfig(**ARCHITECTURE, vocab_size=len(rm_tokenizer), num_labels=1,
                         pad_token_id=rm_tokenizer.pad_token_id, bos_token_id=rm_tokenizer.bos_token_id,
                         eos_token_id=rm_tokenizer.eos_token_id)
    import torch

    torch.manual_seed(SEED)
    LlamaForSequenceClassification(config).save_pretrained(reward_dir)
    rm_tokenizer.save_pretrained(reward_dir)
    snapshot.commit("model", REWARD_MODEL, _folder_files(reward_dir), ["main"],
                    "a small sequence classifier with one output")


def make_datasets(snapshot: Snapshot, work: Path) -> None:
    rows = {name: tiny_world.make_dataset(name, n, SEED + 1)
            for name, n in (("dolly", 48), ("magicoder", 48), ("rlhflow", 48))}
    snapshot.commit("dataset", DOLLY, {"databricks-dolly-15k.jsonl": _jsonl(rows["dolly"], work / "dolly.jsonl")},
                    ["main"], "Dolly-schema rows")
    snapshot.commit("dataset", MAGICODER, {
        "data-evol_instruct-decontaminated.jsonl": _jsonl(rows["magicoder"], work / "magicoder.jsonl")},
        ["main"], "Magicoder-schema rows")
    snapshot.commit("dataset", RLHFLOW, {
        "data/train-00000-of-00001.parquet": _parquet(rows["rlhflow"], work / "rlhflow.parquet")},
        ["main"], "RLHFlow-schema prompts")


AHB_TAGGED_IDS = (0, 1, 12, 16, 20)  # English (language null and "English"), Spanish, French
AHB_LATER_ID = 2                      # on main only, after the tag
MORU_ITEMS = 4


def make_benchmarks(snapshot: Snapshot, work: Path) -> None:
    questions, dimensions = tiny_world.make_benchmark("ahb", SEED)
    questions = [row for row in questions if row["id"] in (*AHB_TAGGED_IDS, AHB_LATER_ID)]
    readme = work / "ahb" / "README.md"
    readme.parent.mkdir(parents=True, exist_ok=True)
    readme.write_text(AHB_README, encoding="utf-8")

    def ahb_files(rows: list[dict[str, Any]], tag: str) -> dict[str, Path]:
        return {"README.md": readme,
                "questions/train-00000-of-00001.parquet": _parquet(rows, work / "ahb" / tag / "questions.parquet"),
                "dimensions/train-00000-of-00001.parquet": _parquet(dimensions, work / "ahb" / tag / "dim.parquet")}

    tagged = [row for row in questions if row["id"] != AHB_LATER_ID]
    snapshot.commit("dataset", AHB, ahb_files(tagged, "tagged"), ["main", AHB_TAG], "AHB questions")
    snapshot.commit("dataset", AHB, ahb_files(questions, "main"), ["main"], "one more question after the tag")

    questions, dimensions = tiny_world.make_benchmark("moru", SEED, MORU_ITEMS)
    snapshot.commit("dataset", MORU, {"data/train-00000-of-00001.parquet": _parquet(questions, work / "moru.parquet")},
                    ["main"], "MORU questions")
    snapshot.commit("dataset", MORU_DIMENSIONS, {
        "data/train-00000-of-00001.parquet": _parquet(dimensions, work / "moru_dimensions.parquet")},
        ["main"], "MORU dimensions")


def make_snapshot(root: str | Path) -> dict[str, list[str]]:
    """Write the whole local hub to ``root`` (replacing what is there); returns each repository's
    commits, oldest first."""
    root = Path(root)
    shutil.rmtree(root, ignore_errors=True)
    snapshot = Snapshot(root)
    with tempfile.TemporaryDirectory(prefix="rehearsal-snapshot-") as tmp:
        work = Path(tmp)
        make_datasets(snapshot, work)
        make_benchmarks(snapshot, work)
        make_models(snapshot, work)
    (root / "commits.json").write_text(json.dumps(snapshot.commits, indent=2) + "\n", encoding="utf-8")
    log.info("local hub snapshot: %d repositories in %s", len(snapshot.commits), root)
    return snapshot.commits


def main(argv: list[str] | None = None) -> None:
    import argparse

    from .. import joblog

    parser = argparse.ArgumentParser(description="Make the rehearsal world's local hub snapshot.")
    parser.add_argument("out_dir")
    args = parser.parse_args(argv)
    joblog.configure()
    make_snapshot(args.out_dir)


if __name__ == "__main__":
    main()
