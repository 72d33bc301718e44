"""The published snapshot: what dashboards and analysts read, never the warehouse a run is writing.

A successful run copies what readers need (the `marts` and `forecast` schemas, plus a `meta` schema:
what the snapshot is, the ingest log and every feed's quarantined rows) into a new DuckDB file under
`<data dir>/snapshots/`, and only then points `snapshots/CURRENT` at it, by renaming a temporary file
over it (atomic on POSIX; the file, the pointer and the folder are fsynced so a power cut cannot leave a
pointer to a file that is not on disk). So a reader either opens the previous snapshot or the new one,
whole; a run that fails before publishing leaves the last good one in place. Leftovers of a publish that
was killed (`.<name>.partial`, `.CURRENT.tmp`) are removed by the next one.

Readers trust the pointer only after checking it: it must name a `*.duckdb` file of this folder that
opens and has `meta.snapshot`. When it does not (missing, garbage, a file removed or damaged), readers
read the newest snapshot of the folder that passes the same check and say so (`Current.warning`); only
with none at all is there "no warehouse yet".

Every reader opens a snapshot through `open_snapshot`: read-only, which DuckDB allows from any number of
processes while the pipeline holds the warehouse itself for writing, and sandboxed (`READER_CONFIG`): no
file beyond the snapshot can be read or written (COPY, read_csv and the other file functions, ATTACH,
EXPORT), no extension installed or loaded, no setting changed. One config for every reader matters beyond
safety: DuckDB refuses a second connection to a file in one process with a different config, so the
dashboards' cached connection and any other reader must open it the same way.

The previous snapshot is kept (a reader may have just looked up its name); older ones are removed. A
reader that still has a removed file open keeps reading it: on POSIX the data lives until it closes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.feeds.reader import first_line
from pipelines.settings import paths

PUBLISHED_SCHEMAS = ("marts", "forecast")
KEEP = 2  # the current snapshot and the one before it
POINTER = "CURRENT"

# How every reader opens a snapshot. enable_external_access=false refuses every file but the database's
# own (and DuckDB's spill folder beside it), and every extension install or load; the extension flags
# keep a query from even trying to fetch one; lock_configuration refuses SET, RESET and setting pragmas,
# so none of this can be switched back on from SQL.
READER_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}


class NoSnapshot(Exception):
    """Nothing published yet; the message says what to do."""


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path
    run_id: str
    published_at: datetime
    as_of_date: object  # date or None


def snapshots_dir() -> Path:
    return paths().snapshots


@dataclass(frozen=True)
class Current:
    """What readers read: the snapshot file (None when there is no valid one) and, when that is not the file
    `snapshots/CURRENT` names, what is wrong with the pointer."""

    path: Path | None
    problem: str | None = None

    @property
    def warning(self) -> str | None:
        """The line a reader shows when it reads another snapshot than CURRENT names."""
        if self.path is None or self.problem is None:
            return None
        return f"{self.problem}; reading the newest valid snapshot instead, {self.path.name}"

    def no_snapshot(self) -> NoSnapshot:
        detail = f" ({self.problem})" if self.problem else ""
        return NoSnapshot(f"no warehouse yet in {paths().data_dir}: run `scm run` first{detail}")


def open_snapshot(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only, sandboxed connection to one snapshot file: the only way readers open one."""
    return duckdb.connect(str(path), read_only=True, config=dict(READER_CONFIG))


def locate() -> Current:
    """The snapshot readers should read, checked (see the module docstring)."""
    current, con = _resolve()
    if con is not None:
        con.close()
    return current


def current_path() -> Path | None:
    """The published snapshot file, or None before the first successful run."""
    return locate().path


