"""JSON Lines and JSON I/O with row-level errors and atomic writes.

Every writer goes through :func:`atomic_path`: the file appears under its final name only once it
is complete, so a killed job never leaves a partial file that looks finished.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import DataError

log = logging.getLogger(__name__)

# Rows above this size are named in a warning (a dataset's `warn_row_bytes` sets its own): a
# 10 MiB training document is more likely a concatenation or a dump than a document.
LARGE_ROW_BYTES = 1 << 20


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_jsonl(path: str | os.PathLike, required: Sequence[str] = (),
               warn_row_bytes: int | None = LARGE_ROW_BYTES,
               large_rows: list[tuple[int, int]] | None = None) -> list[dict[str, Any]]:
    """Read a JSONL file; every row must be an object holding the ``required`` fields.

    Blank lines are ignored. Errors name the file and the 1-based line number: a line that is not
    UTF-8 (with the byte's column), not JSON, not an object, or lacking a field, and a last line
    cut off before its end (a file copied or written only in part). Rows longer than
    ``warn_row_bytes`` bytes are read, and each is named in a warning (None: no warning) and,
    as (line, bytes), appended to ``large_rows`` if given.
    """
    rows = []
    large = large_rows if large_rows is not None else []
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = decode_line(raw, path, line_no)
            if not line.strip():
                continue
            if warn_row_bytes is not None and len(raw) > warn_row_bytes:
                large.append((line_no, len(raw)))
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                cut = " (the file's last line ends without a newline: it looks cut off)" \
                    if not raw.endswith(b"\n") else ""
                raise DataError(f"not valid JSON ({exc.msg}){cut}", path, line_no) from None
            if not isinstance(row, dict):
                raise DataError("a row must be a JSON object", path, line_no)
            missing = [field for field in required if field not in row]
            if missing:
                raise DataError(f"missing field(s) {', '.join(map(repr, missing))}", path, line_no)
            row["_row"] = line_no
            rows.append(row)
    for line_no, size in large:
        log.warning("%s, row %d: %s bytes, above %s bytes (warn_row_bytes); read as it is", path, line_no,
                    f"{size:,}", f"{warn_row_bytes:,}")
    return rows


def decode_line(raw: bytes, path: str | os.PathLike, line_no: int) -> str:
    """One line of a text file as UTF-8; a DataError naming the file, line and column if it is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} ({exc.reason}); "
                        "re-encode the file as UTF-8", path, line_no) from None


def strip_row_numbers(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "_row"}


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically; returns the number of rows written."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(strip_row_numbers(row), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_json(path: str | os.PathLike) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc.msg} at line {exc.lineno})", path) from None


def write_json(path: str | os.PathLike, data: Any) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        json.dump(plain(data), handle, indent=2, ensure_ascii=False, allow_nan=False, default=_jsonable)
        handle.write("\n")


def plain(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, dict keys to strings, NaN and infinities to null
    (JSON has no spelling for them, and null reads as 'no value')."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars and paths, which json does not know."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
