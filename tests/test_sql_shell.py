"""`scm sql` on the built world's snapshot (tests/conftest.py): DuckDB's whole error, every statement's
result, rows up to --max-rows with a note when cut, and the interactive prompt (dot commands, Ctrl-C that
cancels a statement or a line but keeps the prompt, Ctrl-D), driven through a pseudo-terminal as a person
types, and through piped stdin."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import main

SCM = Path(sys.executable).with_name("scm")

pytestmark = pytest.mark.slow

# A cross join no snapshot query finishes soon: what a person cancels.
ENDLESS = "select count(*) from range(1000000) a, range(1000000) b;"


@pytest.fixture
def env(built_world, tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("SCM_DATA_DIR", str(built_world.data_dir))
    # The prompt keeps its readline history in the home folder: a private one here.
    return {**built_world.env(), "HOME": str(tmp_path), "COLUMNS": "200"}


def sql(*args: str):
    return CliRunner().invoke(main, ["sql", *args])


def body_numbers(table: str) -> list[int]:
    """The values of a one-column integer table as DuckDB draws it (rows between the header rule and the end)."""
    body = table.split("├", 1)[1].split("└", 1)[0]
    return [int(cell) for cell in re.findall(r"│\s+(\d+)\s+│", body)]


def test_a_failing_query_shows_duckdbs_whole_message(env):
    misspelt = sql("select * from marts.kpi_montly")
    assert misspelt.exit_code == 2
    assert misspelt.stderr.startswith("error: Catalog Error: Table with name kpi_montly does not exist!")
    assert 'Did you mean "kpi_monthly"' in misspelt.stderr
    syntax = sql("select month fro marts.kpi_monthly")
    assert syntax.exit_code == 2
    lines = syntax.stderr.splitlines()
    assert lines[0] == 'error: Parser Error: syntax error at or near "marts"'
    caret = " " * len("LINE 1: select month fro ") + "^" * len("marts")  # under the word it stopped at
    assert lines[-2:] == ["LINE 1: select month fro marts.kpi_monthly", caret]
    # A sandbox refusal is still its one line.
    refused = sql("copy (select 1) to 'out.csv'")
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1 and "export with" in refused.stderr


def test_every_statement_prints_its_result_in_order(env):
    result = sql("select 1 as first_result; select 'a;b' as second_result")
    assert result.exit_code == 0, result.output
    assert result.stdout.index("first_result") < result.stdout.index("second_result")
    assert "│ a;b " in result.stdout  # DuckDB's parser split them, not the ';' inside the string
    # The statements before a failing one have printed; none after it runs.
    failed = sql("select 41 + 1 as answer; select * from nowhere; select 'never' as third")
    assert failed.exit_code == 2
    assert "42" in failed.stdout and "nowhere" in failed.stderr and "never" not in failed.stdout
    # A plan prints as DuckDB draws it, not squeezed into a table cell.
    plan = sql("explain select count(*) from marts.kpi_monthly")
    assert plan.stdout.startswith("physical_plan\n") and "explain_value" not in plan.stdout and "\\n" not in plan.stdout


def test_rows_print_up_to_max_rows_and_a_cut_says_so(env):
    sixty = "select range as n from range(60) order by n"
    whole = sql("--max-rows", "100", sixty)
    assert whole.exit_code == 0, whole.output
    assert body_numbers(whole.stdout) == list(range(60)) and "showing" not in whole.stdout
    cut = sql("--max-rows", "10", sixty)
    assert body_numbers(cut.stdout) == list(range(10))
    assert cut.stdout.endswith("(showing 10 of 60 rows; --max-rows to change)\n")
    # A table stops at 1,000 rows unless told; a csv export has every row, and its cut note goes to stderr.
    default = sql("select range as n from range(1500)")
    assert default.stdout.endswith("(showing 1,000 of 1,500 rows; --max-rows to change)\n")
    assert len(body_numbers(default.stdout)) == 1000
    csv = sql("--format", "csv", "select range as n from range(1500)")
    assert csv.stdout.splitlines() == ["n", *map(str, range(1500))]
    csv_cut = sql("--format", "csv", "--max-rows", "2", "select range as n from range(1500)")
    assert csv_cut.stdout == "n\n0\n1\n" and csv_cut.stderr == "(showing 2 of 1,500 rows; --max-rows to change)\n"


def test_the_prompt_on_piped_statements(env):
    typed = "\n".join(
        [
            ".tables",
            ".maxrows 3",
            "select range as n",
            "from range(10);",
            ".maxrows",
            "select 1 as alpha; select 2 as beta;",
        ]
    )
    done = subprocess.run([str(SCM), "sql"], input=typed, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    tables = out.split("max rows: 3", 1)[0]
    for name in ("marts.kpi_monthly", "marts.fct_order_lines", "forecast.runs", "meta.snapshot"):
        assert f"│ {name} " in tables, name
    assert "scm>" not in out  # no prompts when stdin is not a terminal
    numbers = out.split("max rows: 3", 1)[1]
    assert body_numbers(numbers) == [0, 1, 2] and "(showing 3 of 10 rows; .maxrows to change)" in numbers
    assert "max rows: 3\n" in numbers.split("showing", 1)[1]  # `.maxrows` alone says the limit
    assert out.index("alpha") < out.index("beta")
    # A failing piped statement shows its error, the rest still run, and the exit status says so.
    failing = subprocess.run(
        [str(SCM), "sql"],
        input="select * from nowhere;\nselect 42 as answer;\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert failing.returncode == 2
    assert failing.stdout.startswith("error: Catalog Error: Table with name nowhere does not exist!")
    assert "│     42 │" in failing.stdout


class Terminal:
    """`scm sql` on a pseudo-terminal: what it prints, and keys typed as a person types them."""

    def __init__(self, env: dict[str, str]) -> None:
        import pty

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the prompt, with the terminal as stdin and stdout
            os.execve(str(SCM), [str(SCM), "sql"], env)
        self.seen = b""

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def until(self, marker: str, timeout: float = 60) -> str:
        """What it printed until `marker` (from the last read on)."""
        end = time.monotonic() + timeout
        while marker.encode() not in self.seen:
            left = end - time.monotonic()
            assert left > 0, f"no {marker!r} in {self.seen.decode(errors='replace')!r}"
            if select.select([self.fd], [], [], min(left, 0.2))[0]:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:  # the child ended
                    break
        head, _, self.seen = self.seen.partition(marker.encode())
        return head.decode(errors="replace")

    def wait(self, timeout: float = 30) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.1)
        os.kill(self.pid, 9)
        raise AssertionError("the prompt did not end")


def test_the_prompt_survives_ctrl_c_and_ends_at_ctrl_d(env):
    term = Terminal(env)
    try:
        assert "the published snapshot, read-only" in term.until("scm> ")
        term.type(".maxrows 2\n")
        assert "max rows: 2" in term.until("scm> ")
        term.type("select range as n from range(5);\n")
        shown = term.until("scm> ")
        assert body_numbers(shown) == [0, 1] and "(showing 2 of 5 rows; .maxrows to change)" in shown

        term.type(ENDLESS + "\n")
        time.sleep(1.5)  # well into the cross join
        term.type("\x03")  # Ctrl-C: the terminal sends SIGINT
        assert "cancelled" in term.until("scm> ", timeout=30)
        term.type("select 40 +")
        time.sleep(0.3)
        term.type("\x03")  # Ctrl-C while typing drops the line
        term.until("scm> ")
        term.type("select 41 + 1 as answer;\n")
        answered = term.until("scm> ")
        assert "│     42 │" in answered and "error" not in answered
        term.type("\x04")  # Ctrl-D
        assert term.wait() == 0
        # readline kept what was typed for the next session (the fixture's private home).
        history = Path(env["HOME"], ".scm_sql_history").read_text()
        assert "select 41 + 1 as answer;" in history and ".maxrows 2" in history
    finally:
        with_child_gone(term.pid)
        os.close(term.fd)


def with_child_gone(pid: int) -> None:
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
