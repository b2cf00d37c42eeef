"""Answer generation: every condition's model answers every benchmark question ``epochs`` times.

The pipeline is the usual one for batched sampling with a decoder-only model:

1. build each question's prompt (the tokenizer's chat template, or the raw question);
2. tokenise, sort by length and cut into batches, so that each batch wastes little padding;
3. left-pad each batch (a decoder generates to the right of its prompt, so the padding must sit
   on the left) and call ``model.generate``;
4. cut each completion at its first end-of-sequence token, decode it, and put the answers back
   in question order.

Sampling is reproducible: before each epoch the torch RNG is seeded with a seed derived from
(run seed, epoch), which is recorded in every row's ``sampling``. The same seed, batch size and
hardware give the same answers (the batch size matters because it decides which random numbers
each prompt draws).

:func:`generate_token_batches` is the core batch loop; ``bench/generation_throughput.py`` times
exactly that function.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from . import schema
from .errors import ConfigError
from .jsonl import read_jsonl, write_jsonl

log = logging.getLogger(__name__)

QUESTION_FIELDS = ("question_id", "language", "base_item", "question")


# --------------------------------------------------------------------------------------------
# Settings

@dataclass(frozen=True)
class Sampling:
    """The sampling settings of one run; ``temperature == 0`` means greedy decoding."""

    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def record(self, seed: int) -> dict[str, Any]:
        """What each generated row stores under ``sampling``."""
        return {"temperature": self.temperature, "top_p": self.top_p,
                "max_new_tokens": self.max_new_tokens, "seed": seed}


def sampling_from_spec(spec: Mapping[str, Any]) -> Sampling:
    """The sampling keys of a resolved ``generation`` block (:func:`generate_answers`)."""
    return Sampling(max_new_tokens=int(spec["max_new_tokens"]), temperature=float(spec["temperature"]),
                    top_p=float(spec["top_p"]))


def epoch_seed(seed: int, epoch: int) -> int:
    """A well-mixed 31-bit seed for one (run seed, epoch): epochs draw independent samples."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0] & 0x7FFFFFFF)


# --------------------------------------------------------------------------------------------
# Prompts

def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def resolve_prompt_format(tokenizer: Any, requested: str) -> str:
    """``auto`` becomes ``chat`` when the tokenizer has a chat template, else ``raw``."""
    if requested == "auto":
        return "chat" if has_chat_template(tokenizer) else "raw"
    if requested == "chat" and not has_chat_template(tokenizer):
        raise ConfigError("'chat' needs a tokenizer with a chat template, and this one has none "
                          "(use 'auto' or 'raw')", key="generation.prompt_format")
    return requested


def build_prompt(tokenizer: Any, question: str, prompt_format: str) -> str:
    """The exact text fed to the model: one user turn in the chat template, or the raw question."""
    if prompt_format == "chat":
        return tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                             tokenize=False, add_generation_prompt=True)
    return question + "\n"


def tokenize_prompts(tokenizer: Any, prompts: Sequence[str], prompt_format: str) -> list[list[int]]:
    """Token ids of each prompt.

    A chat template already writes the beginning-of-text token into the text, so special tokens
    are added only to raw prompts (otherwise a Llama prompt would start with two BOS tokens).
    """
    encoded = tokenizer(list(prompts), add_special_tokens=prompt_format == "raw")
    return [list(ids) for ids in encoded["input_ids"]]


# --------------------------------------------------------------------------------------------
# Models

def pick_device_and_dtype() -> tuple[torch.device, torch.dtype]:
    """bf16 on a GPU (what the checkpoints are trained in); fp32 on CPU, where bf16 is slow."""
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.bfloat16
    return torch.device("cpu"), torch.float32


def load_model_and_tokenizer(model_dir: str | os.PathLike) -> tuple[Any, Any]:
    """Load a full Hugging Face checkpoint for inference, and its tokenizer set up for batching."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device, dtype = pick_device_and_dtype()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        # Padding positions are masked out, so any token will do; eos is the usual choice.
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # what left_pad does; set for anyone who pads with it
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device)
    model.eval()
    return model, tokenizer


def end_token_ids(generation_config: Any, tokenizer: Any) -> set[int]:
    """Every token that ends an answer: the checkpoint's generation-config eos ids (Llama 3.1
    has three) and the tokenizer's eos."""
    ids = getattr(generation_config, "eos_token_id", None)
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return set(ids)


