"""One logging set-up for every job: a job's output goes to its rule's log file.

Snakemake runs each job's script in a process of its own, and every script runs inside
``provenance.record(snakemake)``, which calls :func:`to_log_file` with the rule's ``log:`` path.
For the length of the job, the process's standard output and error (file descriptors 1 and 2, so
Python logging, warnings, tqdm progress bars, prints of libraries, C extensions and child
processes such as accelerate's training processes or latexmk alike) are appended to that file,
and the console shows only Snakemake's own lines and progress.

When the job fails, the log ends with the traceback, and the console gets one line: the error
and the log's path. A script run without a log (by hand, or in a test) keeps the console.

Secrets are never logged on purpose (params hold the names of environment variables, not their
values); as a second line of defence, as for the provenance sidecars, every log record, the
traceback and the failure line are scrubbed of every secret value (value_retention.redact).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from . import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log one INFO line per HTTP request or file lock.
QUIET_LOGGERS = ("httpx", "httpx2", "httpcore", "openai", "urllib3", "filelock")
HANDLER_NAME = "value_retention.joblog"


class ScrubbingFormatter(logging.Formatter):
    """The one format, with secret values replaced by ``***``."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def scrub(text: str) -> str:
    return redact.scrub(text)


def configure(level: int = logging.INFO) -> None:
    """The one logging configuration: records of ``level`` and above to standard error (as it is
    now), in one format, warnings included. Calling it again replaces its handler and leaves
    others alone (a test's log capture, say)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(ScrubbingFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(min(root.level, level))  # never less verbose than someone asked for
    logging.captureWarnings(True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def to_log_file(path: str | os.PathLike | None, job: str = "job") -> Iterator[None]:
    """Append this process's standard output and error to ``path`` while the block runs.

    ``path`` None leaves them where they are (the console) and only configures logging.
    """
    if path is None:
        configure()
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    console_fds = os.dup(1), os.dup(2)
    console_streams = sys.stdout, sys.stderr
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    os.dup2(log_fd, 1)  # child processes and C code write to the descriptors...
    os.dup2(log_fd, 2)
    os.close(log_fd)
    # ...Python code to sys.stdout and sys.stderr, whatever they were (a test's capture, say).
    # Line-buffered, so prints and log lines keep their order in the file.
    sys.stdout = sys.stderr = open(path, "a", buffering=1, encoding="utf-8", errors="backslashreplace")
    configure()
    try:
        yield
    except BaseException as exc:
        sys.stderr.write(scrub(traceback.format_exc()))
        _restore(console_fds, console_streams)
        print(scrub(f"{job} failed: {type(exc).__name__}: {exc} (traceback in {path})"), file=sys.stderr)
        _quiet_traceback_of(exc)
        raise
    _restore(console_fds, console_streams)


def _restore(console_fds: tuple[int, int], console_streams: tuple) -> None:
    log_stream = sys.stdout
    log_stream.flush()
    sys.stdout, sys.stderr = console_streams
    log_stream.close()
    for target, saved in zip((1, 2), console_fds):
        os.dup2(saved, target)
        os.close(saved)
    configure()  # log records go to the console's stream again


def _quiet_traceback_of(failure: BaseException) -> None:
    """The log has this exception's traceback and the console its one line: if it ends the process,
    the interpreter need not print the traceback a second time. Other exceptions print as usual."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if exc is not failure:
            previous(exc_type, exc, tb)

    sys.excepthook = hook
