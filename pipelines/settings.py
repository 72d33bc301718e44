"""Where the project keeps its files. Everything lives under one data directory so a user can point
the whole project elsewhere with one variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """Every location under the data directory: callers ask here (or the resources, which ask here)."""

    data_dir: Path

    @property
    def landing(self) -> Path:
        """Where feeds are dropped: $SCM_LANDING_DIR, else `own_landing`."""
        return Path(os.environ.get("SCM_LANDING_DIR", self.own_landing))

    @property
    def own_landing(self) -> Path:
        """The data directory's own landing folder (what `scm init` creates)."""
        return self.data_dir / "landing"

    @property
    def warehouse(self) -> Path:
        """The DuckDB file the pipeline writes (one writer at a time)."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def spill(self) -> Path:
        """DuckDB's spill folder for the warehouse beyond its memory limit (DuckDB's default place for it)."""
        return self.data_dir / "warehouse.duckdb.tmp"

    @property
    def run_lock(self) -> Path:
        """Held by a run from start to end (pipelines/runlock.py)."""
        return self.data_dir / ".run.lock"

    @property
    def archive(self) -> Path:
        return self.data_dir / "archive"

    @property
    def snapshots(self) -> Path:
        """The published snapshots readers read, and the CURRENT pointer (pipelines/snapshot.py)."""
        return self.data_dir / "snapshots"

    @property
    def logs(self) -> Path:
        """`scm run`'s log files."""
        return self.data_dir / "logs"

    @property
    def docs_site(self) -> Path:
        """The dbt docs site `scm docs` generates."""
        return self.data_dir / "docs_site"

    @property
    def dagster_home(self) -> Path:
        """Dagster's run history and dagster.yaml: $DAGSTER_HOME, else <data dir>/dagster_home."""
        return Path(os.environ.get("DAGSTER_HOME", self.data_dir / "dagster_home"))

    @property
    def alerts_settings(self) -> Path:
        """The alert channels' settings (pipelines/alerts/channels.py)."""
        return self.data_dir / "alerts.toml"

    @property
    def kpi_targets(self) -> Path:
        """Targets per KPI that override the defaults (pipelines/alerts/targets.py)."""
        return self.data_dir / "targets.toml"


def paths() -> Paths:
    return Paths(Path(os.environ.get("SCM_DATA_DIR", "data")).resolve())


# DuckDB's default memory limit is 80% of the machine, per process. The pipeline's writer (ingest, dbt,
# the snapshot copy) runs beside the forecast's workers and readers, so it gets a fixed share and spills
# beyond it to DuckDB's default spill folder, `warehouse.duckdb.tmp/` beside the file. Override with
# SCM_DUCKDB_MEMORY_LIMIT (any DuckDB size, e.g. "8GB").
DUCKDB_MEMORY_LIMIT = "4GB"


def duckdb_memory_limit() -> str:
    """The memory limit every pipeline connection to the warehouse sets (dbt's too, from its profile)."""
    return os.environ.get("SCM_DUCKDB_MEMORY_LIMIT", DUCKDB_MEMORY_LIMIT)


DAGSTER_YAML = """\
# Written by scm on first use. Runs and their logs are stored beside this file.
telemetry:
  enabled: false
# DuckDB takes one writer: runs the daemon launches (schedules, sensors, the UI) queue, one at a time.
concurrency:
  runs:
    max_concurrent_runs: 1
"""


def ensure_dagster_home() -> Path:
    """$DAGSTER_HOME (default: <data dir>/dagster_home), created with its dagster.yaml when missing,
    so that `scm run` and `dagster dev` share one run history."""
    home = paths().dagster_home
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # Rewritten when it is ours and out of date; a dagster.yaml someone wrote by hand is left alone.
    if not config.exists() or (
        config.read_text().startswith(DAGSTER_YAML.splitlines()[0]) and config.read_text() != DAGSTER_YAML
    ):
        config.write_text(DAGSTER_YAML)
    return home
