"""A response cache for model judges: a re-run never pays twice for an answered prompt.

One SQLite database per cache folder, shared by every judge job of the workflow (Snakemake may run
several at once: WAL journaling lets them read while one writes, and a busy timeout makes writers
wait their turn). Each answer is committed the moment it arrives, so a job that crashes or is
killed keeps everything answered before it died.

The key is the sha256 of everything that decides an answer: the key scheme's version, the judge
model, the sampling settings as sent (temperature, top_p and the answer's token limit, each null
where the provider's default applies: a shorter limit can cut a grade off), the exact prompt text,
and, when sampling is stochastic, which draw this is. A judge at temperature 0 answers a prompt the
same way every time, so identical prompts share one answer; at a positive temperature, or with the
provider's default (Gemini's is 1.0), every epoch of every run is a draw of its own, as every call
is in the reference, so the key names the run, the epoch and the draw index.

The server's address is not part of the key: the model name says what answers, so a vLLM judge
server that moves to another node (a new ``base_url``) keeps its answers. Two servers that serve
different weights under one model name would share answers: give them different names (vLLM's
``--served-model-name``).

``KEY_SCHEME`` is in every key, and in a column of every row: responses stored under an older
scheme are never read as answers to a newer one (scheme 1 keyed stochastic draws of one prompt
together; scheme 2 keyed the base URL too, so scheme-2 answers are asked once more after the
upgrade; ``value-retention cache`` counts them and ``--purge-old-schemes`` removes them).

Only well-formed answers are stored (:func:`well_formed`: a non-blank text), whether or not their
grade parses. API errors and malformed replies (no choices, an error object, empty or null
content, a body that is not JSON) never are, so they are asked again on the next run rather than
remembered; an empty answer found in a cache written by an older version is not read either, and
``value-retention cache --purge`` removes such rows.
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
KEY_SCHEME = 3


def cache_key(*, model: str, sampling: Mapping[str, Any], prompt: str,
              draw: Mapping[str, Any] | None = None) -> str:
    """sha256 over a canonical JSON of everything that decides a judge's answer.

    ``sampling`` holds the settings as sent (None: not sent); ``draw`` says which draw this is
    (None for deterministic sampling, where every draw of a prompt is the same answer).
    """
    identity = {"scheme": KEY_SCHEME, "model": model, "sampling": dict(sampling), "prompt": prompt,
                "draw": dict(draw) if draw is not None else None}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def well_formed(response: str | None) -> bool:
    """Whether a stored response is an answer at all: text that is not blank."""
    return isinstance(response, str) and bool(response.strip())


def connect_shared(path: str | os.PathLike, busy_timeout_s: float = 60.0) -> sqlite3.Connection:
    """An SQLite connection that several jobs share: WAL journaling and a busy timeout. Switching a
    new database to WAL takes a lock that the busy timeout does not wait for, so two jobs opening
    it at once retry the switch until the timeout instead of failing with "database is locked"."""
    db = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return db
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.05)


class MalformedResponse(ValueError):
    """Raised by :meth:`ResponseCache.put` for a response that is not an answer."""


class ResponseCache:
    """Cached judge responses in ``<cache_dir>/responses.sqlite``."""

    def __init__(self, cache_dir: str | os.PathLike, busy_timeout_s: float = 60.0, create: bool = True):
        self.path = Path(cache_dir) / CACHE_FILE
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"no response cache at {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect_shared(self.path, busy_timeout_s)
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses ("
            " key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL,"
            " prompt_tokens INTEGER, completion_tokens INTEGER, created REAL NOT NULL, scheme INTEGER)"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
        if "scheme" not in columns:  # a cache written before schemes were recorded (schemes 1 and 2)
            self._db.execute("ALTER TABLE responses ADD COLUMN scheme INTEGER")

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """The cached response text for every key that has a well-formed one."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):  # stay below SQLite's bound-parameter limit
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, response FROM responses WHERE key IN ({marks})", chunk)
            found.update((key, text) for key, text in rows.fetchall() if well_formed(text))
        return found

    def put(self, key: str, *, model: str, response: str, prompt_tokens: int = 0,
            completion_tokens: int = 0) -> None:
        """Store one well-formed response and commit at once (autocommit), so it survives a crash."""
        if not well_formed(response):
            raise MalformedResponse(f"refusing to cache a response that is not an answer: {response!r}")
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, model, response, prompt_tokens, completion_tokens, time.time(), KEY_SCHEME),
        )

    def report(self) -> dict[str, Any]:
        """What the cache holds: entries per model and key scheme, and how many are malformed."""
        rows = self._db.execute("SELECT model, scheme, response FROM responses").fetchall()
        by_model: dict[str, int] = {}
        old_schemes = malformed = 0
        for model, scheme, response in rows:
            by_model[model] = by_model.get(model, 0) + 1
            old_schemes += scheme != KEY_SCHEME
            malformed += not well_formed(response)
        return {"path": str(self.path), "entries": len(rows), "by_model": by_model, "key_scheme": KEY_SCHEME,
                "old_schemes": old_schemes, "malformed": malformed}

    def purge(self, *, malformed: bool = True, old_schemes: bool = False) -> dict[str, int]:
        """Delete malformed responses (and, if asked, those of older key schemes); returns the counts."""
        removed = {"malformed": 0, "old_schemes": 0}
        if malformed:
            removed["malformed"] = self._db.execute(
                "DELETE FROM responses WHERE response IS NULL OR trim(response, ' ' || char(9, 10, 13)) = ''"
            ).rowcount
        if old_schemes:
            removed["old_schemes"] = self._db.execute(
                "DELETE FROM responses WHERE scheme IS NULL OR scheme != ?", (KEY_SCHEME,)).rowcount
        return removed

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self._db.close()
