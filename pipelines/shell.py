"""`scm sql` without a query: an interactive SQL prompt on the published snapshot, read-only.

Statements end with `;` and may span lines; results print as DuckDB's own CLI prints them. Dot commands:
`.tables`, `.help`, `.quit`. Each statement runs on a fresh connection to the current snapshot, so a run
that publishes while the prompt is open shows at the next statement. It is the same sandboxed connection
as `scm sql "QUERY"` (pipelines/query.py): no files, extensions or settings.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

from pipelines.query import QueryError, run_query

HELP = """\
Statements end with ';' and may span lines. The snapshot is read-only, and files cannot be read or
written from here: to export, run `scm sql --format csv "select ..." > file.csv` from the shell.
  .tables   list the tables (schemas marts, forecast, meta)
  .help     this text
  .quit     leave (or Ctrl-D)
"""
TABLES = (
    "select table_schema || '.' || table_name as name, table_type from information_schema.tables "
    "order by table_schema, table_name"
)


def repl(read: Callable[[str], str] = input, write: Callable[[str], object] = sys.stdout.write) -> None:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    write("scm sql: the published snapshot, read-only. End statements with ';'. .help for help.\n")
    run = _runner(write)
    buffer: list[str] = []
    while True:
        try:
            line = read("scm> " if not buffer else "...> ")
        except (EOFError, KeyboardInterrupt):
            write("\n")
            return
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            if stripped in (".quit", ".exit"):
                return
            write(
                HELP
                if stripped == ".help"
                else run(TABLES)
                if stripped == ".tables"
                else f"unknown command {stripped}; .help lists them\n"
            )
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            write(run("\n".join(buffer)))
            buffer = []


def _runner(write: Callable[[str], object]) -> Callable[[str], str]:
    """Runs one statement and returns what to print. A warning about the snapshot read (CURRENT unusable) is
    written when it first appears or changes, not before every statement."""
    shown: list[str] = []

    def warn(line: str) -> None:
        if shown[-1:] != [line]:
            shown.append(line)
            write(f"warning: {line}\n")

    def run(statement: str) -> str:
        try:
            out = run_query(statement, warn=warn)
        except QueryError as exc:
            return f"error: {exc}\n"
        return out if out.endswith("\n") or not out else out + "\n"

    return run
