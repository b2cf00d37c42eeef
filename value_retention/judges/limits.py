"""A judge's limits, held across every job that uses it: requests in flight, per minute, tokens.

Snakemake runs many judge jobs at once (one per benchmark, condition and seed), each a process of
its own, while a provider's limits are per account. So the limits of a judge live beside its
response cache, where all its jobs meet: API judges are local rules, so every job of a judge runs
on the one host that runs Snakemake, and the cache folder is on that host's file system.

- ``concurrency``: requests in flight, over all jobs of the judge. Each request holds one of
  ``concurrency`` slot files (``<cache_dir>/limits/<judge>/slot-<i>.lock``, an exclusive
  ``fcntl.flock``) while it is in flight. The kernel drops a process's locks when it dies, so a
  killed job never keeps a slot.
- ``requests_per_minute`` and ``tokens_per_minute`` (optional): a sliding 60-second window of the
  requests admitted, in ``<cache_dir>/limits/admitted.sqlite`` (one SQLite transaction admits a
  request, so two jobs cannot both take the last place). A request's tokens are counted, before
  it is sent, as its prompt's UTF-8 bytes / 4 plus ``max_tokens`` (what providers reserve), then
  corrected to the usage the reply reports. One request larger than the whole token budget is
  admitted alone, in an empty window, rather than never.

A 429 the provider sends anyway is retried with backoff, as before (openai_judge.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

from .cache import connect_shared

WINDOW_S = 60.0
POLL_S = 0.02   # how often a request waiting for a slot looks again


class Admission:
    """One admitted request; :meth:`used` corrects its token count once the reply says it."""

    def __init__(self, limits: SharedLimits, row: int | None):
        self._limits, self._row = limits, row

    def used(self, tokens: int) -> None:
        if self._row is not None and tokens > 0:
            self._limits._db.execute("UPDATE admitted SET tokens = ? WHERE rowid = ?", (int(tokens), self._row))


class SharedLimits:
    """The limits of judge ``name``, shared through the folder ``folder`` (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike, name: str, *, concurrency: int,
                 requests_per_minute: int | None = None, tokens_per_minute: int | None = None,
                 window_s: float = WINDOW_S, poll_s: float = POLL_S):
        self.name = name
        self.concurrency = int(concurrency)
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.window_s, self.poll_s = float(window_s), float(poll_s)
        self.folder = Path(folder)
        self.slot_dir = self.folder / name
        self.slot_dir.mkdir(parents=True, exist_ok=True)
        self._db: sqlite3.Connection | None = None
        if requests_per_minute or tokens_per_minute:
            self._db = connect_shared(self.folder / "admitted.sqlite")
            self._db.execute("CREATE TABLE IF NOT EXISTS admitted (judge TEXT NOT NULL, at REAL NOT NULL,"
                             " tokens INTEGER NOT NULL)")

    def describe(self) -> dict[str, object]:
        return {"concurrency": self.concurrency, "requests_per_minute": self.requests_per_minute,
                "tokens_per_minute": self.tokens_per_minute, "shared_through": str(self.folder)}

    @contextlib.asynccontextmanager
    async def request(self, estimated_tokens: int) -> AsyncIterator[Admission]:
        """Wait for a free slot and a place in the window; hold the slot while the block runs."""
        slot = await self._take_slot()
        try:
            yield Admission(self, await self._admit(estimated_tokens))
        finally:
            os.close(slot)  # closing the descriptor releases its lock

    async def _take_slot(self) -> int:
        order = list(range(self.concurrency))
        while True:
            random.shuffle(order)  # waiters spread over the slots instead of all trying slot 0
            for index in order:
                fd = os.open(self.slot_dir / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    os.close(fd)
            await asyncio.sleep(self.poll_s * (1 + random.random()))

    async def _admit(self, tokens: int) -> int | None:
        if self._db is None:
            return None
        while True:
            row, wait = self._try_admit(tokens)
            if row is not None:
                return row
            await asyncio.sleep(wait + self.poll_s * random.random())

    def _try_admit(self, tokens: int) -> tuple[int | None, float]:
        """Admit now (the row id, 0) or say how long until the window has room (None, seconds)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # one admission at a time, over every process
        try:
            now = time.time()
            db.execute("DELETE FROM admitted WHERE judge = ? AND at <= ?", (self.name, now - self.window_s))
            window = db.execute("SELECT at, tokens FROM admitted WHERE judge = ? ORDER BY at",
                                (self.name,)).fetchall()
            for dropped in range(len(window) + 1):  # the requests that must leave the window first
                kept = window[dropped:]
                if self._fits(len(kept), sum(t for _, t in kept), tokens):
                    break
            if dropped == 0:
                row = db.execute("INSERT INTO admitted VALUES (?, ?, ?)", (self.name, now, int(tokens))).lastrowid
                db.execute("COMMIT")
                return row, 0.0
            db.execute("COMMIT")
            return None, max(0.0, window[dropped - 1][0] + self.window_s - now)
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _fits(self, requests: int, tokens_in_window: int, tokens: int) -> bool:
        if self.requests_per_minute and requests + 1 > self.requests_per_minute:
            return False
        if self.tokens_per_minute and requests and tokens_in_window + tokens > self.tokens_per_minute:
            return False
        return True

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def estimated_tokens(prompt: str, max_tokens: int | None) -> int:
    """What a request counts against a token budget before its usage is known."""
    return math.ceil(len(prompt.encode("utf-8")) / 4) + (max_tokens or 0)
