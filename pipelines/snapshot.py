"""The published snapshot: what dashboards and analysts read, never the warehouse a run is writing.

A successful run publishes what readers need (the `marts` and `forecast` schemas, plus a `meta` schema:
what the snapshot is, the ingest log and every feed's quarantined rows) as a new DuckDB file under
`<data dir>/snapshots/`, and only then points `snapshots/CURRENT` at it, by renaming a temporary file
over it (atomic on POSIX; the file, the pointer and the folder are fsynced so a power cut cannot leave a
pointer to a file that is not on disk). So a reader either opens the previous snapshot or the new one,
whole; a run that fails before publishing leaves the last good one in place. Leftovers of a publish that
was killed (`.<name>.partial`, `.CURRENT.tmp`) are removed by the next one.

Copy-on-write: a publish starts from a copy of the previous snapshot's file (a reflink where the
filesystem shares blocks, else the kernel's copy_file_range, else a plain copy: a file copy costs far
less than writing the rows again) and writes only the tables whose content changed since, drops those
gone from the warehouse and adds the new ones; the copy is the `.partial` file, so the swap and the
fsyncs are the same as for a full build, and a kill at any point leaves CURRENT as it was.

What changed is decided by a fingerprint of each table's content computed in DuckDB on the warehouse
(`fingerprint`: columns and types, row count, the sum of the rows' hashes), compared with the
fingerprint stored beside each table when it was written (`meta.published_tables`, with the run that
wrote it). The fingerprint, rather than the list of models this run's dbt build rebuilt, because it is
correct whatever happened between two publishes: dbt reports every table it ran, changed or not (an
incremental model merges nothing new, a table rebuilds to the same rows); a run killed after dbt but
before publishing changes the warehouse without a publish, and the next run's dbt may not touch those
models again; a backfill, a `dbt run` by hand or the forecast's own tables change outside any one list.
The fingerprint is a read of each table in one scan, no write, and a row count alone would miss a value
that changed in place. Two different contents share a fingerprint only if the sums of their 64-bit row
hashes collide: negligible for the changes a run makes.

A changed table is written whole, unless it is large and few of its rows changed (the facts a day's
files add to, most of a snapshot's bytes): then it is patched in place, its rows the warehouse no longer
has deleted and those it gained inserted, both found by row hash (`_patch_delta` says when). A patched
table holds the warehouse's rows, not in the warehouse's physical order; no reader may rely on that order
anyway (DuckDB's parallel scans do not keep it).

A full build (every table written into a new file) is made when there is no valid previous snapshot,
when it is of another snapshot format or DuckDB version (`FORMAT`; its fingerprints would not compare),
when a write-ahead log lies beside it, or when more than `MAX_FREE_FRACTION` of its blocks are free
(and they are at least `MIN_FREE_BYTES`). DuckDB does not give a dropped table's blocks back to the
filesystem (only free blocks at the end of the file are trimmed), it reuses them: a publish drops the
tables it replaces and checkpoints before writing the new ones, so they land in the freed blocks and the
file stays near the size of a full build; the free-space limit bounds whatever growth is left, and the
patch limit the space deleted rows keep inside their row groups.

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

import errno
import fcntl
import hashlib
import os
import shutil
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
# The layout of a snapshot's bookkeeping (meta.snapshot's columns, meta.published_tables): a publish builds
# only on a previous snapshot of the same format written by the same DuckDB, whose hashes it can compare.
FORMAT = 2
BOOKKEEPING = ("snapshot", "published_tables")  # the tables of `meta` that describe the snapshot itself
COPY_ON_WRITE = "copy-on-write"
# DuckDB reuses the blocks a dropped table frees but never gives them back to the filesystem: a previous
# snapshot with more than this share of its blocks free is not built on, and the full build is compact.
MAX_FREE_FRACTION = 0.25
MIN_FREE_BYTES = 64 * 2**20  # below this a small file's few free blocks are no reason to rebuild it
# A changed table of at least PATCH_MIN_ROWS rows is patched in place (its gone rows deleted, its new rows
# inserted) while its rows changed, and those deleted since it was last written whole, stay under
# MAX_PATCHED_FRACTION of it; smaller tables, or larger changes, are written whole.
PATCH_MIN_ROWS = 50_000
MAX_PATCHED_FRACTION = 0.25
FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int), share the source file's blocks

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
class Build:
    """How a publish built its snapshot: `kind` is "full" (why_full says why) or copy-on-write; the tables
    (schema, name) it wrote, kept as the previous snapshot had them, and dropped; the file's free share."""

    kind: str
    why_full: str | None
    written: tuple[tuple[str, str], ...]
    patched: tuple[tuple[str, str], ...]  # of those written, the ones patched in place (rows deleted, added)
    kept: tuple[tuple[str, str], ...]
    dropped: tuple[tuple[str, str], ...]
    free_fraction: float


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path
    run_id: str
    published_at: datetime
    as_of_date: object  # date or None
    build: Build | None = None  # known to the publish that made it


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
    """Publish the published schemas of the warehouse `con` is connected to as a new snapshot file, built
    on the previous snapshot when it can be (module docstring), and make it current."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    folder = snapshots_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{now:%Y%m%dT%H%M%S%f}-{run_id[:8]}.duckdb"
    partial = folder / f".{name}.partial"
    previous = locate().path  # what readers read until now: kept, whatever else is removed
    _remove_leftovers(folder)  # runs hold the run lock, so no other publish is writing these
    sources = _sources(con)
    as_of = _as_of_date(con)
    con.execute("set enable_progress_bar = false")  # the copy is the longest statement a run makes
    prints = {s.target: fingerprint(con, s.relation) for s in sources}
    stored, why_full = _start_from(con, previous, partial)
    try:
        plan = plan_changes(stored, prints)
        patched = _apply(con, plan, sources, prints, stored, run_id)
        con.execute(
            "create or replace table snapshot.meta.snapshot as select ?::varchar as run_id, ?::timestamp as "
            "published_at, ?::date as as_of_date, ?::varchar as source, ?::integer as format, "
            "?::varchar as duckdb_version, ?::varchar as build",
            [run_id, now, as_of, "warehouse.duckdb", FORMAT, duckdb.__version__, "full" if why_full else COPY_ON_WRITE],
        )
        con.execute("checkpoint snapshot")  # frees the blocks of what was dropped; trims a free tail
        free = _free_fraction(con)
    finally:
        con.execute("detach snapshot")
    final = folder / name
    _fsync(partial)
    os.replace(partial, final)
    _point_at(folder, name)
    _remove_old(folder, keep={name} | ({previous.name} if previous else set()))
    return SnapshotInfo(
        path=final,
        run_id=run_id,
        published_at=now,
        as_of_date=as_of,
        build=Build(
            kind="full" if why_full else COPY_ON_WRITE,
            why_full=why_full,
            written=plan.write,
            patched=patched,
            kept=plan.keep,
            dropped=plan.drop,
            free_fraction=free,
        ),
    )


@dataclass(frozen=True)
class Source:
    """A table of the snapshot (`target`, schema and name) and the warehouse relation it is a copy of."""

    target: tuple[str, str]
    relation: str


def _sources(con: duckdb.DuckDBPyConnection) -> list[Source]:
    """Every table a snapshot holds: the published schemas' tables and views (views are materialised: the
    snapshot stands alone, without the staging layer they read), and in `meta` the ingest log and every
    feed's quarantined rows."""
    published = con.sql(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and list_contains($schemas, table_schema) order by all",
        params={"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall()
    meta = con.sql(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = 'raw' and (table_name = 'ingest_log' or table_name like '%\\_quarantine' escape '\\') "
        "order by 1"
    ).fetchall()
    return [Source((s, t), f'{s}."{t}"') for s, t in published] + [Source(("meta", t), f'raw."{t}"') for (t,) in meta]


def fingerprint(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """A digest of a relation's content, whatever order its rows lie in: its columns (names and types, in
    order), its row count, and the sum of its rows' 64-bit hashes. A sum rather than an XOR: DuckDB combines
    a row's column hashes by XOR, so an XOR over rows would not see two rows swapping a value, and would
    cancel out duplicate rows."""
    columns = con.sql(f"select * from {relation} limit 0")
    shape = ",".join(f"{c} {t}" for c, t in zip(columns.columns, columns.types, strict=True))
    rows, total = con.sql(
        f"select count(*), coalesce(sum(hash(_snapshot_row_)), 0) from {relation} _snapshot_row_"
    ).fetchall()[0]
    return f"{hashlib.md5(shape.encode()).hexdigest()}:{rows}:{total}"


@dataclass(frozen=True)
class Plan:
    """What a publish does to the tables of the snapshot it starts from."""

    write: tuple[tuple[str, str], ...]  # new, or changed since that snapshot: copied from the warehouse
    keep: tuple[tuple[str, str], ...]  # the same content: left as they are in the file
    drop: tuple[tuple[str, str], ...]  # gone from the warehouse


def plan_changes(stored: dict[tuple[str, str], str | None], current: dict[tuple[str, str], str]) -> Plan:
    """Compare the fingerprints the previous snapshot stored (None: a table it holds without one) with the
    warehouse's. With nothing stored (a full build) every table is written."""
    keep = tuple(sorted(t for t, p in current.items() if p is not None and stored.get(t) == p))
    write = tuple(sorted(t for t in current if t not in keep))
    drop = tuple(sorted(t for t in stored if t not in current))
    return Plan(write=write, keep=keep, drop=drop)


def _start_from(con: duckdb.DuckDBPyConnection, previous: Path | None, partial: Path) -> tuple[dict, str | None]:
    """Attach `partial` as `snapshot`: a copy of the previous snapshot when it can be built on, else a new
    file. Returns the fingerprints of the copy's tables (empty for a new file) and, for a new file, why."""
    why = _why_not_build_on(previous)
    if why is None:
        try:
            _copy_file(previous, partial)
            con.execute(f"attach '{partial}' as snapshot")
        except FileNotFoundError:
            why = "was removed before it could be copied"
        except duckdb.Error as exc:
            why = f"does not attach once copied ({first_line(exc)})"
        else:
            why = _check_copy(con)
            if why is None:
                return _stored_fingerprints(con), None
            con.execute("detach snapshot")
        partial.unlink(missing_ok=True)
        Path(f"{partial}.wal").unlink(missing_ok=True)
        why = f"the previous snapshot {previous.name} {why}"
    con.execute(f"attach '{partial}' as snapshot")
    return {}, why


def _why_not_build_on(previous: Path | None) -> str | None:
    if previous is None:
        return "there is no previous snapshot"
    if Path(f"{previous}.wal").exists():
        return f"the previous snapshot {previous.name} has a write-ahead log beside it"
    return None


def _check_copy(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the attached copy is not one to build on (None when it is)."""
    try:
        fmt, version = con.sql("select format, duckdb_version from snapshot.meta.snapshot").fetchall()[0]
        con.sql("select schema_name, table_name, fingerprint from snapshot.meta.published_tables").fetchall()
    except duckdb.Error:
        return "predates this snapshot format (no format marker or table fingerprints)"
    if (fmt, version) != (FORMAT, duckdb.__version__):
        return f"is format {fmt} written by DuckDB {version}, not format {FORMAT} by DuckDB {duckdb.__version__}"
    free = _free_fraction(con)
    if free > MAX_FREE_FRACTION and free * _file_bytes(con) >= MIN_FREE_BYTES:
        return f"is {free:.0%} free space (over {MAX_FREE_FRACTION:.0%}): rebuilt whole to shrink the file"
    return None


def _stored_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str | None]:
    """Every table of the attached copy (but the bookkeeping) with the fingerprint it was written with."""
    return {
        (schema, table): fp
        for schema, table, fp in con.sql(
            "select t.table_schema, t.table_name, p.fingerprint from information_schema.tables t "
            "left join snapshot.meta.published_tables p "
            "on p.schema_name = t.table_schema and p.table_name = t.table_name "
            "where t.table_catalog = 'snapshot' "
            "and not (t.table_schema = 'meta' and list_contains($own, t.table_name))",
            params={"own": list(BOOKKEEPING)},
        ).fetchall()
    }


def _apply(con, plan: Plan, sources: list[Source], prints: dict, stored: dict, run_id: str) -> tuple:
    """Make the attached snapshot hold what the warehouse holds, writing only `plan.write`: each table
    patched in place when few of its rows changed (`_patch_delta`), else written whole. Returns the
    patched tables."""
    relations = {s.target: s.relation for s in sources}
    bookkeeping = _stored_bookkeeping(con) if stored else {}
    deltas = {}
    for target in plan.write:
        if target in stored:
            delta = _patch_delta(con, target, relations[target], stored[target], prints[target], bookkeeping)
            if delta is not None:
                deltas[target] = delta
    for schema, table in (*plan.drop, *(t for t in plan.write if t in stored and t not in deltas)):
        con.execute(f'drop table snapshot.{schema}."{table}"')
    # Dropped tables' blocks are free only once checkpointed: the tables written next reuse them instead
    # of growing the file.
    con.execute("checkpoint snapshot")
    for schema in sorted({s for s, _ in prints} | {"meta", *PUBLISHED_SCHEMAS}):
        con.execute(f"create schema if not exists snapshot.{schema}")
    deleted = {}
    for schema, table in plan.write:
        if (schema, table) in deltas:
            target = (schema, table)
            deleted[target] = _patch(con, target, relations[target], deltas[target], prints[target])
        else:
            con.execute(f'create table snapshot.{schema}."{table}" as select * from {relations[schema, table]}')
    rows = []
    for target in sorted(prints):
        if target in plan.keep:
            written_by, deleted_since = bookkeeping.get(target, (run_id, 0))
        elif target in deltas:
            written_by, deleted_since = bookkeeping[target][0], bookkeeping[target][1] + deleted[target]
        else:
            written_by, deleted_since = run_id, 0
        rows.append((*target, prints[target], written_by, deleted_since))
    con.execute(
        "create or replace table snapshot.meta.published_tables (schema_name varchar, table_name varchar, "
        "fingerprint varchar, written_by varchar, rows_deleted_since bigint)"
    )
    if rows:
        con.executemany("insert into snapshot.meta.published_tables values (?, ?, ?, ?, ?)", rows)
    # A schema left empty (nothing of the warehouse is published there any more) goes too.
    for (schema,) in con.sql(
        "select schema_name from information_schema.schemata where catalog_name = 'snapshot' "
        "and schema_name not in ('main', 'meta', 'information_schema', 'pg_catalog') "
        "and not list_contains($keep, schema_name)",
        params={"keep": sorted({s for s, _ in prints} | set(PUBLISHED_SCHEMAS))},
    ).fetchall():
        con.execute(f"drop schema snapshot.{schema} cascade")
    return tuple(sorted(deltas))


def _stored_bookkeeping(con) -> dict[tuple[str, str], tuple[str, int]]:
    """(run that wrote it whole, rows deleted by patches since) of every table of the attached copy."""
    return {
        (s, t): (by, deleted)
        for s, t, by, deleted in con.sql(
            "select schema_name, table_name, written_by, rows_deleted_since from snapshot.meta.published_tables"
        ).fetchall()
    }


@dataclass(frozen=True)
class Delta:
    """The rows a patch replaces: the row hashes to delete and insert (temp table `hashes`) and, where the
    table has a date column, that column and its values whose rows differ, to which every one of those
    rows belongs (constants, so a scan skips the row groups whose dates lie elsewhere)."""

    hashes: str
    column: str | None = None
    dates: tuple = ()

    def rows(self, alias: str) -> str:
        """A filter on a table aliased `alias`: its rows whose hash is in the delta."""
        where = f"hash({alias}) in (select h from {self.hashes})"
        if self.column is None:
            return where
        column = f'{alias}."{self.column}"'
        return f"{_in_dates(column, self.dates)} and {where}"


def _in_dates(column: str, dates: tuple) -> str:
    """A filter: the column expression holds one of `dates` (None stands for null)."""
    known = ", ".join(f"date '{d.isoformat()}'" for d in dates if d is not None)
    parts = ([f"{column} in ({known})"] if known else []) + ([f"{column} is null"] if None in dates else [])
    return "(" + (" or ".join(parts) or "false") + ")"


def _patch_delta(con, target, relation: str, old: str | None, new: str, bookkeeping: dict) -> Delta | None:
    """When the snapshot's copy of a changed table can be patched in place, stage the row hashes whose
    number of rows differs between it and the warehouse; else None.

    Patched when the columns are the same, the table is large enough for two scans to cost less than a
    write (`PATCH_MIN_ROWS`), and the rows that differ, plus those deleted since it was last written whole,
    stay under `MAX_PATCHED_FRACTION` of it: DuckDB keeps a deleted row's space within its row group, so past
    that the table is written whole again.

    Each row of both tables is hashed once, into a staged (side, date, hash) table. A table with a date
    column (its first: the facts' rows are dated, and a day's files change the rows of a few dates) is
    summed per date on each side (row count and hash sum, the table fingerprint's terms): only the dates
    whose sums differ can hold a row that differs, and identical rows share their date, so the hashes are
    compared on those dates' rows alone, a small aggregation instead of one over every row of both."""
    if old is None or old.split(":")[0] != new.split(":")[0]:
        return None
    rows = int(new.split(":")[1])
    if rows < PATCH_MIN_ROWS or target not in bookkeeping:
        return None
    schema, table = target
    name = "_snapshot_delta_" + hashlib.md5(".".join(target).encode()).hexdigest()[:12]
    staged = f"{name}_rows"
    column = _first_date_column(con, relation)
    day = f'_r_."{column}"' if column else "null::date"
    con.execute(
        f"create or replace temp table {staged} as "
        f'select -1 as side, {day} as d, hash(_r_) as h from snapshot.{schema}."{table}" _r_ '
        f"union all select 1, {day}, hash(_r_) from {relation} _r_"
    )
    delta, on_dates = Delta(name), "true"
    if column:
        dates = con.sql(
            f"select d from {staged} group by d having sum(side) <> 0 or sum(side * h::hugeint) <> 0"
        ).fetchall()
        delta = Delta(name, column, tuple(d for (d,) in dates))
        on_dates = _in_dates("d", delta.dates)
    con.execute(
        f"create or replace temp table {name} as select h from {staged} "
        f"where {on_dates} group by h having sum(side) <> 0"
    )
    con.execute(f"drop table {staged}")
    (differ,) = con.sql(f"select count(*) from {name}").fetchall()[0]
    if bookkeeping[target][1] + differ > MAX_PATCHED_FRACTION * rows:
        con.execute(f"drop table {name}")
        return None
    return delta


def _first_date_column(con, relation: str) -> str | None:
    columns = con.sql(f"select * from {relation} limit 0")
    return next((c for c, t in zip(columns.columns, columns.types, strict=True) if str(t) == "DATE"), None)


def _patch(con, target: tuple[str, str], relation: str, delta: Delta, fingerprint_: str) -> int:
    """Delete every row of the snapshot's table whose hash is in the delta and insert every warehouse row
    whose hash is: for those hashes the table then has the warehouse's rows, copies and all, and the others
    already had as many rows each. Checks the row count; returns how many rows it deleted."""
    schema, table = target
    (deleted,) = con.execute(f'delete from snapshot.{schema}."{table}" _r_ where {delta.rows("_r_")}').fetchall()[0]
    con.execute(f'insert into snapshot.{schema}."{table}" select * from {relation} _r_ where {delta.rows("_r_")}')
    con.execute(f"drop table {delta.hashes}")
    (rows,) = con.sql(f'select count(*) from snapshot.{schema}."{table}"').fetchall()[0]
    if rows != int(fingerprint_.split(":")[1]):
        raise RuntimeError(f"patching {schema}.{table} of the snapshot left {rows} rows, not the warehouse's")
    return int(deleted)


def _file_bytes(con: duckdb.DuckDBPyConnection) -> int:
    (path,) = con.sql("select path from duckdb_databases() where database_name = 'snapshot'").fetchall()[0]
    return Path(path).stat().st_size


def _free_fraction(con: duckdb.DuckDBPyConnection) -> float:
    """The share of the attached snapshot's blocks that hold nothing (DuckDB reuses them, never returns them)."""
    total, free = con.sql(
        "select total_blocks, free_blocks from pragma_database_size() where database_name = 'snapshot'"
    ).fetchall()[0]
    return free / total if total else 0.0


def _copy_file(source: Path, target: Path) -> str:
    """Copy a file the cheapest way the filesystem offers: a reflink (the copy shares the blocks until either
    is written: btrfs, XFS, ...), else the kernel's copy_file_range (no round trip through this process), else
    an ordinary copy. Returns which it was."""
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return "reflink"
        except OSError:
            pass
        size, done = os.fstat(src.fileno()).st_size, 0
        try:
            while done < size:
                step = os.copy_file_range(src.fileno(), dst.fileno(), size - done)
                if step == 0:
                    break
                done += step
            if done == size:
                return "copy_file_range"
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                raise OSError(exc.errno, exc.strerror, str(target)) from exc  # a fault, named by its file
    shutil.copyfile(source, target)
    return "copy"


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
