"""One small generated warehouse and its published snapshot for all dashboard tests, and the marts read directly
(not through dashboards/queries.py) to compare what the pages show with."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def keep_main_module():
    """Streamlit's script runner (AppTest runs it in this process) installs the app as `__main__` and leaves
    it there. A later spawn-based process pool (the forecast's) would then re-run the app in every
    worker, which dies: put the real `__main__` back after each test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="package")
def warehouse(built_world) -> Path:
    """The data directory of the session's generated warehouse (tests/conftest.py), run end to end by
    `scm run` and published. The dashboard tests only read it."""
    return built_world.data_dir


@pytest.fixture
def data_env(warehouse, monkeypatch) -> Path:
    """Point this process (AppTest runs the app in it) at the fixture's data directory."""
    monkeypatch.setenv("SCM_DATA_DIR", str(warehouse))
    monkeypatch.setenv("DAGSTER_HOME", str(warehouse / "dagster_home"))
    return warehouse


class Marts:
    """Read the published snapshot of a data directory directly, with plain SQL."""

    def __init__(self, data_dir: Path):
        from pipelines import snapshot

        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SCM_DATA_DIR", str(data_dir))
            self.path = snapshot.current_path()

    def rows(self, sql: str, **params) -> list[tuple]:
        from pipelines import snapshot

        # The readers' way of opening it: DuckDB refuses a second config for a file the app (which AppTest runs in
        # this process) has open.
        with snapshot.open_snapshot(self.path) as con:
            return con.sql(sql, params=params or None).fetchall()

    def one(self, sql: str, **params):
        (row,) = self.rows(sql, **params)
        return row[0] if len(row) == 1 else row


@pytest.fixture(scope="package")
def marts(warehouse) -> Marts:
    return Marts(warehouse)
