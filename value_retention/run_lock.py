"""One live trainer per run: an exclusive lock in the run's checkpoint folder.

A training job can outlive the Snakemake that started it: when the ``snakemake`` process is
killed (a lost login-node shell, the OOM killer), its jobs, local processes or SLURM jobs, go on.
The documented recovery (``snakemake --unlock``, then a re-run) then starts a second job for the
same run. Two trainers on one checkpoint folder overwrite each other's checkpoints, and the one
that fails makes Snakemake delete the job's outputs, which are the model the other has just
written. So :func:`train_once` holds :class:`RunLock` while it trains:

- The lock is ``<checkpoint_dir>/trainer.lock``, created atomically (a complete file hard-linked
  into place, which fails if one exists). It records the owner: PID, host, the process's start
  time, the SLURM job id, and a hash of the job (stage, data, parent, stage block, seed, output).
  While it holds the lock the owner touches the file every :data:`HEARTBEAT_S` seconds.
- A second job for the same run **waits** while the owner is alive, then, if the owner was
  training the same job and left the finished model in the output folder, returns that model's
  training log instead of training again: the second job succeeds, and Snakemake keeps the model.
  If the owner died or trained something else, the second job trains (resuming from the
  checkpoints the owner left).
- A lock is **stale**, and is taken over, when its owner is certainly gone:

  1. it names this host and its PID is not running, or that PID now belongs to a process that
     started at another time (PIDs are reused);
  2. it names the SLURM job this process runs in (the job was requeued: SLURM runs one
     incarnation of a job at a time);
  3. it names a SLURM job that ``squeue`` reports finished or no longer knows;
  4. otherwise (another host, and no SLURM job id, or no ``squeue`` to ask): its heartbeat is
     older than :data:`STALE_AFTER_S` seconds. A live owner touches the lock every
     :data:`HEARTBEAT_S` seconds, so only an owner that stopped beating (killed, or its host
     gone) leaves an old lock; its clocks must agree with ours to within a few minutes.

Waiting holds the job's allocation (a GPU, on a cluster) until the owner finishes or the job's
time limit ends it; that is the price of never destroying a finished model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCK_FILE = "trainer.lock"
TRAINING_LOG = "training_log.json"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 600.0
POLL_S = 10.0
REPORT_EVERY_S = 600.0  # a waiting job says it is still waiting this often
# squeue's states of a job that will never run again (anything else may still be running).
FINISHED_SLURM_STATES = frozenset({
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
    "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT",
})


class LockTimeout(TimeoutError):
    """A job gave up waiting for the live owner of its run's lock (only when asked to give up)."""


@dataclass(frozen=True)
class Owner:
    """Who holds a run's lock; ``token`` tells this holding apart from any other."""

    pid: int
    host: str
    process_start: str | None
    slurm_job_id: str | None
    job: str
    started: float
    token: str

    def describe(self) -> str:
        slurm = f", SLURM job {self.slurm_job_id}" if self.slurm_job_id else ""
        return f"PID {self.pid} on {self.host}{slurm}"


