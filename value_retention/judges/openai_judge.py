"""A judge behind any OpenAI-compatible chat-completions API (hosted models, a vLLM server, ...).

Requests run concurrently (an asyncio semaphore bounds how many are in flight) through the
``openai`` package's AsyncOpenAI client. The client's own retries are switched off so that every
retry is ours and counted: rate limits (429), server errors (5xx), timeouts and connection errors
are retried with exponential backoff and jitter (longer where the server's Retry-After asks); any
other API error (a bad request, a wrong key) and a transient one that outlasts the retries fail
the whole job with a message naming the question, dimension and judge. A response without a
parseable grade is not an error: it is kept (grade null, raw text saved) and counted by the caller.

Sampling settings (``temperature``, ``top_p``, ``max_tokens``) are sent only where the config sets
a number; absent or null leaves the provider's default, which is what the reference sends.

The API key is read from the environment variable the config names (``api_key_env``) only when a
request must be sent, so a fully cached re-run needs no key. Its value is never logged, written or
put into an error message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any

import openai

from .. import schema
from ..errors import ConfigError
from .base import JudgeError, ModelJudge, OnReply, Reply
from .cache import ResponseCache
from .items import GradingItem

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429})  # plus every 5xx


class OpenAIJudge(ModelJudge):
    """Grades through ``POST {base_url}/chat/completions``, one user message per prompt."""

    kind = "openai"

    def __init__(self, name: str, spec: dict[str, Any], cache: ResponseCache):
        # The defaults (sampling left to the provider, as the reference leaves it; retries with
        # exponential backoff) are the config schema's `judge_openai` ones.
        settings = schema.resolved("judge", {**spec, "type": "openai"}, key=f"judges.{name}")
        if not settings.get("model"):
            raise ConfigError("an openai judge needs 'model'", key=f"judges.{name}.model")
        super().__init__(name, model=settings["model"], temperature=settings["temperature"],
                         top_p=settings["top_p"], max_tokens=settings["max_tokens"],
                         base_url=settings.get("base_url"), cache=cache)
        self.api_key_env = settings["api_key_env"]
        self.concurrency = int(settings["concurrency"])
        self.timeout_s = float(settings["timeout_s"])
        self.retries = int(settings["retries"])
        self.backoff_s = float(settings["backoff_s"])
        self.max_backoff_s = float(settings["max_backoff_s"])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "api_key_env": self.api_key_env,
                "concurrency": self.concurrency, "timeout_s": self.timeout_s, "retries": self.retries}

    def _api_key(self) -> str:
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ConfigError(f"judge '{self.name}' reads its API key from the environment variable "
                              f"{self.api_key_env}, which is not set",
                              key=f"judges.{self.name}.api_key_env")
        return key

    def _answer(self, items: list[GradingItem], on_reply: OnReply) -> None:
        asyncio.run(self._answer_all(items, on_reply))

    async def _answer_all(self, items: list[GradingItem], on_reply: OnReply) -> None:
        client = openai.AsyncOpenAI(api_key=self._api_key(), base_url=self.base_url,
                                    timeout=self.timeout_s, max_retries=0)
        slots = asyncio.Semaphore(self.concurrency)
        started = time.monotonic()

        async def answer(index: int, item: GradingItem) -> None:
            async with slots:
                reply = await self._ask_with_retries(client, item)
            on_reply(index, reply)

        try:
            # A TaskGroup cancels the requests still in flight as soon as one fails for good.
            async with asyncio.TaskGroup() as group:
                for index, item in enumerate(items):
                    group.create_task(answer(index, item))
        except ExceptionGroup as failures:
            raise failures.exceptions[0] from None
        finally:
            await client.close()
        elapsed = time.monotonic() - started
        log.info("judge %s: %d prompts answered in %.1f s (%.1f/s), %d requests, %d retries",
                 self.name, len(items), elapsed, len(items) / max(elapsed, 1e-9),
                 self.stats.calls, self.stats.retries)

    async def _ask_with_retries(self, client: openai.AsyncOpenAI, item: GradingItem) -> Reply:
        attempt = 0
        while True:
            attempt += 1
            self.stats.calls += 1
            try:
                return await self._ask(client, item)
            except openai.APIError as error:
                if not is_transient(error) or attempt > self.retries:
                    raise self._failure(item, error, attempt) from None
                # A server that says how long to wait (Retry-After) knows better than our backoff.
                delay = max(self.backoff_delay(attempt - 1), min(retry_after_s(error) or 0.0, self.max_backoff_s))
                self.stats.retries += 1
                log.warning("judge %s: %s for %s; retry %d of %d in %.2f s", self.name,
                            describe_error(error), item.describe(), attempt, self.retries, delay)
                await asyncio.sleep(delay)

    async def _ask(self, client: openai.AsyncOpenAI, item: GradingItem) -> Reply:
        response = await client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": item.prompt}],
            **{name: value for name, value in self.sampling.items() if value is not None},
        )
        text = response.choices[0].message.content if response.choices else None
        usage = response.usage
        return Reply(text=text or "",
                     prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                     completion_tokens=getattr(usage, "completion_tokens", 0) or 0)

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: about backoff_s x 2**attempt, between half and all of it.

        The jitter spreads out concurrent requests that were rate-limited together.
        """
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _failure(self, item: GradingItem, error: BaseException, attempts: int) -> JudgeError:
        message = (f"judge '{self.name}' (model {self.model}) could not grade {item.describe()} "
                   f"after {attempts} attempt(s): {describe_error(error)}")
        key = os.environ.get(self.api_key_env)
        if key:  # an API error message should never echo a key, but make sure of it
            message = message.replace(key, "***")
        return JudgeError(message)


def is_transient(error: BaseException) -> bool:
    """Worth retrying: rate limits, server errors, timeouts and dropped connections."""
    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in RETRYABLE_STATUS or error.status_code >= 500
    return False


def retry_after_s(error: BaseException) -> float | None:
    """The wait a rate-limited response asks for: its Retry-After header in seconds, if numeric."""
    response = getattr(error, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from APIs; the backoff applies


def describe_error(error: BaseException) -> str:
    """A one-line description: the HTTP status if any, the error type and its message."""
    status = f"HTTP {error.status_code} " if isinstance(error, openai.APIStatusError) else ""
    text = f"{status}{type(error).__name__}: {str(error)[:300]}"
    cause = error.__cause__ or error.__context__
    if cause is not None:  # "Connection error." says little; the transport's error says why
        text += f" (from {type(cause).__name__}: {str(cause)[:200]})"
    return text
