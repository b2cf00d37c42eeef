"""Every job's output goes to its rule's log through one set-up (joblog, inside provenance.record)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings

import pytest
from tqdm import tqdm

from value_retention import joblog
from value_retention.errors import DataError
from value_retention.provenance import sidecar_path

from conftest import run_script


def noisy_job() -> None:
    """Output the way a job's libraries make it: logging, print, warnings, tqdm, C-level writes to
    the file descriptors, and a child process (as accelerate's training processes or latexmk)."""
    logging.getLogger("value_retention.some_stage").info("a log line")
    logging.getLogger("httpx").info("one line per HTTP request")  # quietened
    print("a stray print")
    warnings.warn("a library warning", UserWarning, stacklevel=1)
    for _ in tqdm(range(3), desc="progress bar"):
        pass
    os.write(2, b"written to fd 2 by C code\n")
    subprocess.run([sys.executable, "-c", "import sys; print('child stdout'); print('child stderr', file=sys.stderr)"],
                   check=True)


def test_everything_a_job_prints_goes_to_its_log_and_nothing_to_the_console(tmp_path, capfd):
    log = tmp_path / "logs" / "rule" / "wildcards.log"
    # A job process captures warnings once, at its start; pytest swaps warnings.showwarning per
    # test, so start this test as a fresh process starts.
    logging.captureWarnings(False)
    with joblog.to_log_file(log):
        noisy_job()
    console = capfd.readouterr()
    assert console.out == "" and console.err == ""
    text = log.read_text()
    for expected in ("INFO value_retention.some_stage: a log line", "a stray print", "a library warning",
                     "progress bar: 100%", "written to fd 2 by C code", "child stdout", "child stderr"):
        assert expected in text, expected
    assert "one line per HTTP request" not in text
    # Afterwards the console is the console again.
    print("back on the console")
    assert capfd.readouterr().out == "back on the console\n"


def test_a_failing_job_leaves_its_traceback_in_the_log_and_one_line_on_the_console(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    log = tmp_path / "job.log"
    with pytest.raises(DataError, match="row 7"):
        with joblog.to_log_file(log, job="rule prepare_benchmark bench=ahb"):
            print("working")
            raise DataError("a bad row", "questions.jsonl", 7)
    text = log.read_text()
    assert "working" in text and "Traceback" in text and "questions.jsonl" in text
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("rule prepare_benchmark bench=ahb failed: DataError: ") and str(log) in err


def test_without_a_log_the_console_keeps_the_output(capfd):
    with joblog.to_log_file(None):
        print("on the console")
    assert capfd.readouterr().out == "on the console\n"


def test_a_script_run_by_record_writes_its_log_beside_its_sidecars(tmp_path, capfd):
    raw = {"questions": tmp_path / "q.jsonl", "dimensions": tmp_path / "d.jsonl"}
    log = tmp_path / "results" / "logs" / "tiny_benchmark" / "moru.log"
    run_script("make_tiny_benchmark", input={}, output=raw, params={"spec": {"format": "moru"}, "seed": 0},
               wildcards={"bench": "moru"}, log=log)
    assert capfd.readouterr().err == ""
    lines = log.read_text().splitlines()
    assert "rule make_tiny_benchmark bench=moru: started" in lines[0]
    assert "rule make_tiny_benchmark bench=moru: done in" in lines[-1]
    assert json.loads(sidecar_path(raw["questions"]).read_text())["rule"] == "make_tiny_benchmark"


def test_a_secret_in_a_log_record_or_a_failure_is_scrubbed(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("JUDGE_API_KEY", "sk-test-very-secret-123")
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    log = tmp_path / "job.log"
    with pytest.raises(RuntimeError):
        with joblog.to_log_file(log):
            logging.getLogger("value_retention.judges").warning("request with sk-test-very-secret-123")
            raise RuntimeError("server echoed sk-test-very-secret-123")
    text = log.read_text()
    assert "request with ***" in text and "server echoed ***" in text and "sk-test" not in text
    err = capfd.readouterr().err
    assert "server echoed ***" in err and "sk-test" not in err
