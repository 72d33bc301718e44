"""Where the project keeps its files. Everything lives under one data directory so a user can point
the whole project elsewhere with one variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @property
    def landing(self) -> Path:
        return Path(os.environ.get("SCM_LANDING_DIR", self.data_dir / "landing"))

    @property
    def warehouse(self) -> Path:
        """The DuckDB file the pipeline writes (one writer at a time)."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def archive(self) -> Path:
        return self.data_dir / "archive"


def paths() -> Paths:
    return Paths(Path(os.environ.get("SCM_DATA_DIR", "data")).resolve())
