"""A local Hugging Face causal language model as judge: chat template, greedy decoding, batches.

For judging without an API (an open-weights grader on the cluster's GPUs) and for testing the
judging path end to end. The model is loaded only when some prompt is not already in the response
cache. Prompts are sorted by length before batching so that each batch carries little padding;
padding is on the left, as decoder-only generation requires.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import ConfigError
from .base import ModelJudge, OnReply, Reply
from .cache import ResponseCache
from .items import GradingItem

log = logging.getLogger(__name__)

DEFAULTS = {"max_tokens": 512, "batch_size": 8, "device": "auto", "dtype": "auto"}


class TransformersJudge(ModelJudge):
    """Greedy answers from ``AutoModelForCausalLM.from_pretrained(spec["model"])``."""

    kind = "transformers"

    def __init__(self, name: str, spec: dict[str, Any], cache: ResponseCache):
        settings = {**DEFAULTS, **spec}
        if not settings.get("model"):
            raise ConfigError("a transformers judge needs 'model' (hub id or local folder)",
                              key=f"judges.{name}.model")
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
        import torch

        model, tokenizer = self._load()
        templated = bool(getattr(tokenizer, "chat_template", None))
        texts = [self._format(tokenizer, item.prompt) for item in items]
        stops = _stop_ids(model, tokenizer)
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            inputs = tokenizer([texts[index] for index in batch], return_tensors="pt", padding=True,
                               # the chat template writes its own BOS; raw text needs the tokenizer's
                               add_special_tokens=not templated).to(model.device)
            with torch.inference_mode():
                output = model.generate(**inputs, do_sample=False, max_new_tokens=self.max_tokens,
                                        pad_token_id=tokenizer.pad_token_id)
            self.stats.calls += len(batch)
            new_tokens = output[:, inputs["input_ids"].shape[1]:]
            for row, index in enumerate(batch):
                completion = _strip_after_stop(new_tokens[row].tolist(), stops)
                on_reply(index, Reply(
                    text=tokenizer.decode(completion, skip_special_tokens=True),
                    prompt_tokens=int(inputs["attention_mask"][row].sum()),
                    completion_tokens=len(completion),
                ))

    def _load(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        log.info("judge %s: loading %s on %s", self.name, self.model, device)
        tokenizer = AutoTokenizer.from_pretrained(self.model, revision=self.revision)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(self.model, revision=self.revision,
                                                     dtype=self.dtype, device_map=device)
        return model.eval(), tokenizer

    @staticmethod
    def _format(tokenizer: Any, prompt: str) -> str:
        """The prompt as one user turn of the model's chat template, or as raw text without one."""
        if getattr(tokenizer, "chat_template", None):
            return tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                                 tokenize=False, add_generation_prompt=True)
        return prompt


def _stop_ids(model: Any, tokenizer: Any) -> set[int]:
    """Token ids that end an answer: every end-of-sequence id the model or tokenizer declares, and
    the padding id that generate() writes after a sequence has finished."""
    declared = [model.generation_config.eos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id]
    stops: set[int] = set()
    for ids in declared:
        stops.update(ids if isinstance(ids, list) else [ids])
    return stops - {None}


def _strip_after_stop(token_ids: list[int], stops: set[int]) -> list[int]:
    """Generated ids up to (not including) the first stop id."""
    for position, token in enumerate(token_ids):
        if token in stops:
            return token_ids[:position]
    return token_ids
