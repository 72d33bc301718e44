"""One small generated warehouse and its published snapshot for all dashboard tests, and the marts read directly
(not through dashboards/queries.py) to compare what the pages show with."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.feeds.generator import generate


@pytest.fixture(scope="package")
def warehouse(tmp_path_factory) -> Path:
    """The data directory of a generated warehouse after `run_everything`, with a published snapshot. Built once
    for the package: both test modules read it and neither writes to it."""
    from pipelines import snapshot
    from pipelines.runner import run_everything

    data = tmp_path_factory.mktemp("dashboards")
    generate(data / "landing", scale=0.01, days=200)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCM_DATA_DIR", str(data))
        mp.setenv("DAGSTER_HOME", str(data / "dagster_home"))
        summary = run_everything()
        assert summary.success, summary.failures
        if snapshot.current_path() is None:  # a pipeline without its publishing step: publish as it would
            with duckdb.connect(str(data / "warehouse.duckdb")) as con:
                snapshot.publish(con, summary.run_id)
        assert snapshot.current_path() is not None
    return data


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
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.sql(sql, params=params or None).fetchall()

    def one(self, sql: str, **params):
        (row,) = self.rows(sql, **params)
        return row[0] if len(row) == 1 else row


@pytest.fixture(scope="package")
def marts(warehouse) -> Marts:
    return Marts(warehouse)
