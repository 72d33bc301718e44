"""Dagster resources: where the data lives and the DuckDB warehouse."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.settings import paths


class LandingResource(dg.ConfigurableResource):
    """The landing folder the feeds are dropped into."""

    path: str

    @property
    def dir(self) -> Path:
        return Path(self.path)


def default_resources() -> dict[str, object]:
    p = paths()
    p.warehouse.parent.mkdir(parents=True, exist_ok=True)
    return {
        "duckdb": DuckDBResource(database=str(p.warehouse)),
        "landing": LandingResource(path=str(p.landing)),
    }
