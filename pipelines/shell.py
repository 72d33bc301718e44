"""`scm sql` without a query: an interactive SQL prompt on the published snapshot, read-only.

Statements end with `;` and may span lines; a line may hold several, and each prints its result, as DuckDB's
own CLI prints them, up to `.maxrows` rows (with a note when rows were cut). Ctrl-C drops the line being
typed, or cancels the statement running, and the prompt stays; Ctrl-D leaves. Statements piped on stdin
run the same way, without prompts. Each input runs on a fresh connection to the current snapshot, so a run
that publishes while the prompt is open shows at the next statement. It is the same sandboxed connection
as `scm sql "QUERY"` (pipelines/query.py): no files, extensions or settings.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

from pipelines.query import DEFAULT_MAX_ROWS, QueryError, run

HINT = ".maxrows to change"
HISTORY = Path.home() / ".scm_sql_history"

HELP = """\
Statements end with ';' and may span lines. The snapshot is read-only, and files cannot be read or
written from here: to export, run `scm sql --format csv "select ..." > file.csv` from the shell.
  .tables       list every table and view, schema-qualified
  .maxrows N    print at most N rows of a result (0: all); without N, say the current limit
  .help         this text
  .quit         leave (or Ctrl-D)
Ctrl-C drops the line being typed or cancels the running statement.
"""
TABLES = """
select table_schema || '.' || table_name as name,
       case table_type when 'BASE TABLE' then 'table' else lower(table_type) end as type
from information_schema.tables
where table_catalog = current_database()
order by table_schema, table_name
"""


def repl(
    read: Callable[[str], str] | None = None,
    write: Callable[[str], object] = sys.stdout.write,
    max_rows: int | None = DEFAULT_MAX_ROWS,
) -> bool:
    """The prompt. `read` gets a line (raising EOFError at the end); by default the terminal through
    readline, or stdin's lines without prompts when stdin is not a terminal. True when a statement failed
    (what a script piping statements in wants to know)."""
    interactive = read is None and sys.stdin.isatty()
    if read is None:
        read = _terminal_reader() if interactive else _piped_reader()
    if interactive:
        write("scm sql: the published snapshot, read-only. End statements with ';'. .help for help.\n")
    shell = _Shell(write, max_rows)
    buffer: list[str] = []
    while True:
        try:
            line = read("scm> " if not buffer else "...> ")
        except EOFError:
            if interactive:
                write("\n")
            break
        except KeyboardInterrupt:  # Ctrl-C while typing drops what was typed, not the prompt
            write("^C\n")
            buffer = []
            continue
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            if stripped.split()[0] in (".quit", ".exit"):
                return shell.failed
            shell.command(stripped)
            continue
        if not buffer and not stripped:
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            shell.statements("\n".join(buffer))
            buffer = []
    if buffer and "".join(buffer).strip():  # piped input whose last statement lacks its ';'
        shell.statements("\n".join(buffer))
    return shell.failed


class _Shell:
    """What the prompt runs: statements and dot commands. A warning about the snapshot read (CURRENT
    unusable) is written when it first appears or changes, not before every statement."""

    def __init__(self, write: Callable[[str], object], max_rows: int | None) -> None:
        self.write = write
        self.max_rows = max_rows
        self.shown: list[str] = []
        self.failed = False

    def warn(self, line: str) -> None:
        if self.shown[-1:] != [line]:
            self.shown.append(line)
            self.write(f"warning: {line}\n")

    def statements(self, text: str) -> None:
        self.run(text, self.max_rows)

    def run(self, text: str, max_rows: int | None) -> None:
        try:
            run(text, "table", emit=self.write, note=self.write, warn=self.warn, max_rows=max_rows, hint=HINT)
        except QueryError as exc:
            self.failed = True
            self.write(f"error: {exc}\n")
        except KeyboardInterrupt:  # the statement was cancelled (query.execute); the prompt goes on
            self.write("cancelled\n")

    def command(self, line: str) -> None:
        name, *args = line.split()
        if name == ".help":
            self.write(HELP)
        elif name == ".tables":
            self.run(TABLES, None)  # every one, whatever the limit
        elif name == ".maxrows":
            self.maxrows(args)
        else:
            self.write(f"unknown command {name}; .help lists them\n")

    def maxrows(self, args: list[str]) -> None:
        if args:
            try:
                value = int(args[0])
            except ValueError:
                value = -1
            if value < 0 or len(args) > 1:
                self.write("usage: .maxrows N (a whole number; 0 prints every row)\n")
                return
            self.max_rows = value or None
        self.write(f"max rows: {'all' if self.max_rows is None else f'{self.max_rows:,}'}\n")


def _terminal_reader() -> Callable[[str], str]:
    """input(), with readline's line editing and a history kept across sessions where readline exists."""
    try:
        import readline
    except ImportError:
        return input
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    readline.set_history_length(1000)
    atexit.register(_save_history, readline)
    return input


def _save_history(readline) -> None:
    with contextlib.suppress(OSError):  # a read-only home keeps no history, and that is all
        readline.write_history_file(HISTORY)


def _piped_reader() -> Callable[[str], str]:
    def read(_prompt: str) -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return read
