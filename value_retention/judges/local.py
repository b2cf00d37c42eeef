"""A local Hugging Face causal language model as judge: chat template, greedy decoding, batches.

For judging without an API (an open-weights grader on the cluster's GPUs) and for testing the
judging path end to end. The model is loaded only when some prompt is not already in the response
cache. Prompts go through the generate rule's own code (value_retention.generation): the same
prompt building, length-sorted left-padded batches and end-token handling.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import schema
from ..generation import (
    Sampling,
    build_prompt,
    end_token_ids,
    generate_token_batches,
    resolve_prompt_format,
    tokenize_prompts,
    transformers_generation_config,
)
from .base import ModelJudge, OnReply, Reply
from .cache import ResponseCache
from .items import GradingItem

log = logging.getLogger(__name__)



class TransformersJudge(ModelJudge):
    """Greedy answers from ``AutoModelForCausalLM.from_pretrained(spec["model"])``."""

    kind = "transformers"

    def __init__(self, name: str, spec: dict[str, Any], cache: ResponseCache):
        settings = schema.resolved("judge", {**spec, "type": "transformers"}, key=f"judges.{name}")
        # Greedy decoding is deterministic, so the cache keys it as temperature 0.
        super().__init__(name, model=settings["model"], temperature=0.0, max_tokens=settings["max_tokens"],
                         base_url=None, cache=cache)
        self.revision = settings.get("revision")
        self.batch_size = int(settings["batch_size"])
        self.device = settings["device"]
        self.dtype = settings["dtype"]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "revision": self.revision, "batch_size": self.batch_size}

    def _answer(self, items: list[GradingItem], on_reply: OnReply) -> None:
        model, tokenizer = self._load()
        # The generate rule's own prompt building and batch loop: one user turn of the chat
        # template (raw text without one), length-sorted left-padded batches, greedy decoding.
        prompt_format = resolve_prompt_format(tokenizer, "auto")
        prompts = [build_prompt(tokenizer, item.prompt, prompt_format) for item in items]
        prompt_ids = tokenize_prompts(tokenizer, prompts, prompt_format)
        end_ids = end_token_ids(model.generation_config, tokenizer)
        config = transformers_generation_config(Sampling(max_new_tokens=self.max_tokens, temperature=0.0),
                                                tokenizer.pad_token_id, end_ids)

        def reply(indices: list[int], completions: list[list[int]]) -> None:
            self.stats.calls += len(indices)
            for index, completion in zip(indices, completions):
                on_reply(index, Reply(text=tokenizer.decode(completion, skip_special_tokens=True),
                                      prompt_tokens=len(prompt_ids[index]), completion_tokens=len(completion)))

        generate_token_batches(model, prompt_ids, batch_size=self.batch_size, generation_config=config,
                               end_ids=end_ids, description=f"judge {self.name}", on_batch=reply)

    def _load(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        log.info("judge %s: loading %s on %s", self.name, self.model, device)
        tokenizer = AutoTokenizer.from_pretrained(self.model, revision=self.revision)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(self.model, revision=self.revision,
                                                     dtype=self.dtype, device_map=device)
        return model.eval(), tokenizer
