"""Start a training stage on one GPU in this process, or on several through ``accelerate launch``.

A stage block's ``processes`` (default: its ``gpus``, the GPUs its job asks the scheduler for; one
process per GPU) says how many processes train it. With one, the stage runs here. With more, the
job is written to a JSON file beside the run's checkpoints and
``accelerate launch --config_file <accelerate_config> --num_processes <processes>`` starts this module
in every process (``python -m value_retention.launch JOB.json``); each runs
:func:`value_retention.training.train_stage` and the Trainer shards data and model across them.
The repository's config (``config/accelerate/fsdp.yaml``) shards full fine-tuning with FSDP.

Accelerate enables FSDP for accelerator backends only: its state turns ``ACCELERATE_USE_FSDP`` into
``DistributedType.FSDP`` for MULTI_GPU, MULTI_XPU and the like, never for MULTI_CPU
(accelerate/state.py, ``AcceleratorState.__init__``), and would run CPU processes as plain
data-parallel workers. torch's FSDP2 (``fully_shard``) shards CPU tensors over gloo all the same,
so on a machine without CUDA each launched process asks accelerate for FSDP itself
(:func:`shard_on_cpu`): the tiny and rehearsal worlds then shard their mid-training across two CPU
processes with the repository's FSDP config, as the paper config does across four GPUs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import joblog, run_lock, trainer_config, training
from .errors import ConfigError, LaunchError
from .jsonl import write_json

log = logging.getLogger(__name__)

JOB_FILE = "launch.json"
REPO = Path(__file__).resolve().parent.parent


def train_stage(stage: str, parent_dir: str | os.PathLike, data_path: str | os.PathLike, spec: dict[str, Any],
                reward_spec: dict[str, Any] | None, out_dir: str | os.PathLike, seed: int,
                checkpoint_dir: str | os.PathLike) -> dict[str, Any]:
    """Train ``stage`` on ``spec['processes']`` processes; returns the training log (as ``training.train_stage``).

    Holds the run's lock (run_lock.py) throughout: a second job for the same run waits for this
    one, then uses the model it finished.
    """
    job = {"stage": stage, "parent_dir": os.fspath(parent_dir), "data_path": os.fspath(data_path), "spec": spec,
           "reward_spec": reward_spec, "out_dir": os.fspath(out_dir), "seed": seed,
           "checkpoint_dir": os.fspath(checkpoint_dir)}
    resolved = training.resolve_spec(stage, spec)  # config errors here, not in N processes at once
    return run_lock.train_once(checkpoint_dir, out_dir, job, lambda: _launch(job, resolved))


def _launch(job: dict[str, Any], resolved: dict[str, Any]) -> dict[str, Any]:
    if resolved["processes"] == 1:
        return training.train_stage(**job)

    stage, checkpoint_dir = job["stage"], Path(job["checkpoint_dir"])
    check_visible_gpus(resolved["gpus"], stage)
    job_file = checkpoint_dir / JOB_FILE
    write_json(job_file, job)
    command = accelerate_command(job_file, resolved["processes"], resolved["accelerate_config"])
    log.info("launching %s on %d processes: %s", stage, resolved["processes"], " ".join(command))
    completed = subprocess.run(command, env=launch_environment(), check=False, preexec_fn=die_with_parent())
    if completed.returncode != 0:
        raise LaunchError(f"accelerate launch of the {stage} stage exited with status {completed.returncode}; "
                          f"the processes' errors are above (job: {job_file})")
    training_log = json.loads((Path(job["out_dir"]) / "training_log.json").read_text(encoding="utf-8"))
    job_file.unlink(missing_ok=True)  # clean-ups tolerate what is already gone
    training.clear_checkpoints(checkpoint_dir)  # removes the then empty folder
    return training_log


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the accelerate launcher end with this process (Linux's
    PR_SET_PDEATHSIG), so that a killed train job leaves no training processes behind to race a
    re-run; None elsewhere. The C function is looked up here: the child, between fork and exec,
    only calls it (no imports, no Python locks)."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def accelerate_command(job_file: str | os.PathLike, processes: int, accelerate_config: str | os.PathLike) -> list[str]:
    """The ``accelerate launch`` command line that runs ``job_file`` on ``processes`` processes."""
    config_file = trainer_config.accelerate_config_file(os.fspath(accelerate_config), "stages.*.accelerate_config")
    return [sys.executable, "-m", "accelerate.commands.launch",
            "--config_file", str(config_file),
            "--num_processes", str(processes),
            "--num_machines", "1",
            "--main_process_port", str(free_port()),  # two jobs on one node must not share a port
            "-m", "value_retention.launch", os.fspath(job_file)]


def check_visible_gpus(gpus: int, stage: str) -> None:
    """On a GPU machine, one process per visible GPU: fewer GPUs than `gpus` is a clear error here,
    not a hang or an NCCL error in four processes."""
    import torch

    if gpus and torch.cuda.is_available() and torch.cuda.device_count() < gpus:
        raise ConfigError(f"the {stage} stage trains on {gpus} GPUs but this job sees "
                          f"{torch.cuda.device_count()} (CUDA_VISIBLE_DEVICES="
                          f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); the train rule asks the "
                          f"scheduler for `gpus` GPUs, so check --set-resources overrides", key=f"stages.{stage}.gpus")


def launch_environment() -> dict[str, str]:
    """This process's environment for the launched ones; CPU workers where there is no CUDA."""
    import torch

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if not torch.cuda.is_available():
        env["ACCELERATE_USE_CPU"] = "true"
    return env


def free_port() -> int:
    """A TCP port nobody listens on now, for the processes' rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shard_on_cpu() -> bool:
    """Where accelerate was asked for FSDP on CPU processes, give them FSDP; returns whether it did.

    Accelerate's state selects FSDP only for accelerator backends (the module docstring says
    where); this wraps ``AcceleratorState.__init__`` so that a MULTI_CPU state asked for FSDP
    (``ACCELERATE_USE_FSDP``, which ``accelerate launch`` sets from the config file) becomes an
    FSDP state with the plugin the Accelerator built from that config. torch then shards every
    decoder layer over gloo; the training log's ``sharding`` records how much each process held.
    """
    import torch
    from accelerate import state as accelerate_state
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    if torch.cuda.is_available() or os.environ.get("ACCELERATE_USE_FSDP", "false").lower() != "true":
        return False
    original_init = accelerate_state.AcceleratorState.__init__

    def init_with_fsdp(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.distributed_type == DistributedType.MULTI_CPU:
            self.fsdp_plugin = kwargs.get("fsdp_plugin") or FullyShardedDataParallelPlugin()
            self.distributed_type = DistributedType.FSDP

    accelerate_state.AcceleratorState.__init__ = init_with_fsdp
    return True


def main(argv: list[str] | None = None) -> None:
    """Entry point of each launched process: run the job file's stage."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python -m value_retention.launch JOB.json")
    joblog.configure()  # standard error is the train job's log, inherited from accelerate launch
    if shard_on_cpu():
        log.info("no CUDA: FSDP shards this stage across CPU processes over gloo")
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    training.train_stage(**job)


if __name__ == "__main__":
    main()
