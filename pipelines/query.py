"""Read-only SQL against the published snapshot (pipelines/snapshot.py), for `scm sql` and any other
reader: never the warehouse file a run may be writing.

The connection is the readers' sandbox (snapshot.READER_CONFIG: no file beyond the snapshot, no extension,
no setting). Statements that would touch files are refused here too, before they run, with one line that
says how to export instead: DuckDB still lets a sandboxed connection write the few files it keeps beside
its database (the `.wal` a reader could fill with garbage, which would stop the snapshot from opening),
and a refusal worded for an analyst reads better than a permission error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import duckdb
import polars as pl

from pipelines import snapshot

FILES_REFUSED = 'readers cannot write or read files: export with `scm sql --format csv "..." > file`'
EXTENSIONS_REFUSED = "readers cannot install or load DuckDB extensions"
SETTINGS_REFUSED = "readers cannot change DuckDB settings (SET, RESET, a setting's PRAGMA): the snapshot is locked"
WRITES_REFUSED = "the warehouse is read-only here: only queries can run (no writes)"

# Statements that read or write files whatever the sandbox says; EXPLAIN ANALYZE and PREPARE run the statement
# they wrap, so that one is judged (`_wrapped`).
_FILE_STATEMENTS = {"COPY", "EXPORT", "COPY_DATABASE"}
_WRAPPERS = {
    "EXPLAIN": re.compile(r"explain\s*(?:\((?P<options>[^)]*)\)|(?P<analyze>analy[sz]e)\b)?(?P<inner>.*)", re.I | re.S),
    "PREPARE": re.compile(r"prepare\s+\S+?\s*(?:\([^)]*\)\s*)?as\b(?P<inner>.*)", re.I | re.S),
}


class QueryError(Exception):
    """A query that cannot run, with a message meant for the person who typed it."""


def connect_read_only(warn: Callable[[str], object] | None = None) -> duckdb.DuckDBPyConnection:
    """The sandboxed connection to the current snapshot; `warn` hears when it is not the one CURRENT names."""
    try:
        return snapshot.connect(warn=warn)
    except snapshot.NoSnapshot as exc:
        raise QueryError(str(exc)) from None
    except duckdb.IOException as exc:
        raise QueryError(f"cannot open the snapshot read-only: {_first_line(exc)}") from None


def run_query(query: str, fmt: str = "table", warn: Callable[[str], object] | None = None) -> str:
    con = connect_read_only(warn)
    try:
        refuse_file_statements(con, query)
        rel = con.sql(query)
        if rel is None:  # a statement with no result (a pragma)
            return ""
        if fmt == "table":  # DuckDB's own rendering, as its CLI shows it
            return f"{rel}"
        frame = rel.pl()
    except duckdb.PermissionException as exc:
        raise QueryError(EXTENSIONS_REFUSED if "extension" in str(exc).lower() else FILES_REFUSED) from None
    except duckdb.InvalidInputException as exc:
        if "configuration has been locked" in str(exc):
            raise QueryError(SETTINGS_REFUSED) from None
        if "read-only" in str(exc):
            raise QueryError(WRITES_REFUSED) from None
        raise QueryError(_first_line(exc)) from None
    except duckdb.Error as exc:
        raise QueryError(_first_line(exc)) from None
    finally:
        con.close()
    return format_frame(frame, fmt)


def refuse_file_statements(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise QueryError(FILES_REFUSED) when any statement of `query` reads or writes a file by itself."""
    for statement in con.extract_statements(query):  # a parser error raises duckdb.ParserException
        if _touches_files(con, statement.type.name, statement.query):
            raise QueryError(FILES_REFUSED)


def _touches_files(con: duckdb.DuckDBPyConnection, kind: str, text: str) -> bool:
    if kind in _FILE_STATEMENTS:
        return True
    wrapper = _WRAPPERS.get(kind)
    if wrapper is None:
        return False
    match = wrapper.match(text.strip())
    if match is None:  # a form this does not know: refuse rather than guess
        return True
    if kind == "EXPLAIN" and not (match["analyze"] or re.search(r"analy[sz]e", match["options"] or "", re.I)):
        return False  # a plain EXPLAIN only plans
    try:
        inner = con.extract_statements(match["inner"])
    except duckdb.Error:
        return True
    return any(_touches_files(con, s.type.name, s.query) for s in inner)


def format_frame(frame: pl.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "json":
        return frame.write_json() + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
