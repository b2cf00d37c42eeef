"""Provenance sidecars: every produced file ``F`` gets ``F.prov.json``.

A sidecar records the rule, every input with its sha256, the params, a hash of the config, the
code commit (and whether the tree was dirty), package versions, seed, device and start and end
time. ``value-retention audit`` follows the inputs from sidecar to sidecar back to the raw data.

Secrets never enter a sidecar: params hold names of environment variables, not their values, and
as a second line of defence the serialised sidecar is scrubbed of every secret value
(value_retention.redact: secret-looking environment variables and the values code registered).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from . import joblog, redact
from .jsonl import atomic_path

SIDECAR_SUFFIX = ".prov.json"
# Snakemake stamps a folder output after its job ends; the stamp is not part of the content.
IGNORED_IN_FOLDERS = {".snakemake_timestamp"}
PACKAGES = (
    "value-retention", "torch", "transformers", "trl", "peft", "accelerate", "datasets",
    "tokenizers", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "snakemake",
)
# Sidecar facts worth printing in an audit, besides rule, hashes, commit and time.
AUDIT_FACTS = ("seed", "judge_model", "base_url", "calls", "steps", "tokens", "sampling", "device")
REPO_ROOT = Path(__file__).resolve().parent.parent

log = logging.getLogger(__name__)


def sidecar_path(path: str | os.PathLike) -> Path:
    """``results/x.json`` -> ``results/x.json.prov.json``; a folder ``m/`` -> ``m.prov.json``."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def sha256_path(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a folder (its files' relative paths and hashes, sorted)."""
    path = Path(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            if child.name.endswith(SIDECAR_SUFFIX) or child.name in IGNORED_IN_FOLDERS:
                continue
            digest.update(child.relative_to(path).as_posix().encode())
            digest.update(sha256_path(child).encode())
        return digest.hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


@functools.cache
def code_version() -> dict[str, Any]:
    """The git commit of the code, and whether tracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


@functools.cache
def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def device_description() -> str:
    """The accelerator the job saw; torch is only consulted if the job already imported it."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"cpu ({platform.machine()}, {os.cpu_count()} cores)"


def scrub_secrets(text: str) -> str:
    """Replace every secret value (value_retention.redact) by ``***``."""
    return redact.scrub(text)


def _flatten_paths(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    if isinstance(value, Mapping):
        return [p for item in value.values() for p in _flatten_paths(item)]
    return [p for item in value for p in _flatten_paths(item)]


def describe_inputs(inputs: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    described = []
    for path in dict.fromkeys(_flatten_paths(inputs)):  # ordered, de-duplicated
        exists = Path(path).exists()
        described.append({"path": path, "sha256": sha256_path(path) if exists else None})
    return described


def write_sidecar(
    output: str | os.PathLike,
    *,
    rule: str,
    inputs: Iterable[str | os.PathLike] | Mapping[str, Any] = (),
    params: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    seed: int | None = None,
    started: float | None = None,
    extra: Mapping[str, Any] | None = None,
    described_inputs: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``output``'s sidecar. Call it after ``output`` is complete.

    ``described_inputs`` (from :func:`describe_inputs`) spares re-hashing the inputs when a job
    writes several outputs from the same inputs.
    """
    ended = time.time()
    record = {
        "output": {"path": os.fspath(output), "sha256": sha256_path(output)},
        "rule": rule,
        "inputs": described_inputs if described_inputs is not None else describe_inputs(inputs),
        "params": dict(params or {}),
        "config_sha256": config_hash(config) if config is not None else None,
        "code": code_version(),
        "packages": package_versions(),
        "seed": seed,
        "device": device_description(),
        "host": platform.node(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": _iso(started if started is not None else ended),
        "ended": _iso(ended),
        **dict(extra or {}),
    }
    text = scrub_secrets(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    target = sidecar_path(output)
    with atomic_path(target) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return target


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat(timespec="seconds")


class Recorder:
    """Collects extra facts during a job, then writes every output's sidecar."""

    def __init__(self, rule: str, inputs: Any, outputs: Any, params: Mapping[str, Any],
                 config: Mapping[str, Any] | None, seed: int | None):
        self.rule, self.inputs, self.outputs = rule, inputs, outputs
        self.params, self.config, self.seed = dict(params), config, seed
        self.extra: dict[str, Any] = {}
        self.started = time.time()

    def add(self, **facts: Any) -> None:
        """Record extra facts (token counts, judge models, warnings) in every sidecar."""
        self.extra.update(facts)

    def finish(self) -> None:
        inputs = describe_inputs(self.inputs)  # hashed once, shared by every output's sidecar
        for output in _flatten_paths(self.outputs):
            if Path(output).exists():
                write_sidecar(output, rule=self.rule, params=self.params, config=self.config,
                              seed=self.seed, started=self.started, extra=self.extra,
                              described_inputs=inputs)


@contextlib.contextmanager
def record(snakemake: Any) -> Iterator[Recorder]:
    """In a Snakemake ``script:``, ``with record(snakemake) as prov:`` runs the job.

    The job's output goes to the rule's log (:func:`value_retention.joblog.to_log_file`, the one
    logging set-up of every script), and every output gets its sidecar on success.
    """
    params = {key: value for key, value in snakemake.params.items()}
    wildcards = dict(snakemake.wildcards.items())
    seed = wildcards.get("seed", params.get("seed"))
    job = f"rule {snakemake.rule}" + "".join(f" {key}={value}" for key, value in wildcards.items())
    with joblog.to_log_file(job_log(snakemake), job=job):
        log.info("%s: started on %s", job, platform.node())
        recorder = Recorder(
            rule=snakemake.rule,
            inputs=list(snakemake.input),
            outputs=list(snakemake.output),
            params={**params, "wildcards": wildcards},
            config=snakemake.config,
            seed=int(seed) if seed is not None else None,
        )
        recorder.add(job=job_call(snakemake))
        yield recorder
        recorder.finish()
        log.info("%s: done in %.1f s", job, time.time() - recorder.started)


def job_call(snakemake: Any) -> dict[str, Any]:
    """The script's call, named as the rule names its files: enough to run the script again outside
    Snakemake (tests/envcheck.py runs every rule's script so, in each rule's own environment)."""
    def files(container: Any) -> dict[str, Any]:
        return {"all": [os.fspath(path) for path in container],
                "named": {name: value if isinstance(value, str) else [os.fspath(v) for v in value]
                          for name, value in container.items()}}

    return {"input": files(snakemake.input), "output": files(snakemake.output),
            "log": [os.fspath(path) for path in (getattr(snakemake, "log", None) or [])],
            "threads": getattr(snakemake, "threads", 1)}


def job_log(snakemake: Any) -> str | None:
    """The rule's log file (its first ``log:`` entry), or None when the rule declares none."""
    logs = list(getattr(snakemake, "log", None) or [])
    return os.fspath(logs[0]) if logs else None


# --------------------------------------------------------------------------------------------
# Audit: follow a number back through the sidecars.

class AuditError(Exception):
    """A file in the chain is missing, has no sidecar, or changed since it was recorded."""


@functools.cache
def tracked_files() -> frozenset[Path] | None:
    """The repository's files under version control (absolute), or None without git."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True,
                                timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return frozenset((REPO_ROOT / name).resolve() for name in listed.decode().split("\0") if name)


def is_declared_source(full: Path, sources: Iterable[str | os.PathLike] = ()) -> bool:
    """Whether a file without a sidecar may end a provenance chain: a file of the repository under
    version control (``paper/main.tex``, a notebook), or a local input the config names
    (``sources``). Any other file without a sidecar was produced and lost its record, or was put
    there by hand; either way nothing vouches for it. Without git, the repository's files count
    as sources except those under folders whose names start with ``results`` or ``resources``."""
    full = full.resolve()
    if full in {Path(source).resolve() for source in sources}:
        return True
    tracked = tracked_files()
    if tracked is not None:
        return full in tracked
    try:
        relative = full.relative_to(REPO_ROOT.resolve())
    except ValueError:
        return False
    return not relative.parts[0].startswith(("results", "resources", "."))


def audit_chain(path: str | os.PathLike, *, root: str | os.PathLike = ".", depth: int = 0,
                max_depth: int | None = None, sources: Iterable[str | os.PathLike] = (),
                _seen: set[str] | None = None, _sha256: str | None = None) -> list[dict[str, Any]]:
    """The chain of sidecars behind ``path``, depth first; raises AuditError on a hash mismatch.

    Each entry: depth, path, sha256, rule, code commit, end time, and the facts that say what
    was done (seed, stage, judge, spec). A file without a sidecar ends the chain as a source only
    if it is a declared source (:func:`is_declared_source`; ``sources``: the local files the
    config names, relative to ``root``); any other is an AuditError.
    """
    seen = _seen if _seen is not None else set()
    sources = list(sources)
    path_str = os.fspath(path)
    full = Path(root) / path_str
    if path_str in seen:
        return []
    seen.add(path_str)
    if not full.exists():
        raise AuditError(f"{path_str}: file in the provenance chain is missing")
    sidecar = sidecar_path(full)
    actual = _sha256 or sha256_path(full)  # the caller may have hashed it already
    if not sidecar.exists():
        if not is_declared_source(full, [Path(root) / source for source in sources]):
            raise AuditError(f"{path_str}: has no provenance sidecar ({sidecar.name}) and is not a source "
                             "(a file tracked in the repository, or a local file the config names): a rule "
                             "made it and its record is gone, or it was put there by hand; re-run the rule "
                             "that makes it")
        return [{"depth": depth, "path": path_str, "sha256": actual, "rule": None}]
    recorded = json.loads(sidecar.read_text(encoding="utf-8"))
    if recorded["output"]["sha256"] != actual:
        raise AuditError(f"{path_str}: changed since rule '{recorded['rule']}' produced it "
                         f"(recorded sha256 {recorded['output']['sha256'][:12]}, now {actual[:12]})")
    params = recorded.get("params", {})
    facts = {key: params[key] for key in ("stage", "judge", "condition", "spec") if params.get(key)}
    facts.update({key: recorded[key] for key in AUDIT_FACTS if recorded.get(key) not in (None, {}, [])})
    chain = [{
        "depth": depth, "path": path_str, "sha256": actual, "rule": recorded["rule"],
        "commit": recorded.get("code", {}).get("commit"), "dirty": recorded.get("code", {}).get("dirty"),
        "ended": recorded.get("ended"), "facts": facts,
    }]
    if max_depth is not None and depth >= max_depth:
        return chain
    for item in recorded.get("inputs", []):
        input_full = Path(root) / item["path"]
        input_sha = sha256_path(input_full) if input_full.exists() else None
        if item.get("sha256") and input_sha is not None and input_sha != item["sha256"]:
            raise AuditError(f"{item['path']}: changed since {path_str} was made from it "
                             f"(recorded sha256 {item['sha256'][:12]})")
        chain.extend(audit_chain(item["path"], root=root, depth=depth + 1, max_depth=max_depth,
                                 sources=sources, _seen=seen, _sha256=input_sha))
    return chain
