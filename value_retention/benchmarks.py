"""AHB and MORU: read the question and dimension files the way the reference (inspect_evals) does.

The loader turns either benchmark's real Hugging Face schema into one prepared format
(docs/contracts.md): one question per (question_id, language) with its tagged dimensions and the
variable assignments its guiding questions are filled with, and one dimension per name with its
indicator lines and weight. It follows the reference's rules (docs/design.md, "Benchmark scoring"):

AHB
    language null -> "English". Rows with no tags, an empty question, or a tag that names no
    dimension are skipped and counted (``strict_tags=True``: such a tag is an error naming the
    row). ``variables`` such as ``animal:pig,cow`` give one assignment per value
    (``[{"animal": "pig"}, {"animal": "cow"}]``); several variables (``a:x,y;b:z``) give their
    cartesian product; none gives ``[{}]``. Weights are ``default_weighting``.
MORU
    ``dimension_tags`` is a comma-separated string matched to dimension names case-insensitively.
    An unknown tag is dropped with a warning and recorded (``strict_tags=True``: an error); a row
    left with no valid tag is an error. Rows are de-duplicated by (id, language), keeping the first.
    Weights are all 1.0 and ``dimension_weights`` and ``input_prompt_suffix`` are ignored: the
    reference does not use them.

Nothing is dropped silently: every skipped row, dropped tag and language left out by the
``languages`` selection is counted in the report (``report.json``).

Language codes (``en``, ``ms``, ``hi``, ...) are read as language names, so English is always
spelled "English" and the English / non-English split downstream cannot miss it.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import schema
from .errors import ConfigError, DataError
from .jsonl import read_jsonl, write_json, write_jsonl

log = logging.getLogger(__name__)

FORMATS = ("ahb", "moru")
ENGLISH = "English"
LANGUAGE_CODES = {
    "en": "English", "ms": "Malay", "hi": "Hindi", "es": "Spanish", "fr": "French", "de": "German",
    "pt": "Portuguese", "zh": "Mandarin", "ar": "Arabic", "ru": "Russian", "ja": "Japanese",
    "id": "Indonesian", "vi": "Vietnamese", "th": "Thai", "he": "Hebrew", "bn": "Bengali", "ur": "Urdu",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "mr": "Marathi", "ko": "Korean", "tr": "Turkish",
}
PREPARED_QUESTION_FIELDS = ("question_id", "language", "base_item", "question", "dimensions",
                            "assignments", "english")
PREPARED_DIMENSION_FIELDS = ("dimension", "guiding_question", "indicators", "observable_indicators", "weight")
RAW_DIMENSION_FIELDS = ("dimension", "guiding_question", "observable_indicators")
RAW_QUESTION_FIELDS = {
    "ahb": ("id", "question"),
    "moru": ("id", "question", "dimension_tags", "language"),
}



@dataclass
class Benchmark:
    """Prepared questions (file order), dimensions by name (file order), and the load report."""
    questions: list[dict[str, Any]]
    dimensions: dict[str, dict[str, Any]]
    report: dict[str, Any] = field(default_factory=dict)


def new_report(fmt: str, n_raw: int, prepared_input: bool) -> dict[str, Any]:
    """The report.json skeleton (docs/contracts.md), plus counts that explain every row."""
    return {"format": fmt, "prepared_input": prepared_input, "n_raw": n_raw, "n_kept": 0,
            "skipped": [], "dropped_tags": [], "languages": {}, "not_selected": {},
            "language_aliases": {}, "warnings": []}


# ---------------------------------------------------------------------------------------------
# Small parsers

def normalise_language(value: Any, aliases: dict[str, str] | None = None) -> str:
    """A language name: null or blank -> "English" (AHB's original rows), codes -> names."""
    if value is None or not str(value).strip():
        return ENGLISH
    text = str(value).strip()
    name = ENGLISH if text.lower() == "english" else LANGUAGE_CODES.get(text.lower(), text)
    if aliases is not None and name != text:
        aliases[text] = name
    return name


def parse_variables(text: str | None) -> list[dict[str, str]]:
    """``"animal:pig,cow"`` -> ``[{"animal": "pig"}, {"animal": "cow"}]``; several variables
    separated by ``;`` or newlines -> their cartesian product; none -> ``[{}]``.
    Raises ValueError on a part that is not ``name:value[,value...]``."""
    if text is None or not str(text).strip():
        return [{}]
    names, value_lists = [], []
    for part in re.split(r"[;\n]", str(text)):
        if not part.strip():
            continue
        name, colon, values = part.partition(":")
        name = name.strip()
        value_list = [value.strip() for value in values.split(",") if value.strip()]
        if not colon or not name or not value_list:
            raise ValueError(f"variable {part.strip()!r} is not of the form 'name:value1,value2'")
        if name in names:
            raise ValueError(f"variable '{name}' is given twice")
        names.append(name)
        value_lists.append(value_list)
    return [dict(zip(names, combination)) for combination in itertools.product(*value_lists)]


def indicator_lines(text: Any) -> list[str]:
    """The non-empty lines of ``observable_indicators``."""
    if text is None:
        return []
    return [line.strip() for line in str(text).splitlines() if line.strip()]


def _dedupe(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(names in first-seen order, the repeats)."""
    counts = Counter(names)
    return list(dict.fromkeys(names)), [name for name, n in counts.items() if n > 1]


# ---------------------------------------------------------------------------------------------
# Dimensions

def load_dimensions(path: str | os.PathLike, fmt: str | None) -> dict[str, dict[str, Any]]:
    """Prepared dimensions by name, from a raw or a prepared dimensions file (``fmt`` None: prepared only)."""
    rows = read_jsonl(path)
    if not rows:
        raise DataError("the dimensions file has no rows", path)
    dimensions: dict[str, dict[str, Any]] = {}
    lowered: dict[str, int] = {}
    for row in rows:
        if fmt is None and "indicators" not in row:
            raise DataError("not a prepared dimension (no 'indicators'); the prepare_benchmark rule writes them",
                            path, row["_row"])
        dimension = (_prepared_dimension if "indicators" in row else _raw_dimension)(row, fmt, path)
        key = dimension["dimension"].lower()
        if key in lowered:  # also case-insensitively, since MORU tags are matched that way
            raise DataError(f"dimension '{dimension['dimension']}' is already defined in row {lowered[key]}",
                            path, row["_row"])
        lowered[key] = row["_row"]
        dimensions[dimension["dimension"]] = dimension
    return dimensions


def _raw_dimension(row: dict[str, Any], fmt: str, path) -> dict[str, Any]:
    _require(row, RAW_DIMENSION_FIELDS, path)
    name = _nonblank(row, "dimension", path).strip()
    weight = 1.0 if fmt == "moru" else _weight(row.get("default_weighting", 1.0), row, path)
    text = _indicators_text(row, path)
    return {"dimension": name, "guiding_question": _nonblank(row, "guiding_question", path),
            "indicators": indicator_lines(text), "observable_indicators": text, "weight": weight}


def _prepared_dimension(row: dict[str, Any], fmt: str, path) -> dict[str, Any]:
    _require(row, PREPARED_DIMENSION_FIELDS, path)
    if not isinstance(row["indicators"], list) or not all(isinstance(x, str) for x in row["indicators"]):
        raise DataError("'indicators' must be a list of strings", path, row["_row"])
    return {"dimension": _nonblank(row, "dimension", path).strip(),
            "guiding_question": _nonblank(row, "guiding_question", path),
            "indicators": list(row["indicators"]), "observable_indicators": _indicators_text(row, path),
            "weight": _weight(row["weight"], row, path)}


def _indicators_text(row: Mapping[str, Any], path) -> str:
    """``observable_indicators`` as written: the judge's prompt carries it verbatim, as the
    reference's does (blank lines, quotes and all)."""
    text = row["observable_indicators"]
    if not isinstance(text, str):
        raise DataError(f"'observable_indicators' must be a string, got {text!r}", path, row["_row"])
    return text


def _weight(value: Any, row: dict[str, Any], path) -> float:
    if value is None:
        return 1.0
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise DataError(f"weight {value!r} is not a number", path, row["_row"]) from None
    if not weight > 0:
        raise DataError(f"weight must be positive, got {weight}", path, row["_row"])
    return weight


def _require(row: Mapping[str, Any], fields: Sequence[str], path) -> None:
    missing = [name for name in fields if name not in row]
    if missing:
        raise DataError(f"missing field(s) {', '.join(map(repr, missing))}", path, row["_row"])


def _nonblank(row: Mapping[str, Any], name: str, path) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"field '{name}' must be a non-empty string", path, row["_row"])
    return value


# ---------------------------------------------------------------------------------------------
# Questions

class QuestionReader:
    """Turns raw AHB or MORU rows into prepared questions, filling in the report as it goes."""

    def __init__(self, fmt: str, path, dimensions: Mapping[str, dict], strict_tags: bool,
                 report: dict[str, Any]):
        self.fmt, self.path, self.dimensions = fmt, os.fspath(path), dimensions
        self.strict_tags, self.report = strict_tags, report
        self.by_lower_name = {name.lower(): name for name in dimensions}

    def skip(self, row: Mapping[str, Any], reason: str) -> None:
        self.report["skipped"].append({"row": row["_row"], "id": row.get("id"), "reason": reason})

    def error(self, row: Mapping[str, Any], message: str) -> DataError:
        return DataError(message, self.path, row["_row"])

    def language(self, row: Mapping[str, Any]) -> str:
        return normalise_language(row.get("language"), self.report["language_aliases"])

    def read(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        questions = []
        first_row_of: dict[tuple[str, str], int] = {}
        for row in rows:
            _require(row, RAW_QUESTION_FIELDS[self.fmt], self.path)
            if row["id"] is None or not str(row["id"]).strip():
                raise self.error(row, "field 'id' is empty")
            if self.fmt == "moru" and not str(row.get("language") or "").strip():
                raise self.error(row, "field 'language' is empty")
            key = (str(row["id"]), self.language(row))
            if key in first_row_of:  # de-duplicate by (id, language), keeping the first
                self.skip(row, f"duplicate of row {first_row_of[key]} (same id and language)")
                continue
            first_row_of[key] = row["_row"]
            question = self.ahb_question(row) if self.fmt == "ahb" else self.moru_question(row)
            if question is not None:
                questions.append(question)
        return questions

    def ahb_question(self, row: dict[str, Any]) -> dict[str, Any] | None:
        tags = row.get("tags")
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise self.error(row, f"'tags' must be a list of dimension names, got {tags!r}")
        if not tags:
            self.skip(row, "no tags")
            return None
        if not _has_text(row.get("question")):
            self.skip(row, "empty question")
            return None
        unknown = [tag for tag in tags if tag not in self.dimensions]
        if unknown:
            if self.strict_tags:
                raise self.error(row, f"tag {unknown[0]!r} names no dimension "
                                      f"(dimensions: {', '.join(self.dimensions)})")
            self.skip(row, f"tag(s) {', '.join(map(repr, unknown))} name no dimension")
            return None
        return self.prepared(row, self.unique_tags(row, tags), self.assignments(row),
                             english=row.get("translation"))

    def moru_question(self, row: dict[str, Any]) -> dict[str, Any] | None:
        if not _has_text(row.get("question")):
            self.skip(row, "empty question")
            return None
        tags = []
        for tag in _split_tags(row["dimension_tags"]):
            name = self.by_lower_name.get(tag.lower())
            if name is not None:
                tags.append(name)
            elif self.strict_tags:
                raise self.error(row, f"tag {tag!r} names no dimension (dimensions: {', '.join(self.dimensions)})")
            else:
                log.warning("%s, row %s: dropped tag %r, which names no dimension", self.path, row["_row"], tag)
                self.report["dropped_tags"].append({"row": row["_row"], "id": row["id"], "tag": tag})
        if not tags:
            raise self.error(row, f"no valid dimension tag (dimension_tags: {row['dimension_tags']!r})")
        return self.prepared(row, self.unique_tags(row, tags), [{}], english=row.get("english_translation"))

    def unique_tags(self, row: Mapping[str, Any], tags: list[str]) -> list[str]:
        unique, repeated = _dedupe(tags)
        if repeated:
            self.report["warnings"].append(f"row {row['_row']} (id {row['id']}): repeated tag(s) "
                                           f"{', '.join(repeated)} counted once")
        return unique

    def assignments(self, row: Mapping[str, Any]) -> list[dict[str, str]]:
        variables = row.get("variables")
        if variables is not None and not isinstance(variables, str):
            raise self.error(row, f"'variables' must be a string like 'animal:pig,cow', got {variables!r}")
        try:
            return parse_variables(variables)
        except ValueError as exc:
            raise self.error(row, str(exc)) from None

    def prepared(self, row: Mapping[str, Any], tags: list[str], assignments: list[dict[str, str]],
                 english: Any) -> dict[str, Any]:
        """A prepared question. ``english`` is the English text of a non-English question (null
        for English ones, whose question already is the English)."""
        language = self.language(row)
        english_text = english if language != ENGLISH and _has_text(english) else None
        return {"question_id": str(row["id"]), "language": language, "base_item": str(row["id"]),
                "question": row["question"], "dimensions": tags, "assignments": assignments,
                "english": english_text}


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _split_tags(value: Any) -> list[str]:
    """MORU's ``dimension_tags``: "A, b,C" (a list of names is accepted too)."""
    parts = value if isinstance(value, list) else str(value or "").split(",")
    return [str(part).strip() for part in parts if str(part).strip()]


def read_prepared_questions(rows: list[dict[str, Any]], path, dimensions: Mapping[str, dict]) -> list[dict]:
    """Prepared questions, checked: every field present, dimensions known, keys unique."""
    questions, seen = [], {}
    for row in rows:
        _require(row, PREPARED_QUESTION_FIELDS, path)
        if not isinstance(row["dimensions"], list) or not row["dimensions"]:
            raise DataError("'dimensions' must be a non-empty list", path, row["_row"])
        unknown = [name for name in row["dimensions"] if name not in dimensions]
        if unknown:
            raise DataError(f"dimension {unknown[0]!r} is not in the dimensions file", path, row["_row"])
        if not isinstance(row["assignments"], list) or not row["assignments"] \
                or not all(isinstance(a, dict) for a in row["assignments"]):
            raise DataError("'assignments' must be a non-empty list of objects ([{}] for none)", path, row["_row"])
        key = (str(row["question_id"]), str(row["language"]))
        if key in seen:
            raise DataError(f"question {key[0]!r} in {key[1]} repeats row {seen[key]}", path, row["_row"])
        seen[key] = row["_row"]
        questions.append({name: row[name] for name in PREPARED_QUESTION_FIELDS}
                         | {"question_id": key[0], "base_item": str(row["base_item"])})
    return questions


# ---------------------------------------------------------------------------------------------
# Language selection

def wanted_languages(languages: str | Sequence[str]) -> set[str] | None:
    """Lower-cased language names to keep; None keeps all."""
    if isinstance(languages, str):
        if languages.lower() == "all":
            return None
        if languages.lower() == "english":
            return {ENGLISH.lower()}
        raise ConfigError(f"languages must be 'all', 'english' or a list of language names, got {languages!r}",
                          key="languages")
    names = [normalise_language(name).lower() for name in languages]
    if not names:
        raise ConfigError("the list of languages is empty", key="languages")
    return set(names)


def select_languages(questions: list[dict[str, Any]], languages: str | Sequence[str],
                     report: dict[str, Any]) -> list[dict[str, Any]]:
    """Keep the questions in the selected languages; count the others per language."""
    wanted = wanted_languages(languages)
    if wanted is None:
        return questions
    kept = [q for q in questions if q["language"].lower() in wanted]
    report["not_selected"] = dict(Counter(q["language"] for q in questions if q["language"].lower() not in wanted))
    present = {q["language"].lower() for q in questions}
    for name in sorted(wanted - present):
        report["warnings"].append(f"selected language '{name}' has no questions")
    return kept


# ---------------------------------------------------------------------------------------------
# The public entry points

def load_prepared(questions_path: str | os.PathLike,
                  dimensions_path: str | os.PathLike) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The prepare_benchmark rule's two files, checked as :func:`load_benchmark` checks them: the
    questions (in file order) and the dimensions by name. Later stages read them through this."""
    dimensions = load_dimensions(dimensions_path, None)
    rows = read_jsonl(questions_path)
    for row in rows:
        if "question_id" not in row:
            raise DataError("not a prepared question (no 'question_id'); the prepare_benchmark rule writes them",
                            questions_path, row["_row"])
    return read_prepared_questions(rows, questions_path, dimensions), dimensions


def load_benchmark(fmt: str, questions_path: str | os.PathLike, dimensions_path: str | os.PathLike,
                   languages: str | Sequence[str] = "all", strict_tags: bool = False) -> Benchmark:
    """Read a benchmark from raw (real-schema) or prepared files; see the module docstring.

    Prepared question files are recognised by the key ``question_id``, prepared dimension files by
    ``indicators``. Raises DataError naming the file and row for malformed data, and when no
    question is left.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown benchmark format '{fmt}' (known: {', '.join(FORMATS)})")
    dimensions = load_dimensions(dimensions_path, fmt)
    rows = read_jsonl(questions_path)
    prepared_input = bool(rows) and "question_id" in rows[0]
    for row in rows:
        if ("question_id" in row) != prepared_input:
            raise DataError("mixes prepared rows (with 'question_id') and raw rows", questions_path, row["_row"])
    report = new_report(fmt, len(rows), prepared_input)
    if prepared_input:
        questions = read_prepared_questions(rows, questions_path, dimensions)
    else:
        questions = QuestionReader(fmt, questions_path, dimensions, strict_tags, report).read(rows)
    questions = select_languages(questions, languages, report)
    if not questions:
        raise DataError(f"no questions left (skipped {len(report['skipped'])}, not selected "
                        f"{sum(report['not_selected'].values())})", questions_path)
    report["n_kept"] = len(questions)
    report["languages"] = dict(Counter(q["language"] for q in questions))
    log.info("%s: kept %d of %d rows (%d skipped, %d not selected, %d tags dropped)", questions_path,
             report["n_kept"], report["n_raw"], len(report["skipped"]), sum(report["not_selected"].values()),
             len(report["dropped_tags"]))
    return Benchmark(questions=questions, dimensions=dimensions, report=report)


def prepare(questions_in: str | os.PathLike, dimensions_in: str | os.PathLike, fmt: str,
            languages: str | Sequence[str], strict_tags: bool, questions_out: str | os.PathLike,
            dimensions_out: str | os.PathLike, report_out: str | os.PathLike) -> dict[str, Any]:
    """Load a benchmark and write its prepared questions, dimensions and report; return the report."""
    benchmark = load_benchmark(fmt, questions_in, dimensions_in, languages=languages, strict_tags=strict_tags)
    write_jsonl(questions_out, benchmark.questions)
    write_jsonl(dimensions_out, benchmark.dimensions.values())
    write_json(report_out, benchmark.report)
    return benchmark.report


def download(spec: Mapping[str, Any], questions_out: str | os.PathLike,
             dimensions_out: str | os.PathLike) -> dict[str, Any]:
    """Write a benchmark's raw question and dimension files from the hub or from local files.

    ``source: hub`` (needs the network; a local rule): AHB reads the ``questions`` and
    ``dimensions`` configs of one repository; MORU reads two repositories. Repositories and
    revisions come from the spec, with the config schema's defaults (its hub AHB and MORU
    variants) for what it leaves out (pin them).
    ``source: local``: ``questions_path`` and ``dimensions_path`` (JSONL, JSON, Parquet or CSV).
    """
    from .datasets_io import read_local_table

    spec = schema.resolved("benchmark", spec, key="benchmark")
    source, fmt = spec["source"], spec["format"]
    if source == "local":
        questions = read_local_table(spec["questions_path"])
        dimensions = read_local_table(spec["dimensions_path"])
        origin = {"questions": spec["questions_path"], "dimensions": spec["dimensions_path"]}
    elif source == "hub":
        questions, dimensions, origin = _download_from_hub(fmt, spec)
    else:
        raise ConfigError(f"source '{source}' has nothing to download (tiny benchmarks are made by "
                          "value_retention.tiny_world)", key="source")
    n_questions = write_jsonl(questions_out, (dict(row) for row in questions))
    n_dimensions = write_jsonl(dimensions_out, (dict(row) for row in dimensions))
    log.info("wrote %d questions and %d dimensions from %s", n_questions, n_dimensions, origin)
    return {"origin": origin, "n_questions": n_questions, "n_dimensions": n_dimensions}


def _download_from_hub(fmt: str, spec: Mapping[str, Any]):
    """The raw rows from the hub, each repository's revision resolved to its commit first; the origin
    records what was asked for, the commits, and the endpoint (``hub_revisions.record``)."""
    from datasets import load_dataset

    from . import hub_revisions

    split = spec["split"]
    commit = hub_revisions.resolve(spec["repo"], spec["revision"], repo_type="dataset")
    origin = hub_revisions.record(spec["repo"], spec["revision"], commit)
    if fmt == "ahb":
        questions = load_dataset(spec["repo"], spec["questions_config"], revision=commit, split=split)
        dimensions = load_dataset(spec["repo"], spec["dimensions_config"], revision=commit, split="train")
    else:
        questions = load_dataset(spec["repo"], revision=commit, split=split)
        dimensions_commit = hub_revisions.resolve(spec["dimensions_repo"], spec["dimensions_revision"],
                                                  repo_type="dataset")
        dimensions = load_dataset(spec["dimensions_repo"], revision=dimensions_commit, split="train")
        origin["dimensions"] = hub_revisions.record(spec["dimensions_repo"], spec["dimensions_revision"],
                                                    dimensions_commit)
    return questions, dimensions, origin
