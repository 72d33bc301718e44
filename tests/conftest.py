"""Fixtures shared across test modules.

`built_world` is one small generated business run end to end by the real `scm run` command (ingest,
dbt, forecast, planning marts, published snapshot), built once per session because a run costs a
minute or two. Tests that only read it share it; a test that runs the pipeline again or changes the
data works on `world_copy`, a private copy, so that the order tests run in never matters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

SCM = Path(sys.executable).with_name("scm")

# The files tests write are complete when written: no run waits for them to settle (pipelines/feeds/landing.py).
# Set here, before any test, so that every `scm run` a test starts inherits it; a test of the wait sets its own.
os.environ["SCM_SETTLE_SECONDS"] = "0"


def pytest_configure(config: pytest.Config) -> None:
    # Tests load the Dagster definitions, which are built from the dbt manifest: prepared here when stale,
    # as `make setup` does, by the controller alone (xdist workers start after it, and must not parse at once).
    if not hasattr(config, "workerinput"):
        from pipelines.assets.dbt_project import prepare_manifest

        prepare_manifest()


@dataclass(frozen=True)
class World:
    data_dir: Path
    start: date
    days: int
    seed: int
    run: subprocess.CompletedProcess  # the `scm run` that built it

    def env(self) -> dict[str, str]:
        return {**os.environ, "SCM_DATA_DIR": str(self.data_dir), "DAGSTER_HOME": str(self.data_dir / "dagster_home")}


def scm_run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCM), "run"], env=env, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="session")
def built_world(tmp_path_factory) -> World:
    from pipelines.demo import generate

    data = tmp_path_factory.mktemp("world")
    start, days, seed = date(2024, 1, 1), 200, 5  # 200 days: every model has history before its cut-offs
    generate(data / "landing", scale=0.01, days=days, seed=seed, start=start)
    world = World(data, start, days, seed, run=None)  # type: ignore[arg-type]
    result = scm_run(world.env())
    assert result.returncode == 0, f"scm run failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return World(data, start, days, seed, run=result)


@pytest.fixture
def world_copy(built_world, tmp_path, monkeypatch) -> World:
    """A private copy of the built world, with SCM_DATA_DIR and DAGSTER_HOME pointing at it."""
    data = tmp_path / "world"
    shutil.copytree(built_world.data_dir, data)
    world = World(data, built_world.start, built_world.days, built_world.seed, built_world.run)
    for name, value in world.env().items():
        if name in ("SCM_DATA_DIR", "DAGSTER_HOME"):
            monkeypatch.setenv(name, value)
    return world
