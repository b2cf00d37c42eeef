"""`make test` lints the workflow and the code before it runs the tests, and fails on a finding."""

from __future__ import annotations

import subprocess

from conftest import REPO

LINTERS = ("snakemake --lint", "snakefmt --check .", "ruff check .")


def test_make_test_runs_every_linter_before_the_tests():
    commands = subprocess.run(["make", "--dry-run", "test"], cwd=REPO, capture_output=True, text=True,
                              check=True, timeout=60).stdout.splitlines()
    order = [next((i for i, line in enumerate(commands) if line.strip().startswith(command)), None)
             for command in (*LINTERS, "python -m pytest")]
    assert None not in order, f"make test does not run {[c for c, i in zip((*LINTERS, 'pytest'), order) if i is None]}"
    assert order == sorted(order), "the linters must run before the tests"
