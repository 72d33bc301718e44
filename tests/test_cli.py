"""The `scm` command line: generate, read-only SQL with clear errors, and the exit status and summary of
`scm run` / `scm backfill`."""

import json

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    return tmp_path


def test_sql_before_any_run_says_what_to_do(data_dir):
    result = CliRunner().invoke(main, ["sql", "select 1"])
    assert result.exit_code == 2
    assert "no warehouse yet" in result.output and "scm run" in result.output


def test_sql_formats_and_refuses_writes(data_dir):
    from pipelines import snapshot

    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("create schema marts")
        con.execute("create table marts.t as select * from (values (1, 'a'), (2, 'b')) v(n, s)")
        snapshot.publish(con, run_id="test-run")
    runner = CliRunner()
    as_json = runner.invoke(main, ["sql", "--format", "json", "select * from marts.t order by n"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == [{"n": 1, "s": "a"}, {"n": 2, "s": "b"}]
    as_csv = runner.invoke(main, ["sql", "--format", "csv", "select * from marts.t order by n"])
    assert as_csv.output == "n,s\n1,a\n2,b\n"
    table = runner.invoke(main, ["sql", "select sum(n) as total from marts.t"])
    assert "total" in table.output and "3" in table.output
    write = runner.invoke(main, ["sql", "insert into marts.t values (3, 'c')"])
    assert write.exit_code == 2
    assert "read-only" in write.output
    bad = runner.invoke(main, ["sql", "select * from missing_table"])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: Catalog Error: Table with name missing_table does not exist!")


def test_generate_writes_every_feed(data_dir):
    result = CliRunner().invoke(main, ["generate", "--scale", "0.01", "--days", "14"])
    assert result.exit_code == 0, result.output
    for feed in ("products", "warehouses", "suppliers", "orders", "inventory", "purchase_orders", "returns"):
        assert any((data_dir / "landing" / feed).iterdir()), feed


def test_sql_without_a_query_opens_a_prompt_on_the_snapshot(data_dir):
    from pipelines import snapshot
    from pipelines.shell import repl

    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("create schema marts")
        con.execute("create table marts.t as select 41 + 1 as answer")
        snapshot.publish(con, run_id="test-run")
    typed = iter(["select answer", "from marts.t;", ".tables", "drop table marts.t;", ".quit"])
    out: list[str] = []
    repl(read=lambda prompt: next(typed), write=out.append)
    text = "".join(out)
    assert "42" in text and "marts.t" in text  # a statement over two lines, then the table list
    assert "error: the warehouse is read-only here" in text


def _summary(success=True, checks=()):
    from pipelines.runner import CheckOutcome, RunSummary

    return RunSummary(
        success=success,
        run_id="r1",
        checks=[CheckOutcome("raw/orders", name, passed, text, severity) for name, passed, severity, text in checks],
        failures=[] if success else ["raw/orders: ValueError: the real cause"],
    )


@pytest.mark.parametrize(
    ("summary", "code"),
    [
        (_summary(checks=[("contract_expectations", True, "WARN", "ok")]), 0),
        (_summary(checks=[("contract_expectations", False, "WARN", "2 row(s) quarantined")]), 0),
        (_summary(checks=[("contract_expectations", False, "ERROR", "1 file(s) rejected")]), 3),
        (_summary(success=False, checks=[("contract_expectations", False, "ERROR", "1 file(s) rejected")]), 1),
    ],
    ids=["all-passed", "warn-only", "error-check", "run-failed"],
)
def test_run_exit_status_tells_a_scheduler_what_happened(summary, code, monkeypatch, data_dir):
    """0: passed (WARN checks may fail), 1: the run failed, 3: succeeded with an ERROR check to look at."""
    import pipelines.runner

    assert summary.exit_code == code
    monkeypatch.setattr(pipelines.runner, "run_job", lambda job, verbose=False: summary)
    monkeypatch.setattr(pipelines.runner, "run_backfill", lambda start, end, verbose=False: summary)
    for args in (["run"], ["backfill", "--from", "2024-01-01", "--to", "2024-01-31"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == code, result.output
        assert result.stdout.startswith("run r1: ")
        if code == 1:
            assert result.stderr == f"{args[0]} failed at raw/orders: ValueError: the real cause\n"


def test_run_summary_says_which_checks_are_error_and_which_warn():
    summary = _summary(
        checks=[
            ("freshness", False, "WARN", "no new orders file for 30 h"),
            ("contract_expectations", False, "ERROR", "1 file(s) rejected"),
            ("other", True, "ERROR", "fine"),
        ]
    )
    lines = summary.render().splitlines()
    assert "checks: 1 passed, 2 need a look (1 ERROR, 1 WARN)" in lines
    # ERROR first: what the exit status is about.
    assert lines[-2:] == [
        "  ERROR raw/orders contract_expectations: 1 file(s) rejected",
        "  WARN  raw/orders freshness: no new orders file for 30 h",
    ]


def test_run_summary_names_the_entries_it_did_not_load():
    summary = _summary()
    summary.materialized = {
        "raw/orders": {"files_new": 3, "files_skipped": 2, "files_waiting": 1},
        "raw/products": {"files_new": 1},
    }
    assert "not loaded: orders 2 skipped, orders 1 still being written (meta.ingest_log says why)" in (
        summary.render().splitlines()
    )


def test_a_fault_before_any_step_is_one_line_not_a_traceback(monkeypatch, data_dir):
    """Boundary patch: run_job raising what opening the run's log in a read-only folder raises (the real
    read-only folder is in tests/reliability/test_environment_faults.py)."""
    import errno

    import pipelines.runner

    def read_only(job, verbose=False):
        raise OSError(errno.EROFS, "Read-only file system", str(data_dir / "logs" / "run.log"))

    monkeypatch.setattr(pipelines.runner, "run_job", read_only)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: the data directory is read-only: could not write ")
    assert str(data_dir / "logs" / "run.log") in result.stderr and result.stderr.count("\n") == 1
