"""A one-node SLURM cluster on localhost, started for tests that submit real jobs.

    with SlurmCluster() as cluster:          # installs SLURM and munge if missing (root, apt)
        subprocess.run(["sbatch", "-p", cluster.partition, "--wrap", "hostname"], env=cluster.env)

or, in pytest, the session fixture `slurm_cluster` (import it into a test module).

What it does, in order (docs/slurm.md, "The test cluster", says why each step is needed):

1. installs the Debian packages `slurm-wlm` and `munge` when their daemons are missing;
2. starts its own `munged` whose key, socket, pid, log and seed files live in a temporary folder,
   so a system munge (if any) is neither used nor disturbed;
3. writes `/etc/slurm/slurm.conf` (backing up any existing one). It must be that path: the SLURM
   executor strips `SLURM_CONF` from the environment before the `srun` inside each job, so a
   config anywhere else sends that `srun` to the wrong cluster. Ports are free ones picked now, so a
   cluster already running on the default ports is left alone;
4. starts `slurmctld` and `slurmd`, and waits until `sinfo` shows the node idle;
5. on exit cancels leftover jobs, stops slurmd, slurmctld and munged by their pid files, and puts
   back the slurm.conf it replaced.

A machine that cannot start the cluster (not root, no apt, a daemon that dies) makes the fixture
FAIL with the reason and the daemons' log tails: a SLURM test must never pass by not running. Only
on a non-Linux machine, where SLURM does not exist, is it skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

SLURM_CONF = Path("/etc/slurm/slurm.conf")
PARTITION = "vrtest"
CLUSTER_NAME = "vrtest"
PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sinfo", "squeue", "sbatch", "scancel", "srun")


class ClusterUnavailable(RuntimeError):
    """This machine cannot run the test cluster; the message says why."""


# --- installation --------------------------------------------------------------------------------

def missing_programs() -> list[str]:
    return [name for name in (*DAEMONS, *CLIENTS) if _which(name) is None]


def _which(name: str) -> str | None:
    # Daemons live in /usr/sbin, which a non-login root shell does not always have on PATH.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def program(name: str) -> str:
    path = _which(name)
    if path is None:
        raise ClusterUnavailable(f"{name} is not installed")
    return path


def ensure_installed() -> None:
    """Install SLURM and munge with apt (about 15-25 s) unless every program is already there."""
    missing = missing_programs()
    if not missing:
        return
    if os.geteuid() != 0:
        raise ClusterUnavailable(f"SLURM programs {missing} are missing and installing them needs root")
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"SLURM programs {missing} are missing and apt-get is not available")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise ClusterUnavailable(f"`{' '.join(command)}` failed ({result.returncode}):\n"
                                     f"{(result.stdout + result.stderr)[-3000:]}")
    still_missing = missing_programs()
    if still_missing:
        raise ClusterUnavailable(f"after installing {PACKAGES}, still missing: {still_missing}")


# --- the machine ---------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def total_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterUnavailable("/proc/meminfo has no MemTotal line")


def node_name() -> str:
    """slurmd finds its NodeName line by the short host name."""
    return socket.gethostname().split(".")[0]


# --- configuration -------------------------------------------------------------------------------

def slurm_conf_text(root: Path, *, node: str, cpus: int, memory_mb: int, ctld_port: int,
                    slurmd_port: int, munge_socket: Path) -> str:
    """slurm.conf for one node that is its own controller; every path under `root`."""
    return "\n".join([
        f"ClusterName={CLUSTER_NAME}",
        f"SlurmctldHost={node}(127.0.0.1)",
        "SlurmUser=root",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'slurmd.log'}",
        # No cgroups in a container: track processes by parent pid, bind no tasks.
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        # Cores and memory are consumable, so two 1-CPU jobs can share the 2-CPU node.
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        # No slurmdbd: squeue (not sacct) is the executor's status command.
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        # squeue forgets a finished job after MinJobAge seconds; below about 120 the executor
        # goes back to sacct.
        "MinJobAge=300",
        "ReturnToService=2",
        "MailProg=/bin/true",
        f"NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


# --- the cluster ---------------------------------------------------------------------------------

class SlurmCluster:
    """Start (on enter) and stop (on exit) a one-node SLURM cluster; see the module docstring."""

    def __init__(self, *, ready_timeout_s: float = 90.0):
        # Every online CPU, as slurmd counts them: configuring more would drain the node.
        self.cpus = os.cpu_count() or 1
        # Below the machine's memory, or slurmd reports less than configured and the node drains.
        self.memory_mb = int(total_memory_mb() * 0.75)
        self.partition = PARTITION
        self.node = node_name()
        self.ready_timeout_s = ready_timeout_s
        self.root: Path | None = None
        self._backup: Path | None = None
        self._wrote_conf = False
        # Clients and jobs must read /etc/slurm/slurm.conf, whatever the caller's environment says.
        self.env = {key: value for key, value in os.environ.items() if key != "SLURM_CONF"}

    # -- context manager --

    def __enter__(self) -> SlurmCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        if os.geteuid() != 0:
            raise ClusterUnavailable("starting slurmctld, slurmd and munged as configured here needs root")
        ensure_installed()
        self.root = Path(tempfile.mkdtemp(prefix="vr-slurm-"))
        for folder in ("state", "spool", "munge"):
            (self.root / folder).mkdir(mode=0o700)
        munge_socket = self._start_munge()
        self._write_conf(munge_socket)
        self._run_daemon("slurmctld")
        self._run_daemon("slurmd")
        self._wait_until_idle()

    def stop(self) -> None:
        """Cancel leftover jobs, stop the daemons by pid file, put slurm.conf back. Idempotent."""
        if self.root is None:
            return
        if _alive(self.root / "slurmctld.pid"):
            self._cancel_jobs()
        for pid_file in ("slurmd.pid", "slurmctld.pid", "munge/munged.pid"):
            _terminate(self.root / pid_file)
        self._restore_conf()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    # -- steps --

    def _cancel_jobs(self, timeout_s: float = 20.0) -> None:
        """Cancel whatever a failed test left queued or running, and wait until it is gone."""
        subprocess.run(["scancel", f"--partition={self.partition}"], env=self.env, capture_output=True, timeout=30)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            active = subprocess.run(["squeue", "--noheader", f"--partition={self.partition}",
                                     "--states=PENDING,RUNNING,COMPLETING"],
                                    env=self.env, capture_output=True, text=True, timeout=30)
            if active.returncode != 0 or not active.stdout.strip():
                return
            time.sleep(0.5)

    def _start_munge(self) -> Path:
        folder = self.root / "munge"
        key = folder / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o400)
        socket_path = folder / "munge.socket"
        self._run([program("munged"), "--force", f"--socket={socket_path}", f"--key-file={key}",
                   f"--pid-file={folder / 'munged.pid'}", f"--log-file={folder / 'munged.log'}",
                   f"--seed-file={folder / 'munged.seed'}"], what="munged")
        return socket_path

    def _write_conf(self, munge_socket: Path) -> None:
        text = slurm_conf_text(self.root, node=self.node, cpus=self.cpus, memory_mb=self.memory_mb,
                               ctld_port=free_port(), slurmd_port=free_port(), munge_socket=munge_socket)
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        if SLURM_CONF.exists():
            self._backup = self.root / "slurm.conf.backup"
            shutil.copy2(SLURM_CONF, self._backup)
        self._wrote_conf = True
        SLURM_CONF.write_text(text)

    def _restore_conf(self) -> None:
        if not self._wrote_conf:
            return
        if self._backup is not None:
            shutil.copy2(self._backup, SLURM_CONF)
        else:
            SLURM_CONF.unlink(missing_ok=True)
        self._wrote_conf = False

    def _run_daemon(self, name: str) -> None:
        """Start a daemon (it forks into the background) and check that it stayed up."""
        self._run([program(name)], what=name)
        pid_file = self.root / f"{name}.pid"
        deadline = time.time() + 15
        while time.time() < deadline:
            if _alive(pid_file):
                return
            time.sleep(0.2)
        raise ClusterUnavailable(f"{name} did not stay up\n{self.diagnostics()}")

    def _wait_until_idle(self) -> None:
        deadline = time.time() + self.ready_timeout_s
        state = ""
        while time.time() < deadline:
            result = subprocess.run(["sinfo", "--noheader", "--nodes", self.node, "--format", "%T"],
                                    env=self.env, capture_output=True, text=True, timeout=30)
            state = (result.stdout + result.stderr).strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise ClusterUnavailable(f"node {self.node} not idle after {self.ready_timeout_s:.0f} s "
                                 f"(sinfo says {state!r})\n{self.diagnostics()}")

    def _run(self, command: list[str], *, what: str) -> None:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise ClusterUnavailable(f"{what} failed to start ({result.returncode}): "
                                     f"{(result.stdout + result.stderr).strip()}\n{self.diagnostics()}")

    # -- for failure messages --

    def diagnostics(self, lines: int = 15) -> str:
        """The tail of every daemon log: what a failure message needs to be actionable."""
        if self.root is None:
            return ""
        parts = []
        for log in ("munge/munged.log", "slurmctld.log", "slurmd.log"):
            path = self.root / log
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True


def _terminate(pid_file: Path, timeout_s: float = 10.0) -> None:
    """SIGTERM the process named in a pid file, then SIGKILL if it has not gone in time."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- pytest --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node cluster for the whole session; fails (never skips) where it cannot start."""
    if not sys.platform.startswith("linux"):
        pytest.skip(f"SLURM runs on Linux only (this is {sys.platform})")
    try:
        with SlurmCluster() as cluster:  # stops what it started, also when starting fails
            yield cluster
    except ClusterUnavailable as error:
        pytest.fail(f"could not start the single-node SLURM cluster: {error}", pytrace=False)
