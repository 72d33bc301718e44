"""Readers cannot break serving: `scm sql` and its prompt refuse files, extensions and settings with one line;
the snapshot pointer is checked on every read and an unusable one falls back to the newest valid snapshot,
saying so; a publish cleans up after a killed one. Each test publishes tiny snapshots into a temp folder."""

from __future__ import annotations

import os
from datetime import datetime

import duckdb
import pytest
from click.testing import CliRunner

from pipelines import snapshot
from pipelines.cli import main
from pipelines.query import EXTENSIONS_REFUSED, FILES_REFUSED, SETTINGS_REFUSED, QueryError, run_query


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    return tmp_path


def publish(data_dir, run_id: str, day: int = 1) -> snapshot.SnapshotInfo:
    """A snapshot of a one-table warehouse whose value is the day, published as of that day."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.t as select $day as day, 'x' as s", {"day": day})
        return snapshot.publish(con, run_id=run_id, now=datetime(2025, 1, day))


def sql(*args: str):
    return CliRunner().invoke(main, ["sql", *args])


def folder_state(folder) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_readers_cannot_write_or_read_files_load_extensions_or_change_settings(data_dir):
    published = publish(data_dir, "run-one")
    folder = published.path.parent
    outside = data_dir / "outside.csv"
    outside.write_text("a\n1\n")
    before = folder_state(folder)
    refused = {
        # The report: this overwrote the pointer and took every reader down.
        f"COPY (select 1) TO '{folder}/CURRENT'": FILES_REFUSED,
        # A WAL beside the snapshot, which DuckDB's sandbox allows, would stop the snapshot from opening.
        f"copy (select 'x') to '{published.path}.wal'": FILES_REFUSED,
        f"explain analyze copy (select 1) to '{published.path}.wal'": FILES_REFUSED,
        f"EXPLAIN (ANALYZE) COPY (select 1) TO '{folder}/x.csv'": FILES_REFUSED,
        f"prepare p as copy (select 1) to '{published.path}.wal'; execute p": FILES_REFUSED,
        f"select 1; copy marts.t to '{data_dir}/t.parquet' (format parquet)": FILES_REFUSED,
        f"copy marts.t from '{outside}'": FILES_REFUSED,
        f"export database '{data_dir}/export'": FILES_REFUSED,
        f"select * from read_csv('{outside}')": FILES_REFUSED,
        f"select * from read_parquet('{data_dir}/t.parquet')": FILES_REFUSED,
        f"select * from read_text('{outside}')": FILES_REFUSED,
        f"select * from read_blob('{outside}')": FILES_REFUSED,
        f"select * from glob('{data_dir}/*')": FILES_REFUSED,
        f"attach '{data_dir}/warehouse.duckdb' as w": FILES_REFUSED,
        "install httpfs": EXTENSIONS_REFUSED,
        "load spatial": EXTENSIONS_REFUSED,  # (parquet and json are built in: loading them is a no-op)
        "set threads = 1": SETTINGS_REFUSED,
        "reset memory_limit": SETTINGS_REFUSED,
        "set enable_external_access = true": SETTINGS_REFUSED,
        "pragma enable_profiling": SETTINGS_REFUSED,
    }
    for statement, message in refused.items():
        result = sql(statement)
        assert (result.exit_code, result.output) == (2, f"error: {message}\n"), statement
    assert folder_state(folder) == before  # nothing written beside the snapshot, the pointer as it was
    assert sorted(p.name for p in data_dir.iterdir()) == ["outside.csv", "snapshots", "warehouse.duckdb"]
    assert sql("--format", "csv", "select day from marts.t").output == "day\n1\n"


def test_ordinary_analyst_queries_still_run(data_dir):
    publish(data_dir, "run-one")
    queries = [
        "with d as (select day from marts.t) select count(*) from d join marts.t using (day)",
        "summarize marts.t",
        "describe marts.t",
        "show all tables",
        "pragma show_tables",
        "select table_schema, table_name from information_schema.tables order by all",
        "explain select * from marts.t",
        "select * from duckdb_settings() where name = 'enable_external_access'",
        "select run_id from meta.snapshot",
    ]
    for query in queries:
        result = sql(query)
        assert result.exit_code == 0 and not result.output.startswith("error"), (query, result.output)
    assert run_query("select value from duckdb_settings() where name = 'enable_external_access'", "csv") == (
        "value\nfalse\n"
    )


def test_the_prompt_refuses_files_with_the_same_line_and_warns_once_about_the_pointer(data_dir):
    from pipelines.shell import repl

    published = publish(data_dir, "run-one")
    pointer = published.path.parent / "CURRENT"

    def session(*lines: str) -> list[str]:
        typed = iter([*lines, ".quit"])
        out: list[str] = []
        repl(read=lambda prompt: next(typed), write=out.append)
        return out

    out = session(f"copy (select 1) to '{pointer}';", "select day * 42 as answer", "from marts.t;")
    assert f"error: {FILES_REFUSED}\n" in out and "42" in "".join(out)
    assert pointer.read_text() == published.path.name + "\n"

    pointer.unlink()
    out = session("select 1;", "select 2;")
    warnings = [line for line in out if line.startswith("warning:")]
    assert warnings == [
        f"warning: {pointer} is missing; reading the newest valid snapshot instead, {published.path.name}\n"
    ]


def test_a_sandboxed_reader_shares_the_file_with_every_other_reader_of_the_process(data_dir):
    published = publish(data_dir, "run-one")
    # The dashboards keep one connection open (queries._database); scm sql, the pointer check and a notebook
    # open more beside it, all through open_snapshot, so DuckDB sees one config for the file.
    kept = snapshot.open_snapshot(published.path)
    with snapshot.connect() as other, kept.cursor() as cursor:
        assert other.sql("select day from marts.t").fetchall() == cursor.sql("select day from marts.t").fetchall()
    assert run_query("select day from marts.t", "csv") == "day\n1\n"
    assert snapshot.locate().path == published.path
    # Why it must be one way: DuckDB refuses a connection with another config to a file this process has open.
    with pytest.raises(duckdb.ConnectionException, match="different configuration"):
        duckdb.connect(str(published.path), read_only=True)
    kept.close()


def break_pointer(folder, how: str, latest) -> str:
    """Damage what CURRENT leads to; returns the problem readers should name."""
    pointer = folder / "CURRENT"
    if how == "missing":
        pointer.unlink()
        return f"{pointer} is missing"
    if how == "garbage":
        pointer.write_bytes(b"\x00\xffnot a name\n")
        return f"{pointer} cannot be read"
    if how == "outside the folder":
        pointer.write_text("../warehouse.duckdb\n")
        return f"{pointer} does not name a snapshot file of its folder: '../warehouse.duckdb'"
    if how == "names a removed file":
        latest.unlink()
        return f"{pointer} names {latest.name}, which does not exist"
    if how == "names a damaged file":
        with latest.open("r+b") as f:
            f.write(b"garbage" * 1000)
        return f"{pointer} names {latest.name}, which cannot be opened"
    if how == "names a file with a foreign WAL":
        with duckdb.connect(str(folder / "other.db")) as other:  # a WAL that belongs to another database
            other.execute("create table z as select 1 as a; checkpoint; pragma disable_checkpoint_on_shutdown")
            other.execute("insert into z values (2)")
        os.replace(folder / "other.db.wal", f"{latest}.wal")
        (folder / "other.db").unlink()
        return f"{pointer} names {latest.name}, which cannot be opened"
    if how == "names a database that is not a snapshot":
        latest.unlink()
        duckdb.connect(str(latest)).close()
        return f"{pointer} names {latest.name}, which has no meta.snapshot row"
    raise ValueError(how)


POINTER_FAULTS = [
    "missing",
    "garbage",
    "outside the folder",
    "names a removed file",
    "names a damaged file",
    "names a file with a foreign WAL",
    "names a database that is not a snapshot",
]


@pytest.mark.parametrize("how", POINTER_FAULTS)
def test_an_unusable_pointer_falls_back_to_the_newest_valid_snapshot_and_says_so(data_dir, how):
    first = publish(data_dir, "run-one", day=1)
    second = publish(data_dir, "run-two", day=2)
    folder = second.path.parent
    problem = break_pointer(folder, how, second.path)
    # "missing" keeps run-two valid (only the pointer is gone); the others leave run-one as the newest valid.
    expected = second if how in ("missing", "garbage", "outside the folder") else first

    current = snapshot.locate()
    assert current.path == expected.path
    assert current.problem.startswith(problem), current.problem
    assert current.warning == f"{current.problem}; reading the newest valid snapshot instead, {expected.path.name}"
    result = sql("--format", "csv", "select day from marts.t")
    assert (result.exit_code, result.stdout) == (0, f"day\n{1 if expected is first else 2}\n")
    assert result.stderr == f"warning: {current.warning}\n"

    # The next publish rewrites the pointer; the fallback and the new snapshot are what is kept.
    third = publish(data_dir, "run-three", day=3)
    assert snapshot.locate() == snapshot.Current(third.path)
    assert (folder / "CURRENT").read_text() == third.path.name + "\n"
    assert sorted(p.name for p in folder.iterdir()) == sorted(["CURRENT", expected.path.name, third.path.name])


def test_with_no_valid_snapshot_readers_say_no_warehouse_yet_and_why(data_dir):
    only = publish(data_dir, "run-one")
    only.path.write_bytes(b"not a database")
    with pytest.raises(QueryError) as refused:
        run_query("select 1")
    message = str(refused.value)
    assert message.startswith(
        f"no warehouse yet in {data_dir}: run `scm run` first "
        f"({data_dir}/snapshots/CURRENT names {only.path.name}, which cannot be opened ("
    ), message
    assert message.endswith("))") and "\n" not in message
    (data_dir / "snapshots" / "CURRENT").unlink()
    only.path.unlink()
    assert snapshot.locate() == snapshot.Current(None)  # an empty folder is simply "nothing yet"


def test_a_publish_removes_what_a_killed_publish_left_and_keeps_current_and_previous(data_dir):
    first = publish(data_dir, "run-one", day=1)
    second = publish(data_dir, "run-two", day=2)
    folder = second.path.parent
    leftovers = [
        folder / ".20250101T000000000000-killed00.duckdb.partial",
        folder / ".20250101T000000000000-killed00.duckdb.partial.wal",
        folder / ".CURRENT.tmp",
    ]
    for leftover in leftovers:
        leftover.write_bytes(b"half written")
    # A reader was sent to the first snapshot (say the second was damaged): it stays, with the new one.
    (folder / "CURRENT").write_text(first.path.name + "\n")
    third = publish(data_dir, "run-three", day=3)
    assert not any(p.exists() for p in leftovers)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["CURRENT", first.path.name, third.path.name])
    fourth = publish(data_dir, "run-four", day=4)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["CURRENT", third.path.name, fourth.path.name])


def test_a_reader_racing_two_publishes_follows_the_pointer_without_a_warning(data_dir, monkeypatch):
    publish(data_dir, "run-one", day=1)
    second = publish(data_dir, "run-two", day=2)
    real_open_checked, raced = snapshot._open_checked, []

    def two_publishes_land_first(path):
        # The reader has read CURRENT (run-two); before it opens the file, two runs publish and run-two is removed.
        if path == second.path and not raced:
            raced.append(True)
            publish(data_dir, "run-three", day=3)
            raced.append(publish(data_dir, "run-four", day=4))
            assert not second.path.exists()
        return real_open_checked(path)

    monkeypatch.setattr(snapshot, "_open_checked", two_publishes_land_first)
    assert snapshot.locate() == snapshot.Current(raced[-1].path)
