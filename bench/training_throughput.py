"""Training throughput: tokens per second, MFU and peak memory of the workflow's own training code.

Runs :func:`value_retention.training.train_stage` (what the ``train`` rule runs) for a fixed number
of steps on a randomly initialised Llama of a given shape, saved as a model directory first, on
made-up chat data (no download needed):

    python bench/training_throughput.py --shape tiny --steps 20 --max-length 128 --batch-size 4
    python bench/training_throughput.py --shape llama-3.1-8b --steps 300 --max-length 2048 \\
        --batch-size 4 --packing --gradient-checkpointing          # LoRA SFT, one GPU, bf16

Tokens per second are the Trainer's non-padding input tokens over the training time (first step
included). MFU counts 6N FLOPs per token for a model of N parameters, the usual convention, also
for LoRA, whose backward pass skips the frozen weights' gradients (about 4N of real work): its MFU
here is model FLOPs, not hardware FLOPs. ``--peak-tflops`` is the GPU's dense bf16 peak (989 for
H100 and H200 SXM).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generation_throughput import SHAPES, random_llama

from value_retention import modeling, training
from value_retention.jsonl import write_jsonl

WORDS = ("animal welfare pig hen cow fish farm care water shade grain barn field gentle space rest "
         "health food kind answer question code function value list return print loop test data "
         "the a of to and in is it for on with as be by this that").split()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--method", choices=["lora", "full"], default="lora")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4, help="per device")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--packing", action="store_true", help="pack conversations into full-length rows")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--lora-r", type=int, default=16, help="the recipe's rank (alpha 8)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak of one GPU")
    parser.add_argument("--workdir", help="where the model and data go (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def conversations(n: int, words_per_answer: int, rng: random.Random) -> list[dict]:
    """Made-up SFT rows: a short question and an answer of random words."""
    def words(k: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(k))
    return [{"id": str(i), "messages": [{"role": "user", "content": words(12) + "?"},
                                        {"role": "assistant", "content": words(words_per_answer) + "."}]}
            for i in range(n)]


def make_parent(workdir: Path, shape: str, data: Path, seed: int) -> Path:
    """A model directory holding a random Llama of ``shape`` (bf16 on a GPU) and a BPE tokenizer."""
    tokenizer = modeling.train_tokenizer(modeling.corpus_texts([data]), min(SHAPES[shape]["vocab_size"], 4096),
                                         workdir / "tokenizer")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch.manual_seed(seed)
    model = random_llama(shape, device, dtype)
    model.config.bos_token_id, model.config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    parent = workdir / "parent"
    model.save_pretrained(parent)
    tokenizer.save_pretrained(parent)
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return parent


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        # Enough rows for every step, about 120 words (~150 tokens) per conversation.
        rows_needed = args.steps * args.batch_size * max(1, args.max_length // 150 if args.packing else 1) + 64
        data = workdir / "sft.jsonl"
        write_jsonl(data, conversations(rows_needed, 110, rng))
        parent = make_parent(workdir, args.shape, data, args.seed)
        spec = {"method": args.method, "trainer": {
            "learning_rate": 1e-4, "max_steps": args.steps, "per_device_train_batch_size": args.batch_size,
            "max_length": args.max_length, "packing": args.packing,
            "activation_checkpointing": args.gradient_checkpointing, "bf16": torch.cuda.is_available(),
            "save_steps": args.steps, "logging_steps": max(1, args.steps // 10)}}
        if args.method == "lora":
            spec["lora"] = {"r": args.lora_r, "lora_alpha": 8, "lora_dropout": 0.05, "target_modules": "all-linear"}
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        log = training.train_stage("sft", parent, data, spec, None, workdir / "out", args.seed, workdir / "checkpoints")

    parameters = parameter_count(args.shape)
    tokens_per_second = log["tokens_per_second"]
    on_gpu = torch.cuda.is_available()
    result = {
        "shape": args.shape, "parameters": parameters, "method": args.method, "steps": log["steps"],
        "batch_size": args.batch_size, "max_length": args.max_length, "packing": args.packing,
        "gradient_checkpointing": args.gradient_checkpointing,
        "device": torch.cuda.get_device_name(0) if on_gpu else f"cpu ({torch.get_num_threads()} threads)",
        "bf16": bool(log["trainer_args"].get("bf16")),
        "tokens": log["tokens_seen"], "train_runtime_s": log["train_runtime_s"],
        "tokens_per_second": tokens_per_second,
        "mfu": round(tokens_per_second * 6 * parameters / (args.peak_tflops * 1e12), 4) if on_gpu else None,
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1) if on_gpu else None,
        "final_loss": log["final_loss"],
    }
    print(json.dumps(result))
    print(f"{tokens_per_second:,.0f} training tokens/s, MFU {result['mfu']}, peak {result['peak_memory_gib']} GiB "
          f"({args.shape}, {args.method}, batch {args.batch_size} x {args.max_length}, {result['device']})")


def parameter_count(shape: str) -> int:
    """Parameters of a Llama of ``shape``, counted on the meta device (no memory used)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    with torch.device("meta"):
        model = LlamaForCausalLM(LlamaConfig(**SHAPES[shape]))
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    main()
