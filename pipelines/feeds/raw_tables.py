"""The raw layer's tables in DuckDB, derived from the contract: `raw.<feed>` (typed, every version
kept), `raw.<feed>_quarantine` (the text the user sent, with the rule broken) and `raw.ingest_log`
(one row per landing file seen)."""

from __future__ import annotations

import duckdb

from pipelines.feeds.contract import DECIMAL_PRECISION, DECIMAL_SCALE, FEEDS, Feed

SCHEMA = "raw"
INGEST_LOG = f"{SCHEMA}.ingest_log"

DUCKDB_TYPES = {
    "str": "varchar",
    "int": "bigint",
    "dec": f"decimal({DECIMAL_PRECISION}, {DECIMAL_SCALE})",
    "date": "date",
    # Naive timestamps hold UTC: `ts::date` is then the UTC date whatever the session's time zone.
    "ts": "timestamp",
}

# Lineage columns on every raw and quarantine row.
LINEAGE = (
    ("_extra", "varchar"),  # columns the contract does not name, as a JSON object
    ("_source_file", "varchar"),  # path relative to the landing directory
    ("_row_number", "bigint"),  # data row within that file, from 1
    ("_load_id", "varchar"),
    ("_loaded_at", "timestamp"),
    # The file's place in load order, increasing across runs: on equal versions the later delivery wins,
    # whatever its name (a corrected file re-sent under the same name, or a `-fixed` copy).
    ("_file_seq", "bigint"),
)

QUARANTINE_COLUMNS = (("_rule", "varchar"), ("_rules", "varchar[]"), ("_reason", "varchar"))

INGEST_LOG_COLUMNS = (
    ("load_id", "varchar"),
    ("feed", "varchar"),
    ("file", "varchar"),
    ("content_hash", "varchar"),
    ("size_bytes", "bigint"),
    ("modified_ns", "bigint"),
    ("status", "varchar"),  # a key of STATUSES
    ("rows_read", "bigint"),
    ("rows_loaded", "bigint"),
    ("rows_quarantined", "bigint"),
    ("reject_reason", "varchar"),  # why rejected, skipped or (`profile`) waiting
    ("message", "varchar"),
    ("extra_columns", "varchar[]"),
    ("loaded_at", "timestamp"),
    # Added after the first release: new columns go last, so that a warehouse created before them takes them
    # with `add column` and keeps its column order.
    ("file_seq", "bigint"),  # load order of the file's rows (the raw rows' `_file_seq`); null if none loaded
    ("ctime_ns", "bigint"),  # with inode: a file rewritten under the same size and mtime is still new
    ("inode", "bigint"),
    ("missing_columns", "varchar[]"),  # optional contract columns the file does not have
)

# Statuses of raw.ingest_log; every entry of a feed folder gets one row per state it was seen in.
STATUSES = {
    "loaded": "read; its rows are in the raw table or its quarantine",
    "rejected": "could not be read as the feed (see reject_reason)",
    "duplicate": "the same bytes as a file already loaded; nothing loaded",
    "skipped": "not a feed file (a folder, another format, a broken link, ...); message says why",
    "waiting": "still being written when the run ended, or its folder's profile is invalid or does not fit it "
    "(reject_reason `profile`, message the profile's error); loaded by a later run once it settles or is fixed",
}


def raw_table(feed: Feed) -> str:
    return f"{SCHEMA}.{feed.name}"


def quarantine_table(feed: Feed) -> str:
    return f"{SCHEMA}.{feed.name}_quarantine"


def _ddl(table: str, columns: list[tuple[str, str]]) -> str:
    body = ",\n  ".join(f"{name} {dtype}" for name, dtype in columns)
    return f"create table if not exists {table} (\n  {body}\n)"


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    upgrade = _exists(con, "ingest_log") and "file_seq" not in _columns(con, "ingest_log")
    con.execute(_ddl(INGEST_LOG, list(INGEST_LOG_COLUMNS)))
    tables = []
    for feed in FEEDS.values():
        typed = [(c.name, DUCKDB_TYPES[c.dtype]) for c in feed.columns]
        text = [(c.name, "varchar") for c in feed.columns]
        tables += [
            (raw_table(feed), typed + list(LINEAGE)),
            (quarantine_table(feed), text + list(LINEAGE) + list(QUARANTINE_COLUMNS)),
        ]
    for table, columns in [(INGEST_LOG, list(INGEST_LOG_COLUMNS)), *tables]:
        con.execute(_ddl(table, columns))
        have = _columns(con, table.removeprefix(f"{SCHEMA}."))
        for name, dtype in columns:
            if name not in have:
                con.execute(f"alter table {table} add column {name} {dtype}")
    if upgrade:
        _number_earlier_loads(con, [t for t, _ in tables])


def next_file_seq(con: duckdb.DuckDBPyConnection) -> int:
    """The load order number the next loaded file gets (one sequence over every feed)."""
    return con.execute(f"select coalesce(max(file_seq), 0) + 1 from {INGEST_LOG}").fetchall()[0][0]


def _number_earlier_loads(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """A warehouse loaded before files had a load order: number its files as they were loaded (by load time,
    then by name, the order one run loads them in) and give their rows that number."""
    con.execute(f"""
        update {INGEST_LOG} l set file_seq = n.seq
        from (select feed, file, load_id, row_number() over (order by loaded_at, feed, file) as seq
              from {INGEST_LOG} where status = 'loaded') n
        where l.feed = n.feed and l.file = n.file and l.load_id = n.load_id and l.status = 'loaded'
    """)
    for table in tables:
        con.execute(f"""
            update {table} t set _file_seq = l.file_seq
            from {INGEST_LOG} l
            where l.file = t._source_file and l.load_id = t._load_id and l.status = 'loaded'
        """)


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(_columns(con, table))


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_catalog = current_database() "
            "and table_schema = ? and table_name = ?",
            [SCHEMA, table],
        ).fetchall()
    ]
