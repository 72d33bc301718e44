"""Read-only SQL against the published snapshot (pipelines/snapshot.py), for `scm sql` and any other
reader: never the warehouse file a run may be writing.

The connection is the readers' sandbox (snapshot.READER_CONFIG: no file beyond the snapshot, no extension,
no setting). Statements that would touch files are refused here too, before they run, with one line that
says how to export instead: DuckDB still lets a sandboxed connection write the few files it keeps beside
its database (the `.wal` a reader could fill with garbage, which would stop the snapshot from opening),
and a refusal worded for an analyst reads better than a permission error.

An input may hold several statements: DuckDB's parser splits them, and each result is shown before the
next statement runs. A result is streamed, keeping the rows to show and counting the rest, so that a cut
can say how many there were. Any other error is DuckDB's whole message (its "Did you mean" hint, the
LINE with a caret). A statement runs on a worker thread while the caller's thread waits, so that Ctrl-C
reaches Python at once and cancels the statement through DuckDB's interrupt.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa

from pipelines import snapshot

FILES_REFUSED = 'readers cannot write or read files: export with `scm sql --format csv "..." > file`'
EXTENSIONS_REFUSED = "readers cannot install or load DuckDB extensions"
SETTINGS_REFUSED = "readers cannot change DuckDB settings (SET, RESET, a setting's PRAGMA): the snapshot is locked"
WRITES_REFUSED = "the warehouse is read-only here: only queries can run (no writes)"

# Rows a table result prints unless asked otherwise: a screenful is the point of a table; a csv or json
# export prints every row.
DEFAULT_MAX_ROWS = 1000
EXPLAIN_COLUMNS = ("explain_key", "explain_value")

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
        raise QueryError(f"cannot open the snapshot read-only: {_message(exc)}") from None


def run_query(
    query: str, fmt: str = "table", warn: Callable[[str], object] | None = None, max_rows: int | None = None
) -> str:
    """Every statement's result of `query`, rendered in `fmt` one after another (for a table, with the note
    when rows were cut)."""
    out: list[str] = []
    run(query, fmt, emit=out.append, note=out.append if fmt == "table" else _ignore, warn=warn, max_rows=max_rows)
    return "".join(out)


def run(
    query: str,
    fmt: str,
    *,
    emit: Callable[[str], object],
    note: Callable[[str], object],
    warn: Callable[[str], object] | None = None,
    max_rows: int | None = None,
    hint: str = "--max-rows to change",
) -> None:
    """Run each statement of `query` in order on one connection to the snapshot, and `emit` each result as
    soon as it is read, so that a failing statement still leaves the ones before it shown; `note` hears
    "(showing N of M rows; <hint>)" for a result cut at `max_rows` (None: every row).

    Raises QueryError for the first statement that fails (none after it runs), KeyboardInterrupt when the
    person interrupted a statement (which is cancelled first)."""
    con = connect_read_only(warn)
    try:
        for statement in statements(con, query):
            result = execute(con, statement, max_rows)
            if result is None:  # a statement with no result
                continue
            emit(result.render(fmt))
            if result.cut:
                note(result.note(hint))
    finally:
        con.close()


def statements(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """The statements of `query` as DuckDB's parser splits them, after refusing the input if any touches files."""
    try:
        refuse_file_statements(con, query)
        return [statement.query for statement in con.extract_statements(query)]
    except duckdb.Error as exc:
        raise QueryError(_message(exc)) from None


@dataclass(frozen=True)
class Result:
    """One statement's rows up to the limit asked for, and how many it had in all."""

    rows: pa.Table
    total: int
    columns: tuple[str, ...] = ()  # as DuckDB named and typed them: Arrow has no HUGEINT, ENUM or UUID
    types: tuple[str, ...] = ()

    @property
    def cut(self) -> bool:
        return self.total > self.rows.num_rows

    def note(self, hint: str) -> str:
        return f"(showing {self.rows.num_rows:,} of {self.total:,} rows; {hint})\n"

    def render(self, fmt: str) -> str:
        if fmt == "table" and self.columns == EXPLAIN_COLUMNS:  # a plan reads as its drawing, as DuckDB's CLI shows it
            return "".join(f"{key}\n{plan}\n" for key, plan in zip(*self.rows.to_pydict().values(), strict=True))
        if fmt == "table":
            return render_table(self.rows, self.columns, self.types)
        return format_frame(pl.from_arrow(self.rows), fmt)


