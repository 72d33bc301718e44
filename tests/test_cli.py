"""The `scm` command line: generate, and read-only SQL with clear errors."""

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
    assert bad.exit_code == 2 and bad.output.startswith("error:") and bad.output.count("\n") == 1


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
