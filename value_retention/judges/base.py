"""The judge interface, and the cached base that every model judge shares."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tqdm.auto import tqdm

from ..errors import ValueRetentionError
from .cache import ResponseCache, cache_key, well_formed
from .items import GradingItem

log = logging.getLogger(__name__)


@dataclass
class JudgeStats:
    """What a judge spent. Counted per distinct cache key: a prompt is asked once per draw."""

    calls: int = 0              # model requests sent; for API judges every attempt, retries included
    retries: int = 0            # requests that failed transiently and were sent again
    cache_hits: int = 0         # distinct draws answered from the response cache
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Reply:
    """A model judge's answer to one prompt."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


OnReply = Callable[[int, Reply], None]


class Judge(ABC):
    """Grades items; returns the judge's raw text per item, each ending in a line parse_grade reads."""

    kind = "abstract"  # the config's `type` for this judge

    def __init__(self, name: str):
        self.name = name
        self.stats = JudgeStats()

    @abstractmethod
    def grade(self, items: Sequence[GradingItem], draw_scope: str = "") -> list[str]:
        """The raw judge text for each item, in the order given. ``draw_scope`` names the run the
        items belong to (a stochastic judge's draws in different runs are independent)."""

    def describe(self) -> dict[str, Any]:
        """What identifies this judge in provenance (never a secret)."""
        return {"name": self.name, "type": self.kind}

    def close(self) -> None:
        """Release files, connections or models the judge holds."""


class ModelJudge(Judge):
    """A judge that sends each item's prompt to a model, through the response cache.

    Subclasses implement :meth:`_answer`; this class asks each distinct draw once (identical
    prompts share an answer only when sampling is deterministic, see cache.py), answers what it can
    from the cache, writes every new well-formed answer to the cache as it arrives, counts tokens
    and shows progress. ``temperature``, ``top_p`` and ``max_tokens`` are sent only when not None; None
    leaves the provider's default, as the reference does.
    """

    def __init__(self, name: str, *, model: str, temperature: float | None, max_tokens: int | None,
                 base_url: str | None, cache: ResponseCache, top_p: float | None = None):
        super().__init__(name)
        self.model = model
        self.temperature = None if temperature is None else float(temperature)
        self.top_p = None if top_p is None else float(top_p)
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.base_url = base_url
        self.cache = cache

    @property
    def sampling(self) -> dict[str, Any]:
        """The sampling settings as sent; None: not sent (the provider's default)."""
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}

    @property
    def deterministic(self) -> bool:
        """Temperature 0: every draw of a prompt gives the same answer, so draws may share one.
        An unset temperature is the provider's default, which is not 0 (Gemini's is 1.0)."""
        return self.temperature == 0

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": self.model, "base_url": self.base_url, **self.sampling,
                "draws": "shared" if self.deterministic else "independent", "cache": str(self.cache.path)}

    def key(self, item: GradingItem, draw_scope: str = "") -> str:
        draw = None if self.deterministic else {"scope": draw_scope, "epoch": item.epoch, "index": item.draw}
        return cache_key(model=self.model, sampling=self.sampling, prompt=item.prompt, draw=draw)

    def grade(self, items: Sequence[GradingItem], draw_scope: str = "") -> list[str]:
        keys = [self.key(item, draw_scope) for item in items]
        distinct: dict[str, GradingItem] = {}
        for key, item in zip(keys, items):
            distinct.setdefault(key, item)
        texts = self.cache.get_many(distinct)
        self.stats.cache_hits += len(texts)
        missing = [key for key in distinct if key not in texts]
        log.info("judge %s: %d items, %d distinct draws, %d answered from the cache, %d to ask",
                 self.name, len(items), len(distinct), len(texts), len(missing))
        if missing:
            with tqdm(total=len(missing), desc=f"judge {self.name}", unit="prompt",
                      dynamic_ncols=True) as progress:
                def on_reply(index: int, reply: Reply) -> None:
                    key = missing[index]
                    # Only answers are cached. An API judge raises on an empty reply (it is
                    # retried); a local model's empty greedy answer is used but not stored, so
                    # the cache never holds a response that is not an answer.
                    if well_formed(reply.text):
                        self.cache.put(key, model=self.model, response=reply.text,
                                       prompt_tokens=reply.prompt_tokens,
                                       completion_tokens=reply.completion_tokens)
                    texts[key] = reply.text
                    self.stats.prompt_tokens += reply.prompt_tokens
                    self.stats.completion_tokens += reply.completion_tokens
                    progress.update(1)

                self._answer([distinct[key] for key in missing], on_reply)
        return [texts[key] for key in keys]

    @abstractmethod
    def _answer(self, items: list[GradingItem], on_reply: OnReply) -> None:
        """Answer every item's prompt, calling ``on_reply(index, reply)`` as each answer arrives.

        Must raise (a JudgeError naming the item) rather than return without answering an item.
        """

    def close(self) -> None:
        self.cache.close()


class JudgeError(ValueRetentionError):
    """A judge could not grade an item (after its retries): the whole job fails with this."""
