"""Secret values, and the one function that takes them out of any text: :func:`scrub`.

A secret is never logged, printed or written on purpose: configs and params hold the *names* of
environment variables, never their values. As a second line of defence every log record, console
line, traceback, error message and provenance sidecar goes through :func:`scrub`, which replaces
by ``***``

- the value of every environment variable whose name looks secret (``KEY``, ``TOKEN``,
  ``SECRET``, ``PASSWORD``, ``CREDENTIAL``: ``HF_TOKEN``, ``GEMINI_API_KEY``, ...), and
- every value :func:`register` was given: code that reads a secret from a variable with any other
  name (a judge's ``api_key_env`` may be called anything) registers the value as it reads it.

Values shorter than :data:`MIN_LENGTH` characters are left alone: replacing ``1`` or ``true``
everywhere would garble text without protecting anything.
"""

from __future__ import annotations

import os
import re

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
MIN_LENGTH = 6
MASK = "***"

_registered: set[str] = set()


def register(value: str | None) -> None:
    """Treat ``value`` as a secret from now on, in this process."""
    if value and len(value) >= MIN_LENGTH:
        _registered.add(value)


def secret_values() -> list[str]:
    """Every value :func:`scrub` removes, longest first (a secret containing another goes whole)."""
    from_environment = {value for name, value in os.environ.items()
                        if SECRET_NAME.search(name) and len(value) >= MIN_LENGTH}
    return sorted(from_environment | _registered, key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for value in secret_values():
        text = text.replace(value, MASK)
    return text
