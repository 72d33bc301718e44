"""The published snapshot: what dashboards and analysts read, never the warehouse a run is writing.

A successful run copies what readers need (the `marts` and `forecast` schemas, plus a `meta` schema:
what the snapshot is, the ingest log and every feed's quarantined rows) into a new DuckDB file under
`<data dir>/snapshots/`, and only then points `snapshots/CURRENT` at it, by renaming a temporary file
over it (atomic on POSIX). So a reader either opens the previous snapshot or the new one, whole; a run
that fails before publishing leaves the last good one in place. Readers open the file read-only, which
DuckDB allows from any number of processes while the pipeline holds the warehouse itself for writing.

The previous snapshot is kept (a reader may have just looked up its name); older ones are removed. A
reader that still has a removed file open keeps reading it: on POSIX the data lives until it closes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.settings import paths

PUBLISHED_SCHEMAS = ("marts", "forecast")
KEEP = 2  # the current snapshot and the one before it


class NoSnapshot(Exception):
    """Nothing published yet; the message says what to do."""


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path
    run_id: str
    published_at: datetime
    as_of_date: object  # date or None


def snapshots_dir() -> Path:
    return paths().data_dir / "snapshots"


def current_path() -> Path | None:
    """The published snapshot file, or None before the first successful run."""
    pointer = snapshots_dir() / "CURRENT"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    path = snapshots_dir() / name
    return path if name and path.exists() else None


def connect() -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current snapshot."""
    path = current_path()
    if path is None:
        raise NoSnapshot(f"no warehouse yet in {paths().data_dir}: run `scm run` first")
    return duckdb.connect(str(path), read_only=True)


def publish(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime | None = None) -> SnapshotInfo:
    """Copy the published schemas of the warehouse `con` is connected to into a new snapshot file and make
    it current. Returns what was published."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    folder = snapshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{now:%Y%m%dT%H%M%S%f}-{run_id[:8]}.duckdb"
    partial = folder / f".{name}.partial"
    partial.unlink(missing_ok=True)
    tables = con.sql(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database() and list_contains($schemas, table_schema) order by all",
        params={"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall()
    as_of = _as_of_date(con)
    con.execute("set enable_progress_bar = false")  # the copy is the longest statement a run makes
    con.execute(f"attach '{partial}' as snapshot")
    try:
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"create schema snapshot.{schema}")
        for schema, table, _kind in tables:
            # Views are materialised: the snapshot stands alone, without the staging layer they read.
            con.execute(f'create table snapshot.{schema}."{table}" as select * from {schema}."{table}"')
        con.execute("create schema snapshot.meta")
        con.execute(
            "create table snapshot.meta.snapshot as select ?::varchar as run_id, ?::timestamp as published_at, "
            "?::date as as_of_date, ?::varchar as source",
            [run_id, now, as_of, "warehouse.duckdb"],
        )
        for (table,) in con.sql(
            "select table_name from information_schema.tables where table_catalog = "
            "current_database() and table_schema = 'raw' and (table_name = 'ingest_log' "
            "or table_name like '%\\_quarantine' escape '\\') order by 1"
        ).fetchall():
            con.execute(f'create table snapshot.meta."{table}" as select * from raw."{table}"')
    finally:
        con.execute("detach snapshot")
    final = folder / name
    os.replace(partial, final)
    _point_at(folder, name)
    _remove_old(folder, keep=name)
    return SnapshotInfo(path=final, run_id=run_id, published_at=now, as_of_date=as_of)


def info(con: duckdb.DuckDBPyConnection) -> SnapshotInfo:
    """What a snapshot connection is reading."""
    run_id, published_at, as_of = con.sql("select run_id, published_at, as_of_date from meta.snapshot").fetchall()[0]
    (path,) = con.sql("select path from duckdb_databases() where database_name = current_database()").fetchall()[0]
    return SnapshotInfo(path=Path(path), run_id=run_id, published_at=published_at, as_of_date=as_of)


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.sql(
            "select 1 from information_schema.tables where table_catalog = current_database() "
            "and table_schema = $s and table_name = $t",
            params={"s": schema, "t": table},
        ).fetchall()
    )


def _as_of_date(con: duckdb.DuckDBPyConnection):
    if not _exists(con, "intermediate", "int_as_of_date"):
        return None
    return con.sql("select as_of_date from intermediate.int_as_of_date").fetchall()[0][0]


def _point_at(folder: Path, name: str) -> None:
    tmp = folder / ".CURRENT.tmp"
    with tmp.open("w") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / "CURRENT")


def _remove_old(folder: Path, keep: str) -> None:
    files = sorted(p for p in folder.glob("*.duckdb") if not p.name.startswith("."))
    for old in [p for p in files if p.name != keep][: max(0, len(files) - KEEP)]:
        old.unlink(missing_ok=True)
        Path(f"{old}.wal").unlink(missing_ok=True)