def execute(con: duckdb.DuckDBPyConnection, statement: str, max_rows: int | None = None) -> Result | None:
    """One statement's result (None for a statement without one), keeping at most `max_rows` rows but
    counting them all. It runs on a worker thread, so that Ctrl-C reaches this one while DuckDB works: the
    statement is then interrupted (DuckDB's own cancel) and KeyboardInterrupt raised once it has stopped."""
    outcome: dict[str, object] = {}
    done = threading.Event()  # not Thread.join: a join that Ctrl-C interrupts can mark a live thread ended

    def work() -> None:
        try:
            outcome["result"] = _fetch(con, statement, max_rows)
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="scm-sql", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        con.interrupt()
        while True:
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while it stops
                if done.wait(0.1):
                    break
        raise
    error = outcome.get("error")
    if error is None:
        return outcome["result"]  # type: ignore[return-value]
    if isinstance(error, duckdb.Error):
        raise _refusal(error) from None
    raise error


def _fetch(con: duckdb.DuckDBPyConnection, statement: str, max_rows: int | None) -> Result | None:
    rel = con.sql(statement)
    if rel is None:
        return None
    # Streamed in batches: only the rows shown are kept, the rest are counted as they pass.
    reader = rel.to_arrow_reader()
    kept: list[pa.RecordBatch] = []
    total = 0
    try:
        for batch in reader:
            room = batch.num_rows if max_rows is None else max(0, max_rows - total)
            if room:
                kept.append(batch.slice(0, room))
            total += batch.num_rows
    finally:
        # An open stream keeps the connection busy (DuckDB refuses to close it), and a failed or interrupted
        # one would stay open as long as its traceback lives.
        reader.close()
    rows = pa.Table.from_batches(kept, schema=reader.schema)
    return Result(rows, total, tuple(rel.columns), tuple(str(t) for t in rel.types))


def render_table(
    rows: pa.Table, columns: tuple[str, ...] = (), types: tuple[str, ...] = (), width: int | None = None
) -> str:
    """DuckDB's own box rendering (as its CLI prints), of every row given, fitted to the terminal's width,
    under the result's own column names and types when given."""
    if width is None:
        width = shutil.get_terminal_size((120, 24)).columns
    # A private in-memory database: it holds only these rows, and the snapshot's connection stays as opened.
    with duckdb.connect() as con:
        rel = con.from_arrow(rows)
        if columns and len(columns) == len(rel.columns):
            # Arrow turned some types into others (HUGEINT into DECIMAL(38,0), ...) and renamed repeated
            # names (`s_1`): cast and name them back; a type this database cannot spell stays as Arrow's.
            with contextlib.suppress(duckdb.Error):
                rel = rel.project(
                    ", ".join(
                        f"cast({_quoted(have)} as {kind}) as {_quoted(name)}"
                        for have, name, kind in zip(rel.columns, columns, types, strict=True)
                    )
                )
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rel.show(max_rows=max(rows.num_rows, 1), max_width=width)
    return out.getvalue()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _refusal(exc: duckdb.Error) -> QueryError:
    """A sandbox refusal as one line that says what to do instead; any other error as DuckDB words it."""
    if isinstance(exc, duckdb.PermissionException):
        return QueryError(EXTENSIONS_REFUSED if "extension" in str(exc).lower() else FILES_REFUSED)
    if isinstance(exc, duckdb.InvalidInputException):
        if "configuration has been locked" in str(exc):
            return QueryError(SETTINGS_REFUSED)
        if "read-only" in str(exc):
            return QueryError(WRITES_REFUSED)
    return QueryError(_message(exc))


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


def _message(exc: Exception) -> str:
    """DuckDB's whole message: its "Did you mean" hint and the LINE with a caret under the error matter."""
    return str(exc).strip()


def _ignore(_: str) -> None:
    pass
