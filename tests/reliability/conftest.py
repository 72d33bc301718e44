"""Fixtures of the tests that run `scm run` as a process: a reference world built from the built world and
the next days' files in one clean run, and `scm run` processes that are killed if a test leaves them."""

from __future__ import annotations

import shutil
import subprocess

import polars as pl
import pytest

from tests.reliability.runs import SCM, ScmRun, drop_next_days, published_marts, world_env


@pytest.fixture(scope="session")
def next_days_reference(built_world, tmp_path_factory) -> dict[str, pl.DataFrame]:
    """The built world plus the next days' files, in one clean `scm run`: the marts any other history of
    the same files must end with."""
    data = tmp_path_factory.mktemp("reference") / "world"
    shutil.copytree(built_world.data_dir, data)
    drop_next_days(data / "landing", built_world)
    run = subprocess.run([str(SCM), "run"], env=world_env(data), capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, f"reference run failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    return published_marts(data)


@pytest.fixture
def scm_runs():
    """Start `scm run` processes; any still running at the end of the test is killed."""
    started: list[ScmRun] = []

    def start(env: dict[str, str]) -> ScmRun:
        started.append(ScmRun(env))
        return started[-1]

    yield start
    for run in started:
        if run.proc.poll() is None:
            run.kill()