def job_hash(job: Mapping[str, Any]) -> str:
    """A hash of what the job trains: two jobs with the same hash make the same model."""
    return hashlib.sha256(json.dumps(job, sort_keys=True, default=str).encode()).hexdigest()


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), or None if unknown."""
    fields = _proc_stat(pid)
    return fields[19] if fields else None  # field 22 of the whole line


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host: a zombie (dead, not yet reaped) does not."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # somebody else's process
    fields = _proc_stat(pid)
    return not (fields and fields[0] in ("Z", "X"))


def slurm_job_state(job_id: str) -> str | None:
    """The job's state as squeue reports it; "" when squeue no longer knows the job; None when
    squeue cannot be asked (not installed, or the controller does not answer)."""
    try:
        result = subprocess.run(["squeue", "--noheader", "--jobs", job_id, "--format", "%T"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return "" if "invalid job id" in result.stderr.lower() else None
    return result.stdout.strip().split("\n")[0].strip()


def staleness(owner: Owner, lock_age_s: float, stale_after_s: float = STALE_AFTER_S) -> str | None:
    """Why ``owner`` is certainly gone (the module's rules 1-4), or None if it may be alive."""
    if owner.host == socket.gethostname():
        if not pid_alive(owner.pid):
            return f"process {owner.pid} is no longer running"
        now_started = process_start_time(owner.pid)
        if owner.process_start and now_started and now_started != owner.process_start:
            return f"PID {owner.pid} now belongs to another process"
        if owner.pid != os.getpid():
            return None
    if owner.slurm_job_id and owner.slurm_job_id == os.environ.get("SLURM_JOB_ID"):
        return f"it names this SLURM job ({owner.slurm_job_id}), which was requeued"
    if owner.host == socket.gethostname():
        return None
    if owner.slurm_job_id:
        state = slurm_job_state(owner.slurm_job_id)
        if state is not None:
            if not state or state in FINISHED_SLURM_STATES:
                return f"SLURM job {owner.slurm_job_id} is {state.lower() or 'no longer known to squeue'}"
            return None
    if lock_age_s > stale_after_s:
        return f"its owner on {owner.host} has not touched it for {lock_age_s:.0f} s (over {stale_after_s:.0f} s)"
    return None


class RunLock:
    """``with RunLock(checkpoint_dir, job):`` holds the run's lock (see the module docstring).

    ``waited_for`` is the last live owner of the same job this holder waited for or took over
    from, if any: its model, once finished, is this job's model too.
    """

    def __init__(self, checkpoint_dir: str | os.PathLike, job: Mapping[str, Any], *, poll_s: float = POLL_S,
                 heartbeat_s: float = HEARTBEAT_S, stale_after_s: float = STALE_AFTER_S,
                 wait_s: float | None = None):
        self.folder = Path(checkpoint_dir)
        self.path = self.folder / LOCK_FILE
        self.job = job_hash(job)
        self.poll_s, self.heartbeat_s, self.stale_after_s, self.wait_s = poll_s, heartbeat_s, stale_after_s, wait_s
        self.waited_for: Owner | None = None
        self.owner: Owner | None = None
        self._beating = threading.Event()
        self._heart: threading.Thread | None = None

    # ---------------------------------------------------------------------------------------

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

    def acquire(self) -> None:
        me = Owner(pid=os.getpid(), host=socket.gethostname(), process_start=process_start_time(os.getpid()),
                   slurm_job_id=os.environ.get("SLURM_JOB_ID"), job=self.job, started=time.time(),
                   token=secrets.token_hex(8))
        started, reported = time.monotonic(), None
        while not self._create(me):
            found = self._read()
            if found is None:
                continue  # released between our attempt and our look: try again at once
            owner, text, age = found
            reason = staleness(owner, age, self.stale_after_s)
            if reason is not None:
                log.warning("taking over the lock %s of %s: %s", self.path, owner.describe(), reason)
                self._remove_if_unchanged(text)
                self._note(owner)
                continue
            self._note(owner)
            if reported is None or time.monotonic() - reported >= REPORT_EVERY_S:
                log.info("waiting for the live trainer of this run (%s, holding %s since %s); it may "
                         "already be training this model", owner.describe(), self.path,
                         time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.started)))
                reported = time.monotonic()
            if self.wait_s is not None and time.monotonic() - started > self.wait_s:
                raise LockTimeout(f"{self.path}: still held by {owner.describe()} after {self.wait_s:.0f} s")
            time.sleep(self.poll_s)
        self.owner = me
        self._beating.clear()
        self._heart = threading.Thread(target=self._beat, name="run-lock-heartbeat", daemon=True)
        self._heart.start()

    def release(self) -> None:
        """Remove the lock if it is still ours; tolerates it being gone already."""
        if self.owner is None:
            return
        self._beating.set()
        if self._heart is not None:
            self._heart.join()
        found = self._read()
        if found is not None and found[0].token == self.owner.token:
            self.path.unlink(missing_ok=True)
        elif found is not None:
            log.warning("the lock %s was taken over by %s while this job held it", self.path, found[0].describe())
        self.owner = None
        try:
            self.folder.rmdir()  # the run's folder goes once it holds nothing else
        except OSError:
            pass

    # ---------------------------------------------------------------------------------------

    def _note(self, owner: Owner) -> None:
        if owner.job == self.job:
            self.waited_for = owner

    def _create(self, me: Owner) -> bool:
        """Put a complete lock file in place unless one exists (link() does not overwrite)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        draft = self.folder / f".{LOCK_FILE}.{me.token}"
        draft.write_text(json.dumps(asdict(me), indent=2) + "\n", encoding="utf-8")
        try:
            os.link(draft, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            draft.unlink(missing_ok=True)

    def _read(self) -> tuple[Owner, str, float] | None:
        """The lock's owner, its text and its age in seconds; None if there is no lock now."""
        try:
            text = self.path.read_text(encoding="utf-8")
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        try:
            return Owner(**json.loads(text)), text, age
        except (ValueError, TypeError):  # not a lock this code wrote: say who, by the file, not guess
            return Owner(pid=-1, host="an unknown host", process_start=None, slurm_job_id=None, job="",
                         started=0.0, token=""), text, age

    def _remove_if_unchanged(self, text: str) -> None:
        """Remove a stale lock, unless another job replaced it since we read it."""
        aside = self.folder / f".{LOCK_FILE}.stale.{os.getpid()}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another job removed it first
        if aside.read_text(encoding="utf-8") != text:  # we moved a newer owner's lock: put it back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                log.error("%s: a lock was replaced while being taken over; two jobs may now train this run",
                          self.path)
        aside.unlink(missing_ok=True)

    def _beat(self) -> None:
        while not self._beating.wait(self.heartbeat_s):
            found = self._read()
            if found is not None and self.owner is not None and found[0].token == self.owner.token:
                try:
                    os.utime(self.path)
                except FileNotFoundError:
                    pass


def finished_training_log(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The training log of a complete model in ``out_dir`` (models are renamed into place whole)."""
    path = Path(out_dir) / TRAINING_LOG
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def train_once(checkpoint_dir: str | os.PathLike, out_dir: str | os.PathLike, job: Mapping[str, Any],
               train: Callable[[], dict[str, Any]], **lock_options: Any) -> dict[str, Any]:
    """Run ``train`` (which writes the model to ``out_dir`` and returns its training log) holding
    the run's lock. If this job waited for a live trainer of the same job and that trainer left
    its finished model in ``out_dir``, return that model's training log instead of training."""
    with RunLock(checkpoint_dir, job, **lock_options) as lock:
        if lock.waited_for is not None:
            finished = finished_training_log(out_dir)
            if finished is not None:
                log.info("the trainer this job waited for (%s) finished this run: using its model in %s",
                         lock.waited_for.describe(), out_dir)
                return finished
        return train()
