"""Dagster resources: the landing folder and the DuckDB warehouse.

Both resolve their path when a run uses them, not when the code location loads, so that
`SCM_DATA_DIR` (and `SCM_LANDING_DIR`) set for a run take effect without reloading definitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.runlock import run_lock
from pipelines.settings import Paths, duckdb_memory_limit, paths


class LandingResource(dg.ConfigurableResource):
    """The landing folder the feeds are dropped into (default: $SCM_DATA_DIR/landing)."""

    path: str | None = None

    @property
    def dir(self) -> Path:
        return Path(self.path) if self.path else paths().landing


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file the pipeline writes (default: $SCM_DATA_DIR/warehouse.duckdb).

    A run that uses it holds the warehouse folder's run lock for the whole run (pipelines/runlock.py):
    Dagster sets a resource up once per run with the in-process executor every job here uses."""

    path: str | None = None

    @property
    def file(self) -> Path:
        return Path(self.path) if self.path else paths().warehouse

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        log = context.log.warning if context.log else None
        # The lock of the data directory the warehouse is in (a warehouse configured elsewhere: its folder's).
        with run_lock(Paths(self.file.parent).run_lock, on_wait=log):
            yield self

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        # Settings, not connect-time config: DuckDB refuses a second connection to a file in one process
        # with a different config (a test's plain connect beside an in-process dbt, say).
        con = duckdb.connect(str(self.file))
        con.execute("set enable_progress_bar = false")  # it would print into the run's output and logs
        con.execute("set memory_limit = $limit", {"limit": duckdb_memory_limit()})
        try:
            yield con
        finally:
            con.close()


def default_resources() -> dict[str, object]:
    return {"warehouse": WarehouseResource(), "landing": LandingResource()}
