"""One live trainer per run (value_retention/run_lock.py): a second job waits for a live owner and
uses the model it finished; stale locks (dead PID, reused PID, requeued or finished SLURM job, a
silent owner on another host) are taken over. Owners are real other processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from value_retention import run_lock
from value_retention.run_lock import LockTimeout, Owner, RunLock, job_hash, train_once

REPO = Path(__file__).resolve().parents[1]
JOB = {"stage": "sft", "data": "d.jsonl", "seed": 0}
FAST = {"poll_s": 0.05, "heartbeat_s": 0.05}

HOLDER = """
import json, sys
from pathlib import Path
from value_retention.run_lock import RunLock

checkpoints, out_dir, job = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
with RunLock(checkpoints, job, heartbeat_s=0.05):
    print("holding", flush=True)
    if sys.stdin.readline().strip() == "finish":  # the model is saved (renamed into place whole)
        out_dir.mkdir(parents=True)
        (out_dir / "training_log.json").write_text(json.dumps({"trained_by": "the first job"}))
"""


class Holder:
    """Another job, in a process of its own, holding the run's lock until told to finish."""

    def __init__(self, checkpoints: Path, out_dir: Path, job: dict = JOB):
        self.process = subprocess.Popen([sys.executable, "-c", HOLDER, str(checkpoints), str(out_dir),
                                         json.dumps(job)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert self.process.stdout.readline().strip() == "holding"

    def finish(self, how: str = "finish") -> None:
        self.process.stdin.write(how + "\n")
        self.process.stdin.flush()
        assert self.process.wait(timeout=60) == 0

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def in_thread(function) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as exc:  # reported by the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def wait_for(condition, what: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def plant(checkpoints: Path, age_s: float = 0.0, **fields) -> Path:
    """A lock file as another owner wrote it, ``age_s`` seconds since its last heartbeat."""
    owner = {"pid": 999_999_999, "host": socket.gethostname(), "process_start": None, "slurm_job_id": None,
             "job": job_hash(JOB), "started": time.time() - age_s, "token": "planted", **fields}
    checkpoints.mkdir(parents=True, exist_ok=True)
    path = checkpoints / run_lock.LOCK_FILE
    path.write_text(json.dumps(owner))
    os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path


# ------------------------------------------------------------------------------------------------

def test_the_lock_records_pid_host_and_slurm_job_and_goes_with_its_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    checkpoints = tmp_path / "checkpoints" / "sft" / "seed0"
    with RunLock(checkpoints, JOB, **FAST):
        owner = json.loads((checkpoints / run_lock.LOCK_FILE).read_text())
        assert (owner["pid"], owner["host"], owner["slurm_job_id"]) == (os.getpid(), socket.gethostname(), "4242")
        assert owner["process_start"] == run_lock.process_start_time(os.getpid())
    assert not checkpoints.exists()  # released, and the empty run folder removed


def test_a_second_job_waits_for_the_live_owner_and_uses_the_model_it_finished(tmp_path, caplog):
    caplog.set_level("INFO", logger="value_retention.run_lock")
    checkpoints, out_dir = tmp_path / "checkpoints", tmp_path / "model"
    first = Holder(checkpoints, out_dir)
    trained = []
    thread, outcome = in_thread(lambda: train_once(checkpoints, out_dir, JOB, lambda: trained.append(1), **FAST))
    wait_for(lambda: "waiting for the live trainer" in caplog.text, "the second job to wait")
    assert thread.is_alive() and not out_dir.exists()
    first.finish()
    thread.join(timeout=60)
    assert outcome == {"value": {"trained_by": "the first job"}} and trained == []
    assert "finished this run: using its model" in caplog.text


def test_after_a_live_owner_that_left_no_model_the_second_job_trains(tmp_path):
    checkpoints, out_dir = tmp_path / "checkpoints", tmp_path / "model"
    first = Holder(checkpoints, out_dir)
    thread, outcome = in_thread(lambda: train_once(checkpoints, out_dir, JOB, lambda: {"trained_by": "us"}, **FAST))
    time.sleep(0.2)
    first.finish("crash")  # the first job failed before saving: its checkpoints remain to resume from
    thread.join(timeout=60)
    assert outcome == {"value": {"trained_by": "us"}}


def test_a_model_left_by_an_owner_of_another_job_is_not_used(tmp_path):
    checkpoints, out_dir = tmp_path / "checkpoints", tmp_path / "model"
    first = Holder(checkpoints, out_dir, job={**JOB, "seed": 1})  # the config changed in between
    thread, outcome = in_thread(lambda: train_once(checkpoints, out_dir, JOB, lambda: {"trained_by": "us"}, **FAST))
    time.sleep(0.2)
    first.finish()
    thread.join(timeout=60)
    assert outcome == {"value": {"trained_by": "us"}}


def test_the_lock_of_a_killed_owner_is_taken_over(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    first = Holder(checkpoints, tmp_path / "model")
    first.kill()  # SIGKILL: it could not release its lock
    assert (checkpoints / run_lock.LOCK_FILE).exists()
    with RunLock(checkpoints, JOB, wait_s=30, **FAST) as lock:
        assert lock.owner.pid == os.getpid()


@pytest.mark.parametrize("fields, age_s, stale", [
    ({}, 0, True),                                                          # a PID that does not run here
    ({"pid": os.getppid(), "process_start": "1"}, 0, True),                 # a reused PID
    ({"pid": os.getppid()}, 10_000, False),                                 # a live PID, however old its beat
    ({"host": "node-elsewhere"}, 0, False),                                 # another host, beating
    ({"host": "node-elsewhere"}, 10_000, True),                             # another host, silent for long
    ({"host": "node-elsewhere", "slurm_job_id": "777"}, 0, True),           # this very job, requeued
])
def test_staleness_rules(tmp_path, monkeypatch, fields, age_s, stale):
    monkeypatch.setenv("SLURM_JOB_ID", "777")
    monkeypatch.setenv("PATH", str(tmp_path))  # no squeue to ask
    plant(tmp_path, age_s, **fields)
    lock = RunLock(tmp_path, JOB, wait_s=0.3, **FAST)
    if stale:
        lock.acquire()
        lock.release()
    else:
        with pytest.raises(LockTimeout, match="still held by"):
            lock.acquire()


@pytest.mark.parametrize("squeue, stale", [
    ("echo RUNNING", False),
    ("echo PENDING", False),
    ("echo COMPLETED", True),
    ("echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1", True),
    ("echo 'slurm_load_jobs error: Unable to contact slurm controller' >&2; exit 1", False),  # ask the heartbeat
])
def test_a_slurm_owner_on_another_node_is_stale_once_squeue_says_its_job_ended(tmp_path, monkeypatch, squeue, stale):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "squeue").write_text(f"#!/bin/sh\n{squeue}\n")
    (bin_dir / "squeue").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    plant(tmp_path / "run", host="gpu-node-7", slurm_job_id="31337")
    lock = RunLock(tmp_path / "run", JOB, wait_s=0.3, **FAST)
    if stale:
        lock.acquire()
        assert lock.waited_for is not None and lock.waited_for.slurm_job_id == "31337"
        lock.release()
    else:
        with pytest.raises(LockTimeout):
            lock.acquire()


def test_a_lock_taken_over_by_someone_else_is_left_alone_on_release(tmp_path, caplog):
    lock = RunLock(tmp_path, JOB, **FAST)
    lock.acquire()
    (tmp_path / run_lock.LOCK_FILE).unlink()  # clean-ups tolerate a lock already gone
    lock.release()
    lock.acquire()
    other = Owner(**{**asdict(lock.owner), "token": "someone-else"})
    (tmp_path / run_lock.LOCK_FILE).write_text(json.dumps(asdict(other)))
    lock.release()
    assert "taken over" in caplog.text and (tmp_path / run_lock.LOCK_FILE).exists()
