"""Errors that name the file, the row or the config key that caused them."""

from __future__ import annotations


class ValueRetentionError(Exception):
    """Base class for errors a user can act on (bad input, bad config)."""


class ConfigError(ValueRetentionError):
    """The workflow config is malformed. ``key`` is a dotted path into the config."""

    def __init__(self, message: str, key: str | None = None, source: str | None = None):
        self.message = message
        self.key = key
        self.source = source
        where = ", ".join(part for part in (source, f"key '{key}'" if key else None) if part)
        super().__init__(f"{where}: {message}" if where else message)

    def located(self, source: str) -> ConfigError:
        """The same error, naming the config file it came from."""
        return ConfigError(self.message, key=self.key, source=source)


class ConfigErrors(ConfigError):
    """Several config problems found at once (a schema's findings): the first few, one line each,
    then how many more. ``key`` and ``source`` are the first problem's."""

    def __init__(self, problems: list[ConfigError], shown: int = 3):
        self.problems = list(problems)
        first = self.problems[0]
        self.message, self.key, self.source = first.message, first.key, first.source
        lines = [str(problem) for problem in self.problems[:shown]]
        if len(self.problems) > shown:
            lines.append(f"(and {len(self.problems) - shown} more)")
        Exception.__init__(self, "\n".join(lines))


class DataError(ValueRetentionError):
    """A data file is malformed. ``row`` is 1-based (the line number in a JSONL file)."""

    def __init__(self, message: str, path: str | None = None, row: int | None = None):
        self.path = str(path) if path is not None else None
        self.row = row
        where = self.path or "<data>"
        if row is not None:
            where += f", row {row}"
        super().__init__(f"{where}: {message}")


class LaunchError(ValueRetentionError):
    """A training stage launched on several processes failed (their own errors are in the job's log)."""


class NoLearningError(ValueRetentionError):
    """A training stage learned nothing (zero gradients, rewards that never vary, a loss that never
    moved) and its block says ``no_learning: error``."""
