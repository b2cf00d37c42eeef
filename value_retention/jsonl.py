"""JSON Lines and JSON I/O with row-level errors and atomic writes.

Every writer goes through :func:`atomic_path`: the file appears under its final name only once it
is complete, so a killed job never leaves a partial file that looks finished.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import DataError


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


def read_jsonl(path: str | os.PathLike, required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Read a JSONL file; every row must be an object holding the ``required`` fields.

    Blank lines are ignored. Errors name the file and the 1-based line number.
    """
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"not valid JSON ({exc.msg})", path, line_no) from None
            if not isinstance(row, dict):
                raise DataError("a row must be a JSON object", path, line_no)
            missing = [field for field in required if field not in row]
            if missing:
                raise DataError(f"missing field(s) {', '.join(map(repr, missing))}", path, line_no)
            row["_row"] = line_no
            rows.append(row)
    return rows


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
