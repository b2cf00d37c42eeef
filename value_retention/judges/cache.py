"""A response cache for model judges: a re-run never pays twice for an answered prompt.

One SQLite database per cache folder, shared by every judge job of the workflow (Snakemake may run
several at once: WAL journaling lets them read while one writes, and a busy timeout makes writers
wait their turn). Each answer is committed the moment it arrives, so a job that crashes or is
killed keeps everything answered before it died.

The key is the sha256 of everything that decides an answer: the key scheme's version, the judge
model, its base URL (if any), the sampling settings as sent (temperature, top_p and the answer's
token limit, each null where the provider's default applies: a shorter limit can cut a grade off),
the exact prompt text, and, when sampling is stochastic, which draw this is. A judge at temperature
0 answers a prompt the same way every time, so identical prompts share one answer; at a positive
temperature, or with the provider's default (Gemini's is 1.0), every epoch of every run is a draw
of its own, as every call is in the reference, so the key names the run, the epoch and the draw
index. ``KEY_SCHEME`` is in every key: responses stored under an older scheme (scheme 1 keyed
stochastic draws of one prompt together) are never read as answers to a newer one.

Only successful responses are stored, whether or not their grade parses; API errors never are,
so a transient failure is retried on the next run rather than remembered.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CACHE_FILE = "responses.sqlite"


KEY_SCHEME = 2


def cache_key(*, model: str, base_url: str | None, sampling: Mapping[str, Any], prompt: str,
              draw: Mapping[str, Any] | None = None) -> str:
    """sha256 over a canonical JSON of everything that decides a judge's answer.

    ``sampling`` holds the settings as sent (None: not sent); ``draw`` says which draw this is
    (None for deterministic sampling, where every draw of a prompt is the same answer).
    """
    identity = {"scheme": KEY_SCHEME, "model": model, "base_url": base_url, "sampling": dict(sampling),
                "prompt": prompt, "draw": dict(draw) if draw is not None else None}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ResponseCache:
    """Cached judge responses in ``<cache_dir>/responses.sqlite``."""

    def __init__(self, cache_dir: str | os.PathLike, busy_timeout_s: float = 60.0):
        self.path = Path(cache_dir) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses ("
            " key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL,"
            " prompt_tokens INTEGER, completion_tokens INTEGER, created REAL NOT NULL)"
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """The cached response text for every key that has one."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):  # stay below SQLite's bound-parameter limit
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, response FROM responses WHERE key IN ({marks})", chunk)
            found.update(rows.fetchall())
        return found

    def put(self, key: str, *, model: str, response: str, prompt_tokens: int = 0,
            completion_tokens: int = 0) -> None:
        """Store one response and commit at once (autocommit), so it survives a crash."""
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
            (key, model, response, prompt_tokens, completion_tokens, time.time()),
        )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self._db.close()
