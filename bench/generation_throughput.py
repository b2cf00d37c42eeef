"""Generation throughput: output tokens per second of the workflow's own batch loop.

Times :func:`value_retention.generation.generate_token_batches`, the loop the ``generate`` rule
runs, on a checkpoint or on a randomly initialised Llama of a given shape (no download needed):

    python bench/generation_throughput.py --shape tiny --batch-size 32 --new-tokens 48
    python bench/generation_throughput.py --shape llama-3.1-8b --batch-size 64 --new-tokens 256 --dtype bfloat16
    python bench/generation_throughput.py --model-dir results/models/base/seed0 --batch-size 32

Every prompt is random token ids of ``--prompt-tokens`` length and every completion is forced
to exactly ``--new-tokens`` tokens (end tokens suppressed until then), so runs compare like with
like. One warm-up batch runs before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from value_retention.generation import Sampling, end_token_ids, generate_token_batches, transformers_generation_config

SHAPES = {
    # Llama 3.1 8B's published architecture.
    "llama-3.1-8b": dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                         num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                         max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=False),
    # The tiny default's model (config/config.yaml, models.tiny_llama.architecture).
    "tiny": dict(vocab_size=1024, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model-dir", help="a Hugging Face checkpoint folder")
    source.add_argument("--shape", choices=sorted(SHAPES), default="tiny",
                        help="a randomly initialised Llama of this shape (default: tiny)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--batches", type=int, default=4, help="timed batches (after one warm-up)")
    parser.add_argument("--dtype", choices=["auto", *DTYPES], default="auto",
                        help="auto: bfloat16 on a GPU, float32 on CPU (as the generate rule)")
    parser.add_argument("--temperature", type=float, default=1.0, help="0 for greedy")
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return DTYPES[name]


def random_llama(shape: str, device: torch.device, dtype: torch.dtype) -> LlamaForCausalLM:
    """A Llama with random weights, built directly on the device in the target dtype (an 8B
    model built in fp32 on the CPU first would need 32 GB and minutes)."""
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(LlamaConfig(**SHAPES[shape], bos_token_id=1, eos_token_id=2,
                                                 pad_token_id=0))
    finally:
        torch.set_default_dtype(default_dtype)
    return model.eval()


def load_model(args: argparse.Namespace, device: torch.device, dtype: torch.dtype):
    """The model, its pad token and its end tokens."""
    if args.model_dir:
        tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
        model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=dtype).to(device).eval()
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return model, pad, end_token_ids(model.generation_config, tokenizer)
    model = random_llama(args.shape, device, dtype)
    return model, model.config.pad_token_id, {model.config.eos_token_id}


def main() -> None:
    args = parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = pick_dtype(args.dtype, device)
    torch.manual_seed(args.seed)
    model, pad_token_id, end_ids = load_model(args, device, dtype)

    vocab = model.config.vocab_size
    n_prompts = args.batch_size * args.batches
    prompts = torch.randint(3, vocab, (n_prompts + args.batch_size, args.prompt_tokens)).tolist()
    sampling = Sampling(max_new_tokens=args.new_tokens, temperature=args.temperature, top_p=args.top_p)
    # min_new_tokens suppresses end tokens, so every completion has exactly new_tokens tokens.
    config = transformers_generation_config(sampling, pad_token_id, end_ids, min_new_tokens=args.new_tokens)

    def run(batch_prompts, description):
        return generate_token_batches(model, batch_prompts, batch_size=args.batch_size,
                                      generation_config=config, end_ids=end_ids,
                                      description=description)

    run(prompts[:args.batch_size], "warm-up")
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    completions = run(prompts[args.batch_size:], "timed")
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started

    new_tokens = sum(len(tokens) for tokens in completions)
    result = {
        "model": args.model_dir or f"random {args.shape}",
        "device": (torch.cuda.get_device_name(0) if device.type == "cuda"
                   else f"cpu ({torch.get_num_threads()} threads)"),
        "dtype": str(dtype).removeprefix("torch."),
        "batch_size": args.batch_size, "prompts": n_prompts, "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens, "output_tokens": new_tokens, "seconds": round(seconds, 3),
        "output_tokens_per_second": round(new_tokens / seconds, 1),
    }
    print(json.dumps(result))
    print(f"{result['output_tokens_per_second']:.1f} output tokens/s "
          f"({result['model']}, batch {args.batch_size}, {args.new_tokens} new tokens, {result['dtype']}, "
          f"{result['device']})")


if __name__ == "__main__":
    main()
