"""Training datasets: download raw rows, then normalise them to the formats the trainers read.

Two steps, two files (docs/contracts.md):

1. ``R/raw/{dataset}.jsonl``: rows in the real Hugging Face schema of the dataset's ``format``,
   made by :mod:`value_retention.tiny_world` (tiny world), :func:`download` (``source: hub``, where
   the network is) or :func:`load_local` (``source: local``, a file the user already has).
2. ``R/data/{dataset}.jsonl``: normalised rows, made by :func:`prepare`:

   ====================================  ========================================================
   format                                normalised row
   ====================================  ========================================================
   text                                  ``{id, text}`` (mid-training, pre-training)
   dolly, magicoder, messages            ``{id, messages: [user, assistant]}`` (SFT)
   rlhflow, magicoder_prompts, prompts   ``{id, prompt: [messages ending with user], tests, reference}`` (GRPO)
   ====================================  ========================================================

A row that lacks a required field, or whose value is empty where an empty value cannot be used
(an empty instruction, an empty response), is a :class:`DataError` naming the file and the row:
the normaliser never drops rows quietly.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import schema
from .errors import ConfigError, DataError
from .jsonl import LARGE_ROW_BYTES, decode_line, read_jsonl, write_jsonl

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")
LOCAL_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


class RowReader:
    """Reads fields of one raw row; every complaint names the file and the row."""

    def __init__(self, row: Mapping[str, Any], path: str | os.PathLike):
        self.row, self.path, self.line = row, os.fspath(path), row.get("_row")

    def error(self, message: str) -> DataError:
        return DataError(message, self.path, self.line)

    def text(self, field: str, *, required: bool = True) -> str:
        """A string field. ``required``: it must be present and non-blank; otherwise missing or
        null reads as ""."""
        value = self.row.get(field)
        if value is None:
            if required:
                raise self.error(f"missing field '{field}'" if field not in self.row else f"field '{field}' is null")
            return ""
        if not isinstance(value, str):
            raise self.error(f"field '{field}' must be a string, got {type(value).__name__}")
        if required and not value.strip():
            raise self.error(f"field '{field}' is empty")
        return value

    def optional_text(self, field: str) -> str | None:
        """A string field that may be missing, null or blank (all read as None)."""
        value = self.text(field, required=False)
        return value if value.strip() else None

    def messages(self, field: str, *, last_role: str) -> list[dict[str, str]]:
        """A chat: a non-empty list of {role, content}, known roles, non-blank content, ending
        with ``last_role``. Extra keys on a message are left out of the result."""
        value = self.row.get(field)
        if value is None:
            raise self.error(f"missing field '{field}'")
        if not isinstance(value, list) or not value:
            raise self.error(f"field '{field}' must be a non-empty list of messages")
        chat = []
        for index, message in enumerate(value):
            where = f"{field}[{index}]"
            if not isinstance(message, Mapping):
                raise self.error(f"{where} must be an object with 'role' and 'content'")
            role, content = message.get("role"), message.get("content")
            if role not in ROLES:
                raise self.error(f"{where} has role {role!r} (expected one of {', '.join(ROLES)})")
            if not isinstance(content, str) or not content.strip():
                raise self.error(f"{where} has empty or missing 'content'")
            chat.append({"role": role, "content": content})
        if chat[-1]["role"] != last_role:
            raise self.error(f"field '{field}' must end with role '{last_role}' "
                             f"(it ends with '{chat[-1]['role']}')")
        return chat

    def tests(self, field: str = "tests") -> str | None:
        """Unit tests: a string of Python, or a list of lines (joined); missing or blank is None."""
        value = self.row.get(field)
        if isinstance(value, list):
            if not all(isinstance(line, str) for line in value):
                raise self.error(f"field '{field}' must be a string or a list of strings")
            value = "\n".join(value)
            return value if value.strip() else None
        return self.optional_text(field)


# ---------------------------------------------------------------------------------------------
# One normaliser per raw format: a raw row -> the normalised fields (without the id).

def _user_assistant(user: str, assistant: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


def _grpo_prompt(prompt: list[dict[str, str]], tests: str | None, reference: str | None) -> dict[str, Any]:
    return {"prompt": prompt, "tests": tests, "reference": reference}


def normalise_text(row: RowReader) -> dict[str, Any]:
    return {"text": row.text("text")}


def normalise_dolly(row: RowReader) -> dict[str, Any]:
    """Dolly's non-empty ``context`` (the passage a closed_qa or summarization task reads) goes
    after the instruction, separated by a blank line."""
    instruction, context = row.text("instruction"), row.text("context", required=False)
    user = f"{instruction}\n\n{context}" if context.strip() else instruction
    return _user_assistant(user, row.text("response"))


def normalise_magicoder(row: RowReader) -> dict[str, Any]:
    return _user_assistant(row.text("instruction"), row.text("response"))


def normalise_messages(row: RowReader) -> dict[str, Any]:
    return {"messages": row.messages("messages", last_role="assistant")}


def normalise_rlhflow(row: RowReader) -> dict[str, Any]:
    """The whole conversation is the prompt (TRL's conversational format); it must end with the
    user turn the policy answers."""
    return _grpo_prompt(row.messages("context_messages", last_role="user"), None, None)


def normalise_magicoder_prompts(row: RowReader) -> dict[str, Any]:
    """The instruction is the prompt; Magicoder's response becomes the reference answer, and
    ``tests`` (absent in the real dataset) the assert lines the code reward runs."""
    prompt = [{"role": "user", "content": row.text("instruction")}]
    return _grpo_prompt(prompt, row.tests(), row.optional_text("response"))


def normalise_prompts(row: RowReader) -> dict[str, Any]:
    """Already-normalised GRPO rows: ``prompt`` as a chat or a plain string."""
    if isinstance(row.row.get("prompt"), str):
        prompt = [{"role": "user", "content": row.text("prompt")}]
    else:
        prompt = row.messages("prompt", last_role="user")
    return _grpo_prompt(prompt, row.tests(), row.optional_text("reference"))


NORMALISERS: dict[str, Callable[[RowReader], dict[str, Any]]] = {
    "text": normalise_text,
    "dolly": normalise_dolly,
    "magicoder": normalise_magicoder,
    "messages": normalise_messages,
    "rlhflow": normalise_rlhflow,
    "magicoder_prompts": normalise_magicoder_prompts,
    "prompts": normalise_prompts,
}


def _row_id(row: RowReader, prefix: str) -> str:
    """The raw row's own ``id`` where it has one, else ``{prefix}-{line number}``: stable for a
    given raw file, whatever else changes downstream."""
    raw_id = row.row.get("id")
    if raw_id is not None and str(raw_id).strip():
        return str(raw_id)
    return f"{prefix}-{row.line:06d}"


def prepare(raw_path: str | os.PathLike, fmt: str, out_path: str | os.PathLike,
            id_prefix: str | None = None, warn_row_bytes: int | None = LARGE_ROW_BYTES) -> dict[str, Any]:
    """Normalise the raw rows of ``raw_path`` (schema ``fmt``) and write them to ``out_path``.

    ``id_prefix`` (default: the raw file's name without extension, i.e. the dataset's name)
    prefixes ids made from line numbers. Rows above ``warn_row_bytes`` bytes (the dataset's
    ``warn_row_bytes``) are kept, named in a warning and counted. Returns counts for the
    provenance sidecar.
    """
    if fmt not in NORMALISERS:
        raise ValueError(f"unknown dataset format '{fmt}' (known: {', '.join(NORMALISERS)})")
    large: list[tuple[int, int]] = []
    raw_rows = read_jsonl(raw_path, warn_row_bytes=warn_row_bytes, large_rows=large)
    if not raw_rows:
        raise DataError("the raw file has no rows", raw_path)
    prefix = id_prefix or Path(raw_path).stem
    normalise = NORMALISERS[fmt]
    first_line_of: dict[str, int] = {}
    rows = []
    for raw in raw_rows:
        reader = RowReader(raw, raw_path)
        row_id = _row_id(reader, prefix)
        if row_id in first_line_of:
            raise reader.error(f"id {row_id!r} was already used by row {first_line_of[row_id]}")
        first_line_of[row_id] = reader.line
        rows.append({"id": row_id, **normalise(reader)})
    write_jsonl(out_path, rows)
    counts = {"format": fmt, "n_raw": len(raw_rows), "n_written": len(rows),
              "large_rows": [{"row": line, "bytes": size} for line, size in large], "warn_row_bytes": warn_row_bytes}
    if fmt == "dolly":
        counts["n_with_context"] = sum(1 for raw in raw_rows if (raw.get("context") or "").strip())
    if fmt in ("magicoder_prompts", "prompts"):
        counts["n_with_tests"] = sum(1 for row in rows if row["tests"] is not None)
    log.info("prepared %s: %d rows (%s) -> %s", raw_path, len(rows), fmt, out_path)
    return counts


# ---------------------------------------------------------------------------------------------
# Getting the raw rows: the hub (paper world) or a local file.

def download(spec: Mapping[str, Any], out_path: str | os.PathLike) -> dict[str, Any]:
    """Write the raw rows of a ``source: hub`` or ``source: local`` dataset entry to ``out_path``.

    Hub: ``datasets.load_dataset(repo, revision=..., split=...)``; the token for a gated repo
    comes from ``HF_TOKEN`` in the environment, never from the config. Needs the network, so the
    workflow runs it as a local rule; the tiny world never calls it. The entry is checked against
    the config schema, whose defaults it takes (``split``, ``shuffle_seed``).
    """
    spec = schema.resolved("dataset", spec, key="dataset")
    source = spec["source"]
    if source == "local":
        return load_local(spec, out_path)
    if source != "hub":
        raise ConfigError(f"source '{source}' has nothing to download (tiny datasets are made by "
                          "value_retention.tiny_world)", key="source")
    from datasets import load_dataset

    from . import hub_revisions

    # The revision is resolved to a commit once and that commit is loaded, so the rows and the SHA
    # in provenance agree even if the branch moves meanwhile.
    commit = hub_revisions.resolve(spec["repo"], spec.get("revision"), repo_type="dataset")
    log.info("downloading %s (revision %s = commit %s, split %s)", spec["repo"], spec.get("revision"), commit,
             spec["split"])
    dataset = load_dataset(spec["repo"], revision=commit, split=spec["split"])
    written = write_raw(dataset, spec, out_path, origin=spec["repo"])
    return {**written, **hub_revisions.record(spec["repo"], spec.get("revision"), commit)}


def load_local(spec: Mapping[str, Any], out_path: str | os.PathLike) -> dict[str, Any]:
    """Copy a user's JSONL, JSON, Parquet or CSV file (``spec["path"]``) into the raw JSONL."""
    spec = schema.resolved("dataset", spec, key="dataset")
    return write_raw(read_local_table(spec["path"], split=spec["split"]), spec, out_path,
                     origin=spec["path"])


def read_local_table(path: str | os.PathLike, split: str = "train"):
    """A local data file as a ``datasets.Dataset`` (the builder is chosen by the extension).

    The file is checked first, so that bad data is named by file and line rather than surfacing
    from inside ``datasets`` as a bare ``UnicodeDecodeError``, ``StopIteration`` or 0-based row:
    an empty file, text that is not UTF-8, and (JSON Lines) a line that is not JSON or is cut off.
    """
    from datasets import load_dataset

    path = Path(path)
    builder = LOCAL_BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise ConfigError(f"cannot read '{path}': expected one of {', '.join(LOCAL_BUILDERS)}", key="path")
    if not path.is_file():
        raise DataError("file not found", path)
    check_local_file(path)
    try:
        return load_dataset(builder, data_files=str(path), split=split)
    except Exception as exc:  # datasets wraps the reader's error: name the file, keep the reason
        cause = exc.__cause__ or exc.__context__ or exc
        raise DataError(f"datasets could not read it as {builder}: {type(cause).__name__}: {str(cause)[:300]}",
                        path) from exc


def check_local_file(path: Path) -> None:
    """An empty file, or a text file's first undecodable or (JSON Lines) unparseable line, as a
    DataError naming the file and the 1-based line."""
    if path.stat().st_size == 0:
        raise DataError("the file is empty", path)
    if path.suffix.lower() == ".parquet":
        return  # binary: datasets' reader reports its own errors, named by the wrapper above
    blank = True
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            text = decode_line(raw, path, line_no)
            blank = blank and not text.strip()
    if blank:
        raise DataError("the file has no rows (only blank lines)", path)
    if path.suffix.lower() == ".jsonl" or (path.suffix.lower() == ".json" and not _one_json_document(path)):
        read_jsonl(path, warn_row_bytes=None)  # names the first line that is not a JSON object


def _one_json_document(path: Path) -> bool:
    """Whether a .json file is one JSON document (an array or an object); else it is JSON Lines."""
    import json

    try:
        json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    return True


def write_raw(dataset, spec: Mapping[str, Any], out_path: str | os.PathLike, origin: str) -> dict[str, Any]:
    """Write a ``datasets.Dataset`` as raw JSONL: ``spec`` is a resolved hub or local entry (with
    its defaults, :func:`value_retention.schema.resolved`). At most ``max_rows`` rows (if set), and the column
    named by ``text_field`` renamed to ``text`` so the file is in the text format's raw schema.

    A ``max_rows`` cap keeps a seeded random subset (:func:`capped_rows`), not the first rows: a
    hub file often lists its rows source by source (RLHFlow's prompt collection concatenates
    several), so its first 3,000 rows may all come from one source.
    """
    n_available = len(dataset)
    selection = None
    if spec.get("max_rows") is not None and int(spec["max_rows"]) < n_available:
        indices, selection = capped_rows(n_available, int(spec["max_rows"]), spec["shuffle_seed"])
        dataset = dataset.select(indices)
    text_field = spec.get("text_field")
    if text_field and text_field != "text":
        if text_field not in dataset.column_names:
            raise ConfigError(f"text_field '{text_field}' is not a column of {origin} "
                              f"(columns: {', '.join(dataset.column_names)})", key="text_field")
        if "text" in dataset.column_names:
            dataset = dataset.remove_columns("text")
        dataset = dataset.rename_column(text_field, "text")
    n_written = write_jsonl(out_path, (dict(row) for row in dataset))
    log.info("wrote %d of %d rows from %s to %s", n_written, n_available, origin, out_path)
    return {"origin": origin, "revision": spec.get("revision"), "n_available": n_available,
            "n_written": n_written, "row_selection": selection, "columns": list(dataset.column_names)}


def capped_rows(n_available: int, max_rows: int, shuffle_seed: int | None) -> tuple[list[int], dict[str, Any]]:
    """Which ``max_rows`` of ``n_available`` rows to keep, and how they were chosen (for provenance).

    With a ``shuffle_seed`` (the default, 0): a uniformly random subset drawn by a seeded
    permutation, written in the source's own order. With ``shuffle_seed: null``: the first rows.
    The kept indices' sha256 lets anyone check that a rerun kept the same rows.
    """
    if shuffle_seed is None:
        indices = list(range(max_rows))
    else:
        import numpy as np

        indices = sorted(int(i) for i in np.random.default_rng(shuffle_seed).permutation(n_available)[:max_rows])
    digest = hashlib.sha256(",".join(map(str, indices)).encode()).hexdigest()
    method = "first rows" if shuffle_seed is None else "seeded random subset, in source order"
    return indices, {"method": method, "shuffle_seed": shuffle_seed, "kept": max_rows, "of": n_available,
                     "first_indices": indices[:10], "indices_sha256": digest}
