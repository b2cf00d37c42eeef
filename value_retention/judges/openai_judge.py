"""A judge behind any OpenAI-compatible chat-completions API (hosted models, a vLLM server, ...).

Requests run concurrently through the ``openai`` package's AsyncOpenAI client, within the judge's
limits (``concurrency``, and optionally ``requests_per_minute`` and ``tokens_per_minute``), which
hold over every job of the judge at once (limits.py). The client's own retries are switched off
so that every retry is ours and counted: rate limits (429), server errors (5xx), timeouts,
connection errors and malformed replies are retried with exponential backoff and jitter (longer
where the server's Retry-After asks); any other API error (a bad request, a wrong key) and a
transient one that outlasts the retries fail the whole job with a message naming the question,
dimension and judge.

A malformed reply is an HTTP 200 that carries no answer: a body that is not JSON, no ``choices``
or an empty list of them, an error object in place of a completion, or an empty or null message.
It is never cached (so a re-run against a healed server asks again) and never graded. A
well-formed answer without a parseable grade is not an error: it is kept (grade null, raw text
saved) and counted by the caller.

Sampling settings (``temperature``, ``top_p``, ``max_tokens``) are sent only where the config sets
a number; absent or null leaves the provider's default, which is what the reference sends.

The API key is read from the environment variable the config names (``api_key_env``) only when a
request must be sent, so a fully cached re-run needs no key; when one must be sent and the
variable is unset, the job fails before its first request. The key's value is registered with
value_retention.redact as it is read, so that every retry warning, error, traceback and log line
is scrubbed of it (a server that echoes the Authorization header in its error text included), and
so is the text of every reply before it is cached or written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from typing import Any

import openai

from .. import redact, schema
from ..errors import ConfigError
from .base import JudgeError, ModelJudge, OnReply, Reply
from .cache import ResponseCache
from .items import GradingItem
from .limits import SharedLimits, estimated_tokens

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429})  # plus every 5xx


class MalformedReply(Exception):
    """An HTTP 200 that carries no answer (see the module docstring): retried, never cached."""


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
        self.limits = SharedLimits(cache.path.parent / "limits", name, concurrency=self.concurrency,
                                   requests_per_minute=settings["requests_per_minute"],
                                   tokens_per_minute=settings["tokens_per_minute"])
        self.timeout_s = float(settings["timeout_s"])
        self.retries = int(settings["retries"])
        self.backoff_s = float(settings["backoff_s"])
        self.max_backoff_s = float(settings["max_backoff_s"])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "api_key_env": self.api_key_env, **self.limits.describe(),
                "timeout_s": self.timeout_s, "retries": self.retries}

    def _api_key(self) -> str:
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ConfigError(f"judge '{self.name}' reads its API key from the environment variable "
                              f"{self.api_key_env}, which is not set",
                              key=f"judges.{self.name}.api_key_env")
        redact.register(key)  # whatever the variable's name, its value is scrubbed from every message
        return key

    def close(self) -> None:
        self.limits.close()
        super().close()

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
        estimate = estimated_tokens(item.prompt, self.max_tokens)
        while True:
            attempt += 1
            self.stats.calls += 1
            try:
                # The slot is held while the request is in flight, not while a retry waits.
                async with self.limits.request(estimate) as admission:
                    reply = await self._ask(client, item)
                    admission.used(reply.prompt_tokens + reply.completion_tokens)
                    return reply
            except (openai.APIError, MalformedReply) as error:
                if not is_transient(error) or attempt > self.retries:
                    raise self._failure(item, error, attempt) from None
                # A server that says how long to wait (Retry-After) knows better than our backoff.
                delay = max(self.backoff_delay(attempt - 1), min(retry_after_s(error) or 0.0, self.max_backoff_s))
                self.stats.retries += 1
                log.warning(redact.scrub(f"judge {self.name}: {describe_error(error)} for {item.describe()}; "
                                         f"retry {attempt} of {self.retries} in {delay:.2f} s"))
                await asyncio.sleep(delay)

    async def _ask(self, client: openai.AsyncOpenAI, item: GradingItem) -> Reply:
        try:
            response = await client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": item.prompt}],
                **{name: value for name, value in self.sampling.items() if value is not None},
            )
        except ValueError as error:  # json.JSONDecodeError, pydantic's ValidationError: a 200 we cannot read
            raise MalformedReply(f"the body is not a chat completion ({type(error).__name__}: "
                                 f"{str(error)[:200]})") from None
        usage = getattr(response, "usage", None)
        return Reply(text=redact.scrub(answer_text(response)),
                     prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                     completion_tokens=getattr(usage, "completion_tokens", 0) or 0)

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: about backoff_s x 2**attempt, between half and all of it.

        The jitter spreads out concurrent requests that were rate-limited together.
        """
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _failure(self, item: GradingItem, error: BaseException, attempts: int) -> JudgeError:
        # An API error message should never echo a key, but a careless server's may: scrubbed.
        return JudgeError(redact.scrub(f"judge '{self.name}' (model {self.model}) could not grade "
                                       f"{item.describe()} after {attempts} attempt(s): {describe_error(error)}"))


def answer_text(response: Any) -> str:
    """The answer in a chat completion; MalformedReply, saying what is wrong, when there is none."""
    if isinstance(response, str):  # the client hands back the text of a body that is not JSON
        raise MalformedReply(f"the body is not a chat completion: {response[:200]!r}")
    error = getattr(response, "error", None)
    if error:  # some proxies and gateways answer 200 with {"error": {...}}
        message = error.get("message", error) if isinstance(error, dict) else error
        raise MalformedReply(f"an error object instead of a completion: {str(message)[:300]}")
    choices = getattr(response, "choices", None)
    if choices is None:
        raise MalformedReply("no 'choices' in the completion")
    if not choices:
        raise MalformedReply("an empty list of 'choices'")
    content = getattr(getattr(choices[0], "message", None), "content", None)
    if content is None:
        raise MalformedReply("the message's content is null")
    if not isinstance(content, str) or not content.strip():
        raise MalformedReply("the message's content is empty")
    return content


def is_transient(error: BaseException) -> bool:
    """Worth retrying: rate limits, server errors, timeouts, dropped connections, malformed replies."""
    if isinstance(error, (openai.APIConnectionError, MalformedReply)):  # includes APITimeoutError
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
    """A one-line description, scrubbed of secrets: the HTTP status if any, the error type and its
    message."""
    status = f"HTTP {error.status_code} " if isinstance(error, openai.APIStatusError) else ""
    status = "HTTP 200 " if isinstance(error, MalformedReply) else status
    text = f"{status}{type(error).__name__}: {str(error)[:300]}"
    cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if cause is not None:  # "Connection error." says little; the transport's error says why
        text += f" (from {type(cause).__name__}: {str(cause)[:200]})"
    return redact.scrub(text)
