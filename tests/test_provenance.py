"""Provenance sidecars and the audit that follows them."""

from __future__ import annotations

import json

import pytest

from value_retention.cli import main as cli_main
from value_retention.provenance import AuditError, audit_chain, sha256_path, sidecar_path, write_sidecar


def make_chain(tmp_path, raw_sidecar: bool = True):
    """raw -> data -> stats, each with a sidecar (the raw file's as a download's, with no inputs),
    paths relative to tmp_path."""
    (tmp_path / "raw.jsonl").write_text('{"text": "a"}\n')
    if raw_sidecar:
        write_sidecar(tmp_path / "raw.jsonl", rule="download_dataset", params={"spec": {"repo": "r"}})
    (tmp_path / "data.jsonl").write_text('{"id": "0", "text": "a"}\n')
    write_sidecar(tmp_path / "data.jsonl", rule="prepare", inputs=["raw.jsonl"], params={"spec": {"n": 1}})
    (tmp_path / "stats.json").write_text('{"mean": 1.0}\n')
    write_sidecar(tmp_path / "stats.json", rule="statistics", inputs=["data.jsonl"], seed=0)
    # Sidecars record paths relative to the working directory, as the workflow runs there.
    for name in ("raw.jsonl", "data.jsonl", "stats.json") if raw_sidecar else ("data.jsonl", "stats.json"):
        record = json.loads(sidecar_path(tmp_path / name).read_text())
        record["output"]["path"] = name
        sidecar_path(tmp_path / name).write_text(json.dumps(record))


def test_sidecar_records_what_a_reader_needs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_chain(tmp_path)
    record = json.loads(sidecar_path(tmp_path / "stats.json").read_text())
    assert record["rule"] == "statistics"
    assert record["inputs"] == [{"path": "data.jsonl", "sha256": sha256_path(tmp_path / "data.jsonl")}]
    assert record["output"]["sha256"] == sha256_path(tmp_path / "stats.json")
    assert set(record["code"]) == {"commit", "dirty"}
    assert record["packages"]["python"]
    assert record["seed"] == 0 and record["started"] <= record["ended"]


def test_folder_hash_changes_with_content(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"1")
    before = sha256_path(folder)
    (folder / "a.bin").write_bytes(b"2")
    assert sha256_path(folder) != before


