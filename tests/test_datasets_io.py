"""Dataset normalisers, local and hub loading, and the data scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from value_retention import datasets_io, schema, tiny_world
from value_retention.errors import ConfigError, DataError
from value_retention.jsonl import read_jsonl
from value_retention.provenance import sidecar_path

from conftest import run_script

GENERATOR_FORMATS = {"neutral_text": "text", "compassion_docs": "text", "dolly": "dolly",
                     "magicoder": "magicoder", "rlhflow": "rlhflow", "magicoder_prompts": "magicoder_prompts"}


def write_raw(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def prepared(tmp_path: Path, fmt: str, rows: list, **kwargs) -> list[dict]:
    raw = write_raw(tmp_path / "raw.jsonl", rows)
    datasets_io.prepare(raw, fmt, tmp_path / "out.jsonl", **kwargs)
    return [{k: v for k, v in row.items() if k != "_row"} for row in read_jsonl(tmp_path / "out.jsonl")]


# ---------------------------------------------------------------------------------------------
# Good rows

def test_dolly_context_follows_the_instruction_after_a_blank_line(tmp_path):
    rows = prepared(tmp_path, "dolly", [
        {"instruction": "Summarize this.", "context": "A long memo.", "response": "A memo.",
         "category": "summarization"},
        {"instruction": "Name a colour.", "context": "", "response": "Blue.", "category": "open_qa"},
        {"instruction": "Name a fruit.", "response": "Pear.", "category": "open_qa"},  # context missing: same as ""
    ], id_prefix="dolly")
    assert rows[0] == {"id": "dolly-000001", "messages": [
        {"role": "user", "content": "Summarize this.\n\nA long memo."},
        {"role": "assistant", "content": "A memo."}]}
    assert rows[1]["messages"][0]["content"] == "Name a colour."
    assert [row["id"] for row in rows] == ["dolly-000001", "dolly-000002", "dolly-000003"]


def test_ids_default_to_the_raw_file_name_and_keep_a_raw_id(tmp_path):
    raw = write_raw(tmp_path / "my_corpus.jsonl", [{"text": "one"}, {"id": 42, "text": "two"}])
    counts = datasets_io.prepare(raw, "text", tmp_path / "out.jsonl")
    assert [row["id"] for row in read_jsonl(tmp_path / "out.jsonl")] == ["my_corpus-000001", "42"]
    assert counts == {"format": "text", "n_raw": 2, "n_written": 2, "large_rows": [], "warn_row_bytes": 1 << 20}


def test_grpo_formats_give_a_conversational_prompt_tests_and_reference(tmp_path):
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?", "extra": 1}]
    assert prepared(tmp_path, "rlhflow", [{"context_messages": chat, "source": "x"}])[0] == {
        "id": "raw-000001", "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}],
        "tests": None, "reference": None}
    row = prepared(tmp_path, "magicoder_prompts", [
        {"instruction": "Write add.", "response": "```python\ndef add(a, b): return a + b\n```",
         "tests": "assert add(1, 2) == 3"},
        {"instruction": "Write sub.", "response": ""},  # real Magicoder rows have no tests
    ])
    assert row[0]["prompt"] == [{"role": "user", "content": "Write add."}]
    assert row[0]["tests"] == "assert add(1, 2) == 3" and row[0]["reference"].startswith("```python")
    assert row[1]["tests"] is None and row[1]["reference"] is None
    assert prepared(tmp_path, "prompts", [{"prompt": "Plain?", "tests": ["assert 1", "assert 2"]}])[0] == {
        "id": "raw-000001", "prompt": [{"role": "user", "content": "Plain?"}], "tests": "assert 1\nassert 2",
        "reference": None}


def test_messages_format_passes_a_chat_through(tmp_path):
    chat = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    assert prepared(tmp_path, "messages", [{"messages": chat}])[0]["messages"] == chat


@pytest.mark.parametrize("generator", list(GENERATOR_FORMATS))
def test_every_tiny_generator_prepares_cleanly(tmp_path, generator):
    raw_rows = tiny_world.make_dataset(generator, 30, seed=0)
    rows = prepared(tmp_path, GENERATOR_FORMATS[generator], raw_rows, id_prefix=generator)
    assert len(rows) == 30 and len({row["id"] for row in rows}) == 30
    key = {"text": "text", "dolly": "messages", "magicoder": "messages"}.get(GENERATOR_FORMATS[generator], "prompt")
    assert all(row[key] for row in rows)
    if generator == "magicoder_prompts":  # no tests, as in the real dataset: the response is the reference
        assert all(row["tests"] is None and "```python" in row["reference"] for row in rows)


# ---------------------------------------------------------------------------------------------
# Bad rows: a DataError naming the file and the row

GOOD_DOLLY = {"instruction": "Q", "context": "", "response": "A", "category": "open_qa"}


@pytest.mark.parametrize("fmt, bad_row, message", [
    ("dolly", {"context": "", "response": "A"}, "missing field 'instruction'"),
    ("dolly", {**GOOD_DOLLY, "instruction": "   "}, "field 'instruction' is empty"),
    ("dolly", {**GOOD_DOLLY, "response": ""}, "field 'response' is empty"),
    ("dolly", {**GOOD_DOLLY, "response": None}, "field 'response' is null"),
    ("dolly", {**GOOD_DOLLY, "response": ["A"]}, "field 'response' must be a string"),
    ("magicoder", {"instruction": "Q"}, "missing field 'response'"),
    ("text", {"text": ""}, "field 'text' is empty"),
    ("rlhflow", {"context_messages": []}, "non-empty list of messages"),
    ("rlhflow", {"context_messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]},
     r"must end with role 'user' \(it ends with 'assistant'\)"),
    ("rlhflow", {"context_messages": [{"role": "human", "content": "Q"}]}, r"context_messages\[0\] has role 'human'"),
    ("rlhflow", {"context_messages": [{"role": "user", "content": ""}]}, "empty or missing 'content'"),
    ("messages", {"messages": [{"role": "user", "content": "Q"}]}, "must end with role 'assistant'"),
    ("magicoder_prompts", {"response": "A"}, "missing field 'instruction'"),
    ("prompts", {"prompt": [], "tests": None}, "non-empty list of messages"),
])
def test_a_bad_row_is_an_error_naming_the_file_and_row(tmp_path, fmt, bad_row, message):
    good = {"text": {"text": "fine"}, "dolly": GOOD_DOLLY, "magicoder": {"instruction": "Q", "response": "A"},
            "rlhflow": {"context_messages": [{"role": "user", "content": "Q"}]},
            "messages": {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]},
            "magicoder_prompts": {"instruction": "Q"}, "prompts": {"prompt": "Q"}}[fmt]
    raw = write_raw(tmp_path / "raw.jsonl", [good, good, bad_row])
    with pytest.raises(DataError, match=rf"raw\.jsonl, row 3: .*{message}") as caught:
        datasets_io.prepare(raw, fmt, tmp_path / "out.jsonl")
    assert caught.value.row == 3 and caught.value.path == str(raw)
    assert not (tmp_path / "out.jsonl").exists()  # nothing half-written


def test_repeated_raw_ids_and_unknown_formats_are_errors(tmp_path):
    raw = write_raw(tmp_path / "raw.jsonl", [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    with pytest.raises(DataError, match="row 2: id 'a' was already used by row 1"):
        datasets_io.prepare(raw, "text", tmp_path / "out.jsonl")
    with pytest.raises(ValueError, match="unknown dataset format 'csv'.*dolly"):
        datasets_io.prepare(raw, "csv", tmp_path / "out.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="empty.jsonl: the raw file has no rows"):
        datasets_io.prepare(tmp_path / "empty.jsonl", "text", tmp_path / "out.jsonl")


# ---------------------------------------------------------------------------------------------
# Getting raw rows: local files and the hub (the hub call is replaced by a local dataset)

def test_load_local_reads_jsonl_and_parquet_with_max_rows_and_text_field(tmp_path):
    import datasets

    rows = [{"content": f"document {i}", "source": "web"} for i in range(5)]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "corpus.parquet"))
    write_raw(tmp_path / "corpus.jsonl", rows)
    for name in ("corpus.parquet", "corpus.jsonl"):
        out = tmp_path / f"raw-{name}.jsonl"
        info = datasets_io.load_local({"source": "local", "path": str(tmp_path / name), "format": "text",
                                       "text_field": "content", "max_rows": 3, "shuffle_seed": None}, out)
        assert info["n_available"] == 5 and info["n_written"] == 3
        assert info["row_selection"]["method"] == "first rows"
        assert [{k: v for k, v in r.items() if k != "_row"} for r in read_jsonl(out)] == [
            {"text": f"document {i}", "source": "web"} for i in range(3)]


def test_max_rows_keeps_a_seeded_random_subset_of_every_source(tmp_path):
    """A file that lists its rows source by source (as RLHFlow's prompt collection does): the cap
    draws from all of them, the same rows for the same seed, and provenance says which."""
    import datasets

    rows = [{"text": f"{source} prompt {i}", "source": source} for source in ("a", "b", "c") for i in range(40)]
    dataset = datasets.Dataset.from_list(rows)

    def entry(**keys):  # a hub entry with the schema's defaults (shuffle_seed 0 unless given)
        return schema.resolved("dataset", {"source": "hub", "repo": "r", "format": "text", **keys}, "dataset")

    info = datasets_io.write_raw(dataset, entry(max_rows=30), tmp_path / "raw.jsonl", origin="test")
    kept = read_jsonl(tmp_path / "raw.jsonl")
    assert len(kept) == info["n_written"] == 30
    assert {row["source"] for row in kept} == {"a", "b", "c"}  # the first 30 rows would all be "a"
    selection = info["row_selection"]
    assert selection["shuffle_seed"] == 0 and selection["kept"] == 30 and selection["of"] == 120
    indices = [rows.index({"text": row["text"], "source": row["source"]}) for row in kept]
    assert indices == sorted(indices)  # written in the source's order
    assert selection["first_indices"] == indices[:10]
    again = datasets_io.write_raw(dataset, entry(max_rows=30), tmp_path / "again.jsonl", origin="test")
    assert again["row_selection"]["indices_sha256"] == selection["indices_sha256"]
    other = datasets_io.write_raw(dataset, entry(max_rows=30, shuffle_seed=1), tmp_path / "other.jsonl", origin="t")
    assert other["row_selection"]["indices_sha256"] != selection["indices_sha256"]


def test_load_local_names_what_is_wrong(tmp_path):
    def local(path, **keys):
        return {"source": "local", "format": "text", "path": str(path), **keys}

    with pytest.raises(ConfigError, match="cannot read .*corpus.txt"):
        datasets_io.load_local(local(tmp_path / "corpus.txt"), tmp_path / "out.jsonl")
    with pytest.raises(DataError, match="missing.jsonl: file not found"):
        datasets_io.load_local(local(tmp_path / "missing.jsonl"), tmp_path / "out.jsonl")
    write_raw(tmp_path / "c.jsonl", [{"body": "x"}])
    with pytest.raises(ConfigError, match="text_field 'content' is not a column .*body"):
        datasets_io.load_local(local(tmp_path / "c.jsonl", text_field="content"), tmp_path / "out.jsonl")
    with pytest.raises(ConfigError, match="key 'dataset.max_row': unknown key \\(did you mean 'max_rows'"):
        datasets_io.load_local(local(tmp_path / "c.jsonl", max_row=5), tmp_path / "out.jsonl")


def test_download_calls_load_dataset_with_the_pinned_revision(tmp_path, monkeypatch):
    import datasets

    from value_retention import hub_revisions

    calls = []
    commit = "0123456789abcdef0123456789abcdef01234567"

    def fake_load_dataset(repo, **kwargs):
        calls.append((repo, kwargs))
        return datasets.Dataset.from_list(tiny_world.make_dataset("dolly", 4, 0))

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setattr(hub_revisions, "resolve", lambda repo, revision, repo_type="model": commit)
    spec = {"source": "hub", "repo": "databricks/databricks-dolly-15k", "revision": "abc123", "format": "dolly"}
    info = datasets_io.download(spec, tmp_path / "dolly.jsonl")
    # The revision is resolved to its commit and that commit loaded; both are recorded.
    assert calls == [("databricks/databricks-dolly-15k", {"revision": commit, "split": "train"})]
    assert info["n_written"] == 4 and (info["revision"], info["commit"]) == ("abc123", commit)
    assert datasets_io.prepare(tmp_path / "dolly.jsonl", "dolly", tmp_path / "out.jsonl")["n_written"] == 4
    with pytest.raises(ConfigError, match="source 'tiny' has nothing to download"):
        datasets_io.download({"source": "tiny", "generator": "dolly", "n": 4, "format": "dolly"}, tmp_path / "x.jsonl")


# ---------------------------------------------------------------------------------------------
# The scripts, run as Snakemake's script directive runs them

def test_tiny_dataset_and_prepare_dataset_scripts_write_files_and_sidecars(tmp_path):
    spec = {"source": "tiny", "generator": "dolly", "n": 12, "format": "dolly"}
    raw, data = tmp_path / "raw" / "dolly.jsonl", tmp_path / "data" / "dolly.jsonl"
    run_script("make_tiny_dataset", input={}, output={"raw": raw}, params={"spec": spec, "seed": 0},
               wildcards={"dataset": "dolly"})
    run_script("prepare_dataset", input={"raw": raw}, output={"data": data}, params={"spec": spec},
               wildcards={"dataset": "dolly"})
    assert len(read_jsonl(raw)) == 12
    rows = read_jsonl(data)
    assert rows[0]["id"] == "dolly-000001" and rows[0]["messages"][1]["role"] == "assistant"
    sidecar = json.loads(sidecar_path(data).read_text())
    assert sidecar["rule"] == "prepare_dataset" and sidecar["counts"]["n_written"] == 12
    assert json.loads(sidecar_path(raw).read_text())["n_rows"] == 12


# ------------------------------------------------------------------------------------------------
# Bad bytes, empty and cut files, huge rows: named by file and line, whichever reader meets them

BAD_FILES = {  # name: (bytes, the error's expected text)
    "latin1.jsonl": (b'{"text": "ok"}\n{"text": "caf\xe9"}\n',
                     r"latin1.jsonl, row 2: not UTF-8: byte 0xe9 at column 14"),
    "cut.jsonl": (b'{"text": "a"}\n{"text": "b"}\n{"text": "c', r"cut.jsonl, row 3: not valid JSON .*cut off"),
    "empty.jsonl": (b"", r"empty.jsonl: the file is empty"),
    "blank.jsonl": (b"\n\n", r"blank.jsonl: the file has no rows"),
    "latin1.csv": (b"text\nabc\ncaf\xe9\n", r"latin1.csv, row 3: not UTF-8: byte 0xe9 at column 4"),
    "lines.json": (b'{"text": "a"}\n{"text": \n', r"lines.json, row 2: not valid JSON"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_local_file_is_named_by_file_and_line(tmp_path, name):
    data, message = BAD_FILES[name]
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=message):
        datasets_io.load_local({"source": "local", "format": "text", "path": str(tmp_path / name)},
                               tmp_path / "raw.jsonl")
    assert not (tmp_path / "raw.jsonl").exists()


@pytest.mark.parametrize("name", ["latin1.jsonl", "cut.jsonl"])
def test_a_bad_raw_file_is_named_by_file_and_line_when_prepared(tmp_path, name):
    data, message = BAD_FILES[name]
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=message):
        datasets_io.prepare(tmp_path / name, "text", tmp_path / "data.jsonl")


def test_a_good_local_json_array_and_csv_still_read(tmp_path):
    (tmp_path / "rows.json").write_text(json.dumps([{"text": "a"}, {"text": "b"}]))
    (tmp_path / "rows.csv").write_text("text\na\nb\n")
    for name in ("rows.json", "rows.csv"):
        counts = datasets_io.load_local({"source": "local", "format": "text", "path": str(tmp_path / name)},
                                        tmp_path / f"{name}.jsonl")
        assert counts["n_written"] == 2


def test_a_row_above_the_size_limit_is_kept_named_and_counted(tmp_path, caplog):
    rows = [{"text": "short"}, {"text": "x" * 5000}, {"text": "also short"}]
    (tmp_path / "raw.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    counts = datasets_io.prepare(tmp_path / "raw.jsonl", "text", tmp_path / "data.jsonl", warn_row_bytes=4096)
    assert counts["n_written"] == 3 and counts["large_rows"] == [{"row": 2, "bytes": 5013}]
    assert "raw.jsonl, row 2: 5,013 bytes, above 4,096 bytes (warn_row_bytes)" in caplog.text
    caplog.clear()
    assert datasets_io.prepare(tmp_path / "raw.jsonl", "text", tmp_path / "data.jsonl")["large_rows"] == []
    assert "warn_row_bytes" not in caplog.text  # the 1 MiB default
