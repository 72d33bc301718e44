"""A publish builds on the previous snapshot (pipelines/snapshot.py): it copies that file and rewrites only
the tables whose content changed, drops the tables gone from the warehouse and adds the new ones, and
ends with a snapshot equal to the warehouse, table by table, row by row. It builds whole when there is
nothing valid to build on. A SIGKILL while it writes leaves CURRENT on a valid snapshot.

Each test publishes a small warehouse of its own into a temp folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines import snapshot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    with warehouse(tmp_path) as con:
        con.execute("create schema marts; create schema forecast; create schema raw; create schema staging")
        con.execute(
            "create table marts.orders as select range as id, range % 7 as qty, 'o' || range as note from range(1000)"
        )
        con.execute("create table marts.kpis as select 'otif' as kpi, 0.5 as value union all select 'fill', 0.75")
        con.execute("create table forecast.runs as select 'r1' as run_id, 3 as series")
        con.execute("create table raw.ingest_log as select 'orders/a.csv' as file, 10 as rows_loaded")
        con.execute("create table raw.orders_quarantine as select 'a.csv' as file, 'bad date' as reason")
        con.execute("create table raw.orders as select 1 as never_published")
        con.execute("create view staging.stg as select 1 as neither")
    return tmp_path


def warehouse(data_dir: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir / "warehouse.duckdb"))


def publish(data_dir: Path, run_id: str, second: int | None = None) -> snapshot.SnapshotInfo:
    with warehouse(data_dir) as con:
        now = datetime(2025, 1, 1, 0, 0, second) if second is not None else None
        return snapshot.publish(con, run_id=run_id, now=now)


def tables_of(con: duckdb.DuckDBPyConnection, catalog: str, schemas: list[str]) -> dict[tuple[str, str], list]:
    """Every table of the schemas with its rows, sorted (content, not counts)."""
    names = con.sql(
        "select table_schema, table_name from information_schema.tables where table_catalog = $c "
        "and list_contains($s, table_schema) order by all",
        params={"c": catalog, "s": schemas},
    ).fetchall()
    return {(s, t): sorted(con.sql(f'select * from "{catalog}".{s}."{t}"').fetchall(), key=repr) for s, t in names}


def assert_equals_the_warehouse(data_dir: Path, published: snapshot.SnapshotInfo) -> None:
    with warehouse(data_dir) as con:
        want = tables_of(con, "warehouse", ["marts", "forecast"])
        want |= {("meta", t): rows for (_, t), rows in tables_of(con, "warehouse", ["raw"]).items() if t != "orders"}
    with snapshot.open_snapshot(published.path) as con:
        got = tables_of(con, published.path.stem, ["marts", "forecast", "meta"])
        written_by = dict(
            con.sql("select schema_name || '.' || table_name, written_by from meta.published_tables").fetchall()
        )
    bookkeeping = {("meta", t) for t in snapshot.BOOKKEEPING}
    assert {k: v for k, v in got.items() if k not in bookkeeping} == want
    assert set(written_by) == {f"{s}.{t}" for s, t in want}


def written_by(published: snapshot.SnapshotInfo) -> dict[str, str]:
    with snapshot.open_snapshot(published.path) as con:
        return dict(
            con.sql("select schema_name || '.' || table_name, written_by from meta.published_tables").fetchall()
        )


def test_the_first_publish_is_a_full_build_and_an_unchanged_warehouse_rewrites_nothing(data_dir):
    first = publish(data_dir, "run-one", 1)
    assert (first.build.kind, first.build.why_full) == ("full", "there is no previous snapshot")
    everything = (
        ("forecast", "runs"),
        ("marts", "kpis"),
        ("marts", "orders"),
        ("meta", "ingest_log"),
        ("meta", "orders_quarantine"),
    )
    assert first.build.written == everything and first.build.kept == ()
    assert_equals_the_warehouse(data_dir, first)

    second = publish(data_dir, "run-two", 2)
    assert (second.build.kind, second.build.why_full) == (snapshot.COPY_ON_WRITE, None)
    assert (second.build.written, second.build.kept, second.build.dropped) == ((), everything, ())
    assert_equals_the_warehouse(data_dir, second)
    assert set(written_by(second).values()) == {"run-one"}
    with snapshot.connect() as con:
        assert snapshot.info(con).run_id == "run-two"
        assert con.sql("select build, format from meta.snapshot").fetchall() == [
            (snapshot.COPY_ON_WRITE, snapshot.FORMAT)
        ]


def test_only_what_changed_is_written_removed_tables_go_and_new_ones_come(data_dir):
    publish(data_dir, "run-one", 1)
    with warehouse(data_dir) as con:
        # The same size, one value different: a row count would not see it.
        con.execute("update marts.orders set qty = qty + 1 where id = 500")
        # Two rows swap a value: every column's multiset is the same, only rows differ.
        con.execute("update marts.kpis set value = case kpi when 'otif' then 0.75 else 0.5 end")
        con.execute("drop table forecast.runs")
        con.execute("create table forecast.backtests as select 'r2' as run_id, 0.1 as wape")
        con.execute("insert into raw.ingest_log values ('orders/b.csv', 12)")
    published = publish(data_dir, "run-two", 2)
    build = published.build
    assert build.kind == snapshot.COPY_ON_WRITE
    assert build.written == (("forecast", "backtests"), ("marts", "kpis"), ("marts", "orders"), ("meta", "ingest_log"))
    assert build.kept == (("meta", "orders_quarantine"),)
    assert build.dropped == (("forecast", "runs"),)
    assert_equals_the_warehouse(data_dir, published)
    assert written_by(published) == {
        "forecast.backtests": "run-two",
        "marts.kpis": "run-two",
        "marts.orders": "run-two",
        "meta.ingest_log": "run-two",
        "meta.orders_quarantine": "run-one",
    }
    with snapshot.open_snapshot(published.path) as con:
        assert con.sql("select qty from marts.orders where id = 500").fetchall() == [(500 % 7 + 1,)]
        assert con.sql("select count(*) from information_schema.tables where table_name = 'runs'").fetchall() == [(0,)]


def test_the_fingerprint_sees_values_rows_names_and_types_not_row_order(data_dir):
    with warehouse(data_dir) as con:
        con.execute("create table marts.t as select * from (values (1, 'a'), (2, 'b'), (2, 'b')) v(k, v)")
        variants = {
            "a value swapped between rows": "select * from (values (1, 'b'), (2, 'a'), (2, 'b')) v(k, v)",
            "a duplicate row gone": "select * from (values (1, 'a'), (2, 'b')) v(k, v)",
            "a duplicate row more": "select * from (values (1, 'a'), (2, 'b'), (2, 'b'), (2, 'b')) v(k, v)",
            "a column renamed": "select * from (values (1, 'a'), (2, 'b'), (2, 'b')) v(k, w)",
            "a column's type": "select k::bigint as k, v from (values (1, 'a'), (2, 'b'), (2, 'b')) v(k, v)",
            "a null for a zero": "select * from (values (1, 'a'), (2, 'b'), (2, 'b'), (null, null)) v(k, v)",
        }
        base = snapshot.fingerprint(con, "marts.t")
        assert snapshot.fingerprint(con, "(select * from marts.t order by k desc)") == base
        for what, sql in variants.items():
            assert snapshot.fingerprint(con, f"({sql})") != base, what


def test_a_large_table_with_few_rows_changed_is_patched_in_place(data_dir, monkeypatch):
    monkeypatch.setattr(snapshot, "PATCH_MIN_ROWS", 100)  # marts.orders' 1000 rows count as large here

    def orders_bookkeeping(published) -> tuple:
        with snapshot.open_snapshot(published.path) as con:
            return con.sql(
                "select written_by, rows_deleted_since from meta.published_tables where table_name = 'orders'"
            ).fetchall()[0]

    publish(data_dir, "run-one", 1)
    with warehouse(data_dir) as con:
        con.execute("update marts.orders set note = 'changed' where id = 10")  # a row deleted, a row added
        con.execute("delete from marts.orders where id in (20, 21, 22)")
        con.execute("insert into marts.orders select range, 0, 'new' from range(1000, 1005)")
    second = publish(data_dir, "run-two", 2)
    assert second.build.patched == (("marts", "orders"),) and ("marts", "orders") in second.build.written
    assert_equals_the_warehouse(data_dir, second)
    assert orders_bookkeeping(second) == ("run-one", 4)  # patched: still as run-one wrote it whole, 4 rows gone

    # A row that gains a copy: its one row deleted, its two inserted.
    with warehouse(data_dir) as con:
        con.execute("insert into marts.orders select * from marts.orders where id = 5")
    third = publish(data_dir, "run-three", 3)
    assert third.build.patched == (("marts", "orders"),)
    assert_equals_the_warehouse(data_dir, third)
    assert orders_bookkeeping(third) == ("run-one", 5)

    # Deletes add up across patches; past a quarter of the table it is written whole again.
    for day, ids in ((4, "id between 100 and 249"), (5, "id between 300 and 399")):
        with warehouse(data_dir) as con:
            con.execute(f"delete from marts.orders where {ids}")
        published = publish(data_dir, f"run-{day}", day)
        assert_equals_the_warehouse(data_dir, published)
        if day == 4:  # 5 + 150 deleted rows of 854: patched
            assert orders_bookkeeping(published) == ("run-one", 155)
    assert orders_bookkeeping(published) == ("run-5", 0) and published.build.patched == ()  # 255 of 754


def test_a_dated_table_is_patched_from_the_dates_whose_rows_changed(data_dir, monkeypatch):
    monkeypatch.setattr(snapshot, "PATCH_MIN_ROWS", 100)
    with warehouse(data_dir) as con:
        con.execute(
            "create table marts.stock as select range as id, date '2025-01-01' + (range % 50)::int as day, "
            "case when range % 97 = 0 then null else range % 5 end as qty from range(2000)"
        )
        con.execute("update marts.stock set day = null where id < 10")  # undated rows are a date of their own
    publish(data_dir, "run-one", 1)
    with warehouse(data_dir) as con:
        con.execute("update marts.stock set qty = 99 where id = 101")  # a row of 2025-01-02 changes in place
        con.execute("delete from marts.stock where id = 3")  # an undated row goes
        con.execute("insert into marts.stock select 5000 + range, date '2025-03-01', 1 from range(3)")  # a new day
        con.execute("insert into marts.stock select * from marts.stock where id = 222")  # a row gains a copy
    calls = []
    real = snapshot._patch

    def inspecting(con, target, relation, delta, print_):
        calls.append((target, delta.column))
        if target == ("marts", "stock"):
            (hashes,) = con.sql(f"select count(*) from {delta.hashes}").fetchall()[0]
            assert hashes == 7  # 101 old and new, 3, the three new rows, 222's row
            changed = [None, date(2025, 1, 2), date(2025, 1, 23), date(2025, 3, 1)]
            assert sorted(delta.dates, key=repr) == sorted(changed, key=repr)
        return real(con, target, relation, delta, print_)

    monkeypatch.setattr(snapshot, "_patch", inspecting)
    second = publish(data_dir, "run-two", 2)
    assert ("marts", "stock") in second.build.patched and (("marts", "stock"), "day") in calls
    assert_equals_the_warehouse(data_dir, second)


@pytest.mark.parametrize("how", ["older_format", "other_duckdb", "wal_beside_it"])
def test_a_previous_snapshot_it_cannot_build_on_means_a_full_build(data_dir, how):
    first = publish(data_dir, "run-one", 1)
    if how == "wal_beside_it":
        Path(f"{first.path}.wal").write_bytes(b"")
    else:
        with duckdb.connect(str(first.path)) as con:
            if how == "older_format":
                con.execute("alter table meta.snapshot drop column format")
            else:
                con.execute("update meta.snapshot set duckdb_version = '0.0.1'")
    second = publish(data_dir, "run-two", 2)
    assert second.build.kind == "full" and first.path.name in second.build.why_full
    assert {
        "older_format": "predates this snapshot format",
        "other_duckdb": "by DuckDB 0.0.1",
        "wal_beside_it": "write-ahead log",
    }[how] in second.build.why_full
    assert second.build.kept == ()
    assert_equals_the_warehouse(data_dir, second)


def test_the_file_does_not_grow_without_bound_across_publishes(data_dir):
    """DuckDB reuses the blocks of the tables a publish drops: the copy-on-write file stays near the size
    of a full build of the same warehouse."""
    sizes = []
    with warehouse(data_dir) as con:
        for day in range(8):
            con.execute(
                "create or replace table marts.orders as select range as id, md5((range + $d)::varchar) as note "
                "from range(200000)",
                {"d": day},
            )
            published = snapshot.publish(con, run_id=f"run-{day}", now=datetime(2025, 1, 1, 0, 0, day))
            sizes.append(published.path.stat().st_size)
            assert ("marts", "orders") in published.build.written and published.build.free_fraction < 0.5
        assert published.build.kind == snapshot.COPY_ON_WRITE
        # Nothing changed: nothing written, and the file no larger.
        same = snapshot.publish(con, run_id="run-same", now=datetime(2025, 1, 2))
    assert same.path.stat().st_size <= sizes[-1]
    assert same.build.kind == snapshot.COPY_ON_WRITE and same.build.written == ()
    assert max(sizes) <= 1.25 * sizes[0], sizes  # the first was a full build of a warehouse of the same size


def test_a_previous_snapshot_mostly_free_space_means_a_full_build(data_dir, monkeypatch):
    monkeypatch.setattr(snapshot, "MIN_FREE_BYTES", 0)
    with warehouse(data_dir) as con:
        con.execute("create table marts.big as select range as id, md5(range::varchar) as s from range(200000)")
        publish(data_dir, "run-one", 1)
        con.execute("drop table marts.big")
        second = publish(data_dir, "run-two", 2)  # frees big's blocks in the copy it builds on
        third = publish(data_dir, "run-three", 3)
    assert second.build.kind == snapshot.COPY_ON_WRITE and second.build.dropped == (("marts", "big"),)
    assert second.build.free_fraction > snapshot.MAX_FREE_FRACTION
    assert third.build.kind == "full" and "free space" in third.build.why_full
    assert third.path.stat().st_size < second.path.stat().st_size / 2
    assert_equals_the_warehouse(data_dir, third)


KILLED_PUBLISH = """
import os, sys
os.environ["SCM_DATA_DIR"] = sys.argv[1]
import duckdb
from pipelines import snapshot
con = duckdb.connect(os.path.join(sys.argv[1], "warehouse.duckdb"))
for day in range(1000):  # until it is killed: a table written whole, then patched, in turn
    if day % 2 == 0:
        con.execute(
            "create or replace table marts.orders as select range as id, md5((range + $d)::varchar) as note "
            "from range(300000)", {"d": day}
        )
    else:
        con.execute("update marts.orders set note = 'x' where id % 1000 = 0")
    snapshot.publish(con, run_id=f"loop-{day}")
"""


def test_sigkill_while_publishing_on_the_previous_snapshot_leaves_current_valid(data_dir):
    publish(data_dir, "run-one", 1)
    folder = data_dir / "snapshots"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for attempt in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(KILLED_PUBLISH), str(data_dir)], env=env, start_new_session=True
        )
        try:
            # Killed while it writes the copy of the previous snapshot: its `.partial` exists and has grown.
            deadline = time.monotonic() + 120
            while not any(p.stat().st_size > 0 for p in folder.glob(".*.partial") if p.exists()):
                assert child.poll() is None and time.monotonic() < deadline, "the publish never started"
                time.sleep(0.001)
            time.sleep(0.05 * attempt)
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        with snapshot.connect() as con:
            (run_id,) = con.sql("select run_id from meta.snapshot").fetchall()[0]
        assert run_id == "run-one" or run_id.startswith("loop-")
        assert (folder / "CURRENT").read_text().strip() == snapshot.current_path().name
    # The next publish cleans up what the kill left and builds on what CURRENT names.
    published = publish(data_dir, "run-two")
    assert published.build.kind == snapshot.COPY_ON_WRITE
    assert not list(folder.glob(".*"))
    assert_equals_the_warehouse(data_dir, published)
