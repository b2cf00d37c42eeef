"""A judge's limits hold over every job of that judge at once (value_retention/judges/limits.py).

The slots are flock()ed files, so the tests hold them from real other processes (and kill one);
the rate window is an SQLite table, so two limiter instances, as two jobs would have, share it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from value_retention.judges.limits import SharedLimits, estimated_tokens

REPO = Path(__file__).resolve().parents[1]

HOLDER = """
import asyncio, sys
from value_retention.judges.limits import SharedLimits

async def main():
    limits = SharedLimits(sys.argv[1], "gpt", concurrency=1)
    async with limits.request(0):
        print("holding", flush=True)
        sys.stdin.readline()  # until the test says so (or the process is killed)

asyncio.run(main())
"""


def holder(folder: Path) -> subprocess.Popen:
    """Another process (another judge job) that takes the judge's only slot and holds it."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert process.stdout.readline().strip() == "holding"
    return process


async def try_slot(limits: SharedLimits, within_s: float) -> bool:
    """Whether a slot is free within ``within_s`` seconds."""
    async def take():
        async with limits.request(0):
            return True
    try:
        return await asyncio.wait_for(take(), within_s)
    except TimeoutError:
        return False


def test_a_slot_held_by_another_job_is_not_free_until_that_job_lets_go(tmp_path):
    limits = SharedLimits(tmp_path, "gpt", concurrency=1)
    other = holder(tmp_path)
    try:
        assert asyncio.run(try_slot(limits, 0.5)) is False
        other.stdin.write("done\n")
        other.stdin.flush()
        other.wait(timeout=30)
        assert asyncio.run(try_slot(limits, 30)) is True
    finally:
        other.kill()
        other.wait()
        limits.close()


def test_a_killed_job_never_keeps_its_slot(tmp_path):
    limits = SharedLimits(tmp_path, "gpt", concurrency=1)
    other = holder(tmp_path)
    os.kill(other.pid, signal.SIGKILL)
    other.wait()
    assert asyncio.run(try_slot(limits, 30)) is True
    limits.close()


def test_each_judge_has_its_own_slots(tmp_path):
    other = holder(tmp_path)  # holds gpt's only slot
    try:
        limits = SharedLimits(tmp_path, "claude", concurrency=1)
        assert asyncio.run(try_slot(limits, 30)) is True
        limits.close()
    finally:
        other.kill()
        other.wait()


def test_concurrency_holds_over_two_jobs_of_one_judge(tmp_path, monkeypatch):
    """Two judge jobs (threads here, each with its own judge and event loop) with concurrency 2:
    never more than 2 requests reach the server at once."""
    from test_openai_judge import KEY_ENV, SECRET, InFlight, run, write_benchmark

    from value_retention.judges.loopback import LoopbackServer

    monkeypatch.setenv(KEY_ENV, SECRET)
    in_flight = InFlight(together=2)
    jobs = [write_benchmark(tmp_path / name, [f"{name} answer {i}" for i in range(4)]) for name in ("a", "b")]
    failures = []
    with LoopbackServer(in_flight) as server:
        def job(files):
            try:
                run(files, server, concurrency=2, cache="../shared-cache")
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=job, args=(files,)) for files in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not failures, failures
    assert server.hits == 16 and in_flight.peak == 2


def test_requests_per_minute_hold_over_two_jobs(tmp_path):
    """Three requests a window (1 s here; a minute in use) over two limiters on one folder: six
    requests need two windows, and no window ever holds more than three."""
    first, second = (SharedLimits(tmp_path, "gpt", concurrency=8, requests_per_minute=3, window_s=1.0)
                     for _ in range(2))
    admitted: list[float] = []

    async def ask(limits):
        async with limits.request(0):
            admitted.append(time.time())

    async def both():
        await asyncio.gather(*(ask(limits) for limits in (first, second, first, second, first, second)))

    started = time.time()
    asyncio.run(both())
    admitted.sort()
    assert admitted[-1] - started >= 1.0
    assert all(admitted[i + 3] - admitted[i] >= 1.0 for i in range(len(admitted) - 3))
    first.close()
    second.close()


def test_tokens_per_minute_count_the_estimate_then_the_usage(tmp_path):
    limits = SharedLimits(tmp_path, "gpt", concurrency=4, tokens_per_minute=100, window_s=30.0)
    other = SharedLimits(tmp_path, "gpt", concurrency=4, tokens_per_minute=100, window_s=30.0)

    async def scenario():
        async with limits.request(80) as admission:
            admission.used(30)  # the reply used less than was reserved
        async with other.request(60):  # 30 + 60 fits
            pass
        return await try_slot_with_tokens(other, 20, within_s=0.5)  # 30 + 60 + 20 does not

    async def try_slot_with_tokens(limiter, tokens, within_s):
        async def take():
            async with limiter.request(tokens):
                return True
        try:
            return await asyncio.wait_for(take(), within_s)
        except TimeoutError:
            return False

    assert asyncio.run(scenario()) is False
    assert estimated_tokens("abcd" * 10, 50) == 60 and estimated_tokens("é", None) == 1
    limits.close()
    other.close()


def test_one_request_above_the_whole_token_budget_is_admitted_alone(tmp_path):
    limits = SharedLimits(tmp_path, "gpt", concurrency=1, tokens_per_minute=10, window_s=30.0)
    assert asyncio.run(try_slot_with_budget(limits)) is True
    limits.close()


async def try_slot_with_budget(limits):
    async with limits.request(1000):
        return True


@pytest.mark.parametrize("key, value", [("requests_per_minute", 0), ("tokens_per_minute", -5)])
def test_limits_must_be_positive(tiny_config, key, value):
    from value_retention.config import check_config, validate_schema
    from value_retention.errors import ConfigError

    tiny_config["judges"]["api"] = {"type": "openai", "model": "m", key: value}
    with pytest.raises(ConfigError, match=key):
        validate_schema(tiny_config)
        check_config(tiny_config)