def test_secrets_never_reach_a_sidecar(tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_API_KEY", "sk-test-very-secret-123")
    (tmp_path / "out.json").write_text("{}")
    write_sidecar(tmp_path / "out.json", rule="judge",
                  params={"spec": {"api_key_env": "JUDGE_API_KEY", "oops": "sk-test-very-secret-123"}})
    text = sidecar_path(tmp_path / "out.json").read_text()
    assert "sk-test-very-secret-123" not in text
    assert "JUDGE_API_KEY" in text  # the variable's name is fine, and useful


def test_audit_follows_the_chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_chain(tmp_path)
    chain = audit_chain("stats.json", root=tmp_path)
    assert [(e["depth"], e["path"], e["rule"]) for e in chain] == [
        (0, "stats.json", "statistics"), (1, "data.jsonl", "prepare"), (2, "raw.jsonl", "download_dataset")]


def test_a_produced_file_without_its_sidecar_is_an_error_not_a_source(tmp_path, monkeypatch):
    """Deleting a file's sidecar must not turn it into a trusted source that hides the chain below
    it (the issue's case: a generation's sidecar deleted, a byte of the model weights flipped)."""
    monkeypatch.chdir(tmp_path)
    make_chain(tmp_path)
    sidecar_path(tmp_path / "data.jsonl").unlink()
    (tmp_path / "raw.jsonl").write_text('{"text": "tampered"}\n')
    with pytest.raises(AuditError, match="data.jsonl: has no provenance sidecar"):
        audit_chain("stats.json", root=tmp_path)


def test_a_declared_source_ends_the_chain(tmp_path, monkeypatch):
    """Sources: a local file the config names, or a file the repository tracks (paper/main.tex)."""
    from conftest import REPO

    monkeypatch.chdir(tmp_path)
    make_chain(tmp_path, raw_sidecar=False)
    with pytest.raises(AuditError, match="raw.jsonl: has no provenance sidecar"):
        audit_chain("stats.json", root=tmp_path)
    chain = audit_chain("stats.json", root=tmp_path, sources=["raw.jsonl"])  # e.g. datasets.x.path
    assert chain[-1] == {"depth": 2, "path": "raw.jsonl", "sha256": sha256_path(tmp_path / "raw.jsonl"),
                         "rule": None}
    (tmp_path / "paper.pdf").write_text("%PDF")
    write_sidecar(tmp_path / "paper.pdf", rule="paper", inputs=[str(REPO / "paper" / "main.tex")])
    record = json.loads(sidecar_path(tmp_path / "paper.pdf").read_text())
    record["output"]["path"] = "paper.pdf"
    sidecar_path(tmp_path / "paper.pdf").write_text(json.dumps(record))
    assert audit_chain("paper.pdf", root=tmp_path)[1]["rule"] is None


def test_audit_fails_loudly_when_an_input_changed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_chain(tmp_path)
    (tmp_path / "raw.jsonl").write_text('{"text": "tampered"}\n')
    with pytest.raises(AuditError, match="raw.jsonl: changed since data.jsonl"):
        audit_chain("stats.json", root=tmp_path)


def test_audit_fails_when_the_file_itself_changed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_chain(tmp_path)
    (tmp_path / "stats.json").write_text('{"mean": 2.0}\n')
    with pytest.raises(AuditError, match="stats.json: changed since rule 'statistics'"):
        audit_chain("stats.json", root=tmp_path)


def test_audit_command_starts_from_a_macro(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_chain(tmp_path)
    numbers = tmp_path / "numbers.tex"
    numbers.write_text("\\newcommand{\\AhbMean}{100.0}\n")
    write_sidecar(numbers, rule="numbers", inputs=["stats.json"],
                  extra={"macros": {"AhbMean": {"value": "100.0", "source": "stats.json", "key": "mean"}}})
    assert cli_main(["audit", "AhbMean", "--numbers", "numbers.tex"]) == 0
    out = capsys.readouterr().out
    assert "\\AhbMean = 100.0" in out and "rule statistics" in out and "raw.jsonl" in out
    assert cli_main(["audit", "AhbMedian", "--numbers", "numbers.tex"]) == 2
    (tmp_path / "data.jsonl").write_text("changed\n")
    assert cli_main(["audit", "AhbMean", "--numbers", "numbers.tex"]) == 1


def test_a_number_from_the_config_is_checked_against_the_config_in_use(tmp_path, monkeypatch, capsys):
    import yaml

    from conftest import REPO

    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    numbers = tmp_path / "numbers.tex"
    numbers.write_text("\\newcommand{\\AhbAllSftDollyPublished}{35.7}\n")
    write_sidecar(numbers, rule="numbers", params={"references": config["references"], "paper": config["paper"],
                                                   "panel": config["panel"]},
                  extra={"macros": {"AhbAllSftDollyPublished": {"value": "35.7", "source": "config",
                                                                "key": "references.ahb.all.sft_dolly"}}})
    assert cli_main(["audit", "AhbAllSftDollyPublished", "--numbers", "numbers.tex"]) == 0
    assert "every value taken from the config matches" in capsys.readouterr().out
    config["references"]["ahb"]["all"]["sft_dolly"] = 40.0  # the config changed since the run
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(config))
    assert cli_main(["audit", "AhbAllSftDollyPublished", "--numbers", "numbers.tex",
                     "--config", "changed.yaml"]) == 1
    err = capsys.readouterr().err
    assert "config key 'references.ahb.all.sft_dolly' = 35.7, but changed.yaml says 40.0" in err


@pytest.mark.parametrize("cell, message", [
    ("2", "expected ROW,COL"), ("a,b", "expected ROW,COL"), ("0,1", "expected ROW,COL"),
    ("9,1", "the table has 3 rows"), ("2,7", "row 2 has 2 columns"),
])
def test_a_bad_cell_is_a_one_line_error(tmp_path, monkeypatch, capsys, cell, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "table.tex").write_text("\\begin{tabular}{ll}\nA & B \\\\\n\\midrule\n1 & 2 \\\\\n3 & 4 \\\\\n"
                                        "\\end{tabular}\n")
    assert cli_main(["audit", "table.tex", "--cell", cell]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert cli_main(["audit", "missing.tex", "--cell", "1,1"]) == 2
    assert "no such table" in capsys.readouterr().err


def test_folder_hash_ignores_snakemakes_timestamp(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"1")
    before = sha256_path(folder)
    (folder / ".snakemake_timestamp").touch()
    assert sha256_path(folder) == before


def test_every_option_of_every_command_has_help_and_shows_its_default(capsys):
    import argparse

    from value_retention.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) == {"check-config", "config-docs", "plan", "recipe-table", "score", "audit", "cache",
                             "rehearse", "pin"}
    for name, command in commands.items():
        text = command.format_help()
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest}: no help text"
            if action.default not in (None, argparse.SUPPRESS):
                assert f"(default: {action.default})" in " ".join(text.split()), f"{name} {action.dest}"
    with pytest.raises(SystemExit) as done:
        cli_main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("value-retention 0.")


def test_a_config_that_leaves_a_key_to_its_default_audits_as_the_run_saw_it(tmp_path, monkeypatch, capsys):
    """The run's params carry the schema's defaults, so the audit reads the config the same way."""
    import yaml

    from value_retention.config import load_config

    from conftest import REPO

    monkeypatch.chdir(tmp_path)
    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for key in ("world_note", "title"):
        del raw["paper"][key]  # left to the schema's defaults
    (tmp_path / "defaults.yaml").write_text(yaml.safe_dump(raw))
    used = load_config(tmp_path / "defaults.yaml")  # what Snakemake's validated config holds
    numbers = tmp_path / "numbers.tex"
    numbers.write_text("\\newcommand{\\AhbAllSftDollyPublished}{35.7}\n")
    write_sidecar(numbers, rule="numbers", params={block: used[block] for block in ("references", "paper", "panel")},
                  extra={"macros": {"AhbAllSftDollyPublished": {"value": "35.7", "source": "config",
                                                                "key": "references.ahb.all.sft_dolly"}}})
    assert cli_main(["audit", "AhbAllSftDollyPublished", "--numbers", "numbers.tex",
                     "--config", "defaults.yaml"]) == 0, capsys.readouterr().err