def transformers_generation_config(sampling: Sampling, pad_token_id: int, eos_ids: Iterable[int],
                                   **extra: Any) -> Any:
    """A complete ``GenerationConfig``: every sampling knob set here, none inherited.

    ``model.generate`` fills unset fields from the checkpoint's own generation config (Llama's
    says temperature 0.6, top_p 0.9) and from library defaults (top_k 50). Setting them all
    explicitly makes the run sample exactly as the config says; ``top_k=0`` turns top-k off.
    """
    from transformers import GenerationConfig

    if sampling.greedy:
        knobs = {"do_sample": False, "temperature": 1.0, "top_p": 1.0, "top_k": 0}
    else:
        knobs = {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p,
                 "top_k": 0}
    return GenerationConfig(max_new_tokens=sampling.max_new_tokens, pad_token_id=pad_token_id,
                            eos_token_id=sorted(eos_ids), **knobs, **extra)


# --------------------------------------------------------------------------------------------
# The core batch loop

def left_pad(batch: Sequence[Sequence[int]], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` with the padding on the left."""
    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        if ids:
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids):] = 1
    return input_ids, attention_mask


def cut_at_end(tokens: Sequence[int], end_ids: set[int]) -> list[int]:
    """The answer's tokens: everything before the first end-of-sequence token."""
    for position, token in enumerate(tokens):
        if token in end_ids:
            return list(tokens[:position])
    return list(tokens)


def batches_by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first.

    Similar lengths waste little padding; longest first makes an out-of-memory error happen in
    the first batch rather than after an hour.
    """
    order = sorted(range(len(lengths)), key=lambda index: (-lengths[index], index))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


@torch.inference_mode()
def generate_token_batches(model: Any, prompt_ids: Sequence[Sequence[int]], *, batch_size: int,
                           generation_config: Any, end_ids: set[int], description: str = "generate",
                           on_batch: Callable[[list[int], list[list[int]]], None] | None = None,
                           ) -> list[list[int]]:
    """Generate a completion for every prompt; returns each one's new tokens, cut at the first
    end token, in the order of ``prompt_ids``.

    Prompts are batched by length and left-padded. Progress (batches, rate, ETA) goes to tqdm.
    ``on_batch(indices, completions)``, if given, sees each batch as soon as it is done (a judge
    caches its answers that way, so a killed job keeps them).
    """
    device = next(model.parameters()).device
    pad_token_id = generation_config.pad_token_id
    completions: list[list[int]] = [[] for _ in prompt_ids]
    batches = batches_by_length([len(ids) for ids in prompt_ids], batch_size)
    for batch in tqdm(batches, desc=description, unit="batch", mininterval=2.0):
        input_ids, attention_mask = left_pad([prompt_ids[index] for index in batch], pad_token_id)
        output = model.generate(input_ids=input_ids.to(device),
                                attention_mask=attention_mask.to(device),
                                generation_config=generation_config)
        new_tokens = output[:, input_ids.shape[1]:].tolist()
        for index, tokens in zip(batch, new_tokens):
            completions[index] = cut_at_end(tokens, end_ids)
        if on_batch is not None:
            on_batch(batch, [completions[index] for index in batch])
    return completions


# --------------------------------------------------------------------------------------------
# Backends: one epoch of answers, as lists of new token ids

def generate_epoch_transformers(model: Any, tokenizer: Any, prompt_ids: Sequence[Sequence[int]],
                                sampling: Sampling, seed: int, batch_size: int,
                                description: str) -> list[list[int]]:
    end_ids = end_token_ids(model.generation_config, tokenizer)
    config = transformers_generation_config(sampling, tokenizer.pad_token_id, end_ids)
    torch.manual_seed(seed)  # generate() samples from the global RNG (CPU and CUDA)
    return generate_token_batches(model, prompt_ids, batch_size=batch_size,
                                  generation_config=config, end_ids=end_ids,
                                  description=description)


def load_vllm(model_dir: str | os.PathLike, seed: int) -> Any:
    """A vLLM engine for the checkpoint; vLLM is optional and imported only here."""
    try:
        from vllm import LLM
    except ImportError as exc:
        raise ConfigError("backend 'vllm' needs the vllm package, which is not installed "
                          "(pip install vllm, on a machine with a GPU), or use 'transformers'",
                          key="generation.backend") from exc
    return LLM(model=os.fspath(model_dir), dtype="bfloat16", seed=seed)


def load_tokenizer_and_end_ids(model_dir: str | os.PathLike) -> tuple[Any, set[int]]:
    """The tokenizer and end tokens of a checkpoint, for a backend that loads its own model."""
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    try:
        generation_config = GenerationConfig.from_pretrained(model_dir)
    except OSError:  # a checkpoint without generation_config.json
        generation_config = None
    return tokenizer, end_token_ids(generation_config, tokenizer)


def generate_epoch_vllm(llm: Any, tokenizer: Any, prompt_ids: Sequence[Sequence[int]],
                        sampling: Sampling, seed: int, end_ids: set[int]) -> list[list[int]]:
    """One epoch through vLLM. Prompts go in as token ids, so both backends see the same tokens;
    vLLM seeds every request, so its answers do not depend on batching."""
    from vllm import SamplingParams

    params = SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p, top_k=-1,
                            max_tokens=sampling.max_new_tokens, seed=seed)
    requests = [{"prompt_token_ids": list(ids)} for ids in prompt_ids]
    outputs = llm.generate(requests, params, use_tqdm=True)
    return [cut_at_end(output.outputs[0].token_ids, end_ids) for output in outputs]


# --------------------------------------------------------------------------------------------
# The stage

def read_questions(questions_path: str | os.PathLike) -> list[dict[str, Any]]:
    return read_jsonl(questions_path, required=QUESTION_FIELDS)


def open_backend(backend: str, model_dir: str | os.PathLike, seed: int,
                 batch_size: int) -> tuple[Any, Callable[..., list[list[int]]]]:
    """The tokenizer, and a function ``(prompt_ids, sampling, seed, description) -> answers``
    that generates one epoch with the chosen backend."""
    if backend == "vllm":
        tokenizer, end_ids = load_tokenizer_and_end_ids(model_dir)
        llm = load_vllm(model_dir, seed)

        def run_epoch(prompt_ids, sampling, seed, description):
            return generate_epoch_vllm(llm, tokenizer, prompt_ids, sampling, seed, end_ids)
    else:
        model, tokenizer = load_model_and_tokenizer(model_dir)

        def run_epoch(prompt_ids, sampling, seed, description):
            return generate_epoch_transformers(model, tokenizer, prompt_ids, sampling, seed,
                                               batch_size, description)
    return tokenizer, run_epoch


def generate_answers(model_dir: str | os.PathLike, questions_path: str | os.PathLike,
                     spec: Mapping[str, Any], condition: str, seed: int,
                     out_path: str | os.PathLike) -> dict[str, Any]:
    """Answer every prepared question ``spec["epochs"]`` times; write the generations file.

    Rows are written once, atomically, question by question (each question's epochs in order),
    in the order of the questions file. Returns totals for the provenance sidecar.
    """
    spec = schema.resolved("generation", spec, key="generation")  # checked, with the schema's defaults
    sampling = sampling_from_spec(spec)
    epochs = int(spec["epochs"])
    backend = spec["backend"]
    requested_format = spec["prompt_format"]
    questions = read_questions(questions_path)
    started = time.time()

    tokenizer, run_epoch = open_backend(backend, model_dir, seed, int(spec["batch_size"]))
    prompt_format = resolve_prompt_format(tokenizer, requested_format)
    prompts = [build_prompt(tokenizer, q["question"], prompt_format) for q in questions]
    prompt_ids = tokenize_prompts(tokenizer, prompts, prompt_format)
    log.info("%d questions x %d epochs, %s prompts, backend %s", len(questions), epochs,
             prompt_format, backend)

    answers_by_epoch = [
        run_epoch(prompt_ids, sampling, epoch_seed(seed, epoch),
                  f"{condition} seed {seed} epoch {epoch + 1}/{epochs}")
        for epoch in range(epochs)
    ]

    rows = []
    for index, question in enumerate(questions):
        for epoch in range(epochs):
            tokens = answers_by_epoch[epoch][index]
            rows.append({
                "question_id": question["question_id"], "language": question["language"],
                "base_item": question["base_item"], "epoch": epoch, "condition": condition,
                "seed": seed, "prompt": prompts[index], "prompt_format": prompt_format,
                "answer": tokenizer.decode(tokens, skip_special_tokens=True).strip(),
                "sampling": sampling.record(epoch_seed(seed, epoch)),
                "prompt_tokens": len(prompt_ids[index]), "completion_tokens": len(tokens),
            })
    write_jsonl(out_path, rows)
    return summarise(rows, prompt_format, backend, sampling, time.time() - started)


def summarise(rows: Sequence[Mapping[str, Any]], prompt_format: str, backend: str,
              sampling: Sampling, seconds: float) -> dict[str, Any]:
    """Totals for the sidecar: counts, tokens, throughput, and answers worth a second look."""
    completion_tokens = sum(row["completion_tokens"] for row in rows)
    return {
        "n_rows": len(rows),
        "n_questions": len({(row["question_id"], row["language"]) for row in rows}),
        "prompt_format": prompt_format,
        "backend": backend,
        "prompt_tokens": sum(row["prompt_tokens"] for row in rows),
        "completion_tokens": completion_tokens,
        # Answers that hit the length limit without an end token were cut short.
        "n_truncated": sum(row["completion_tokens"] >= sampling.max_new_tokens for row in rows),
        "n_empty_answers": sum(not row["answer"] for row in rows),
        "seconds": round(seconds, 3),
        "completion_tokens_per_second": round(completion_tokens / seconds, 1) if seconds > 0 else None,
    }
