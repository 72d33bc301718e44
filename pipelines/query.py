"""Read-only SQL against the published snapshot (pipelines/snapshot.py), for `scm sql` and any other
reader: never the warehouse file a run may be writing."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines import snapshot


class QueryError(Exception):
    """A query that cannot run, with a message meant for the person who typed it."""


def connect_read_only() -> duckdb.DuckDBPyConnection:
    try:
        return snapshot.connect()
    except snapshot.NoSnapshot as exc:
        raise QueryError(str(exc)) from None
    except duckdb.IOException as exc:
        raise QueryError(f"cannot open the snapshot read-only: {_first_line(exc)}") from None


def run_query(query: str, fmt: str = "table") -> str:
    con = connect_read_only()
    try:
        rel = con.sql(query)
        if rel is None:  # a statement with no result (SET, a pragma)
            return ""
        if fmt == "table":  # DuckDB's own rendering, as its CLI shows it
            return f"{rel}"
        frame = rel.pl()
    except duckdb.InvalidInputException as exc:
        if "read-only" in str(exc):
            raise QueryError("the warehouse is read-only here: only queries can run (no writes)") from None
        raise QueryError(_first_line(exc)) from None
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    finally:
        con.close()
    return format_frame(frame, fmt)


def format_frame(frame: pl.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "json":
        return frame.write_json() + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
