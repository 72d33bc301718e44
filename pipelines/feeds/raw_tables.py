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
)

QUARANTINE_COLUMNS = (("_rule", "varchar"), ("_rules", "varchar[]"), ("_reason", "varchar"))

INGEST_LOG_COLUMNS = (
    ("load_id", "varchar"),
    ("feed", "varchar"),
    ("file", "varchar"),
    ("content_hash", "varchar"),
    ("size_bytes", "bigint"),
    ("modified_ns", "bigint"),
    ("status", "varchar"),  # loaded | rejected | duplicate
    ("rows_read", "bigint"),
    ("rows_loaded", "bigint"),
    ("rows_quarantined", "bigint"),
    ("reject_reason", "varchar"),
    ("message", "varchar"),
    ("extra_columns", "varchar[]"),
    ("loaded_at", "timestamp"),
)


def raw_table(feed: Feed) -> str:
    return f"{SCHEMA}.{feed.name}"


def quarantine_table(feed: Feed) -> str:
    return f"{SCHEMA}.{feed.name}_quarantine"


def _ddl(table: str, columns: list[tuple[str, str]]) -> str:
    body = ",\n  ".join(f"{name} {dtype}" for name, dtype in columns)
    return f"create table if not exists {table} (\n  {body}\n)"


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(_ddl(INGEST_LOG, list(INGEST_LOG_COLUMNS)))
    for feed in FEEDS.values():
        typed = [(c.name, DUCKDB_TYPES[c.dtype]) for c in feed.columns]
        text = [(c.name, "varchar") for c in feed.columns]
        con.execute(_ddl(raw_table(feed), typed + list(LINEAGE)))
        con.execute(_ddl(quarantine_table(feed), text + list(LINEAGE) + list(QUARANTINE_COLUMNS)))
