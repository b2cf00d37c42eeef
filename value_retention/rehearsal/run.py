"""Run the rehearsal world: the local hub and the judge server up, the workflow, both down.

    value-retention rehearse [--workdir DIR] [--snapshot DIR] [SNAKEMAKE ARGUMENTS ...]

1. the local hub snapshot (:mod:`.snapshot`) is made once, in ``<workdir>/.rehearsal-hub``;
2. :class:`.hub.LocalHub` serves it on a free loopback port, which ``HF_ENDPOINT`` names, and the
   judge server (:mod:`.judges`) listens on the port config/rehearsal.yaml's judges name;
3. ``snakemake --configfile config/rehearsal.yaml --cores 2`` runs in ``workdir`` with
   ``HF_HOME`` inside it (no cache or token of the user's is read) and a stand-in API key;
4. both servers stop, whatever the run's outcome.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..errors import ConfigError
from ..judges.loopback import LoopbackServer
from .hub import LocalHub
from .judges import judge_server
from .snapshot import make_snapshot

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "rehearsal.yaml"
API_KEY_VALUE = "rehearsal-key-not-a-secret"


def judge_port(config: dict) -> int:
    """The one loopback port every rehearsal judge's base_url names."""
    ports = {urlsplit(spec["base_url"]).port for spec in config["judges"].values() if spec.get("base_url")}
    if len(ports) != 1 or None in ports:
        raise ConfigError(f"the rehearsal's judges must share one loopback port (found {sorted(map(str, ports))})",
                          key="judges", source=str(CONFIG))
    return ports.pop()


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise ConfigError(f"port {port} on 127.0.0.1 is taken (another rehearsal running?); the rehearsal's "
                              "judge server listens there", key="judges.*.base_url", source=str(CONFIG))


def environment(workdir: Path, endpoint: str, config: dict) -> dict[str, str]:
    """This process's environment for the workflow, pointed at the local services only."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(workdir / ".hf-home"), HF_HUB_DISABLE_TELEMETRY="1",
               PATH=os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")]))
    for spec in config["judges"].values():
        if spec.get("api_key_env"):
            env[spec["api_key_env"]] = API_KEY_VALUE
    return env


@dataclass
class Services:
    env: dict[str, str]     # the workflow's environment
    hub: LocalHub
    judges: LoopbackServer  # .hits counts the requests the judges received
    snapshot: Path


@contextlib.contextmanager
def services(workdir: str | os.PathLike, snapshot: str | os.PathLike | None = None) -> Iterator[Services]:
    """The local hub and the judge server, up for the block."""
    workdir = Path(workdir)
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    snapshot = Path(snapshot) if snapshot else workdir / ".rehearsal-hub"
    if not (snapshot / "commits.json").exists():
        make_snapshot(snapshot)
    port = judge_port(config)
    check_port_free(port)
    with LocalHub(snapshot) as hub, judge_server(port) as judges:
        yield Services(environment(workdir, hub.endpoint, config), hub, judges, snapshot)


def rehearse(workdir: str | os.PathLike, snakemake_args: Sequence[str] = (), snapshot: str | None = None,
             cores: int = 2, **run_kwargs) -> subprocess.CompletedProcess:
    """Run the workflow on config/rehearsal.yaml in ``workdir`` with the local services."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with services(workdir, snapshot) as running:
        return run_workflow(running, workdir, snakemake_args, cores, **run_kwargs)


def run_workflow(running: Services, workdir: str | os.PathLike, snakemake_args: Sequence[str] = (), cores: int = 2,
                 **run_kwargs) -> subprocess.CompletedProcess:
    """``snakemake`` on config/rehearsal.yaml in ``workdir``, with the running services."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(CONFIG),
               "--directory", str(workdir), "--cores", str(cores), *snakemake_args]
    return subprocess.run(command, env=running.env, cwd=REPO, check=False, **run_kwargs)