def connect(warn: Callable[[str], object] | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only, sandboxed connection to the current snapshot. When CURRENT is unusable and an older
    snapshot is read instead, `warn` gets the line saying so."""
    current, con = _resolve()
    if con is None:
        raise current.no_snapshot()
    if current.warning and warn is not None:
        warn(current.warning)
    return con


def _resolve() -> tuple[Current, duckdb.DuckDBPyConnection | None]:
    """The snapshot to read and an open connection to it (the check opens it anyway)."""
    folder = snapshots_dir()
    named, problem = _pointer_target(folder)
    for _ in range(3):
        if named is None:
            break
        con, why = _open_checked(named)
        if con is not None:
            return Current(named), con
        problem = f"{folder / POINTER} names {named.name}, which {why}"
        # Two publishes between reading the pointer and opening its file remove that file: the pointer has
        # moved on, and what it names now is the snapshot to read, without a warning.
        again, again_problem = _pointer_target(folder)
        if again == named:
            break
        named, problem = again, again_problem
    for candidate in sorted(_snapshot_files(folder), reverse=True):  # names start with the publish time
        if candidate != named:
            con, _ = _open_checked(candidate)
            if con is not None:
                return Current(candidate, problem), con
    return Current(None, problem), None


def _pointer_target(folder: Path) -> tuple[Path | None, str | None]:
    """The file CURRENT names, or None and what is wrong with it (None when there is simply nothing yet)."""
    pointer = folder / POINTER
    try:
        text = pointer.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, (f"{pointer} is missing" if _snapshot_files(folder) else None)
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{pointer} cannot be read ({exc})"
    name = text.strip()
    if not _is_snapshot_name(name):
        return None, f"{pointer} does not name a snapshot file of its folder: {name[:80]!r}"
    return folder / name, None


def _open_checked(path: Path) -> tuple[duckdb.DuckDBPyConnection | None, str | None]:
    """An open connection to `path` if it is a snapshot readers can read, else None and why not."""
    if not path.is_file():
        return None, "does not exist"
    try:
        con = open_snapshot(path)
    except duckdb.ConnectionException:
        raise  # another connection of this process opened it differently: a bug, not a damaged file
    except duckdb.Error as exc:
        return None, f"cannot be opened ({first_line(exc)})"
    try:
        rows = con.sql("select count(*) from meta.snapshot").fetchall()[0][0]
    except duckdb.Error:
        rows = 0
    if rows != 1:
        con.close()
        return None, "has no meta.snapshot row (not a published snapshot)"
    return con, None


def _is_snapshot_name(name: str) -> bool:
    return bool(name) and name.endswith(".duckdb") and not name.startswith(".") and Path(name).name == name


def _snapshot_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.glob("*.duckdb") if _is_snapshot_name(p.name) and p.is_file()]


def publish(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime | None = None) -> SnapshotInfo:
    """Copy the published schemas of the warehouse `con` is connected to into a new snapshot file and make
    it current. Returns what was published."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    folder = snapshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{now:%Y%m%dT%H%M%S%f}-{run_id[:8]}.duckdb"
    partial = folder / f".{name}.partial"
    previous = locate().path  # what readers read until now: kept, whatever else is removed
    _remove_leftovers(folder)  # runs hold the run lock, so no other publish is writing these
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
    _fsync(partial)
    os.replace(partial, final)
    _point_at(folder, name)
    _remove_old(folder, keep={name} | ({previous.name} if previous else set()))
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
    os.replace(tmp, folder / POINTER)
    _fsync(folder)  # the renames (snapshot file and pointer) are durable once the folder is


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(folder: Path) -> None:
    """What a killed publish leaves: its half-written `.<name>.partial` (and DuckDB's `.wal` of it) and the
    pointer's `.CURRENT.tmp`. Never a `*.duckdb` file: those are only ever whole, published snapshots."""
    for leftover in folder.glob(".*"):
        if (leftover.name == ".CURRENT.tmp" or ".duckdb.partial" in leftover.name) and leftover.is_file():
            leftover.unlink(missing_ok=True)


def _remove_old(folder: Path, keep: set[str]) -> None:
    """Remove all but KEEP snapshots: always those in `keep` (the new one and the one CURRENT named before
    it), then the newest others."""
    others = sorted((p for p in _snapshot_files(folder) if p.name not in keep), reverse=True)
    for old in others[max(0, KEEP - len(keep)) :]:
        old.unlink(missing_ok=True)
        Path(f"{old}.wal").unlink(missing_ok=True)
