"""`scm sql` without a query: an interactive SQL prompt on the published snapshot, read-only.

Statements end with `;` and may span lines; results print as DuckDB's own CLI prints them. Dot commands:
`.tables`, `.help`, `.quit`. Each statement runs on a fresh connection to the current snapshot, so a run
that publishes while the prompt is open shows at the next statement.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

from pipelines.query import QueryError, run_query

HELP = """\
Statements end with ';' and may span lines. The snapshot is read-only.
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
                else _run(TABLES)
                if stripped == ".tables"
                else f"unknown command {stripped}; .help lists them\n"
            )
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            write(_run("\n".join(buffer)))
            buffer = []


def _run(statement: str) -> str:
    try:
        out = run_query(statement)
    except QueryError as exc:
        return f"error: {exc}\n"
    return out if out.endswith("\n") or not out else out + "\n"
