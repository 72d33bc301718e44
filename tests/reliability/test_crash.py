"""Crashes and concurrency. A run killed with SIGKILL (the whole process group: the run, dbt, forecast
workers) leaves the published snapshot as it was, readable, and later runs end with the marts a clean
run of the same files gives. Two `scm run`s started at the same moment on the same data directory: one
waits for the other (the run lock, pipelines/runlock.py), both succeed, neither meets a DuckDB lock
error, the new files load once, and a reader querying the published snapshot all along never fails.

One sequence on a copy of the built world (a run costs a minute here; the two share their setup): drop
most of the next days' files, kill a run while it loads, the next while dbt builds, the next while it
forecasts; then drop the last days' files and start two runs together while a reader queries. The
phase of a kill is read from the outside, without timing guesses:

- load: the run process has the warehouse file open. Nothing before the ingest steps opens it (the run
  lock is a file of its own), so that is the first ingest step's connection. The kill lands before the
  seven feeds are all loaded, which the test checks afterwards from the ingest log.
- dbt: a `dbt build` child of the run has the warehouse open and a write-ahead log exists beside it. The
  ingest closed (and checkpointed) its connections, so the log is dbt's: at least one model committed.
- forecast: the run's progress bar (`forecast [`) appears on stderr, before the first series is fitted.
  The forecast writes its run at the end, so the test checks afterwards that no forecast run was added.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.feeds.contract import FEEDS
from tests.reliability.runs import NEW_DAYS, assert_same_marts, drop_next_days, published_marts

pytestmark = pytest.mark.slow

# How DuckDB words a second writer on a file another process holds.
LOCK_ERRORS = re.compile(r"Could not set lock|Conflicting lock|database is locked|lock on file", re.IGNORECASE)
LAST_DAYS = 2  # dropped before the two concurrent runs


def published(data_dir: Path) -> tuple[str, str, str]:
    """What readers see: the CURRENT pointer, the snapshot's run id, and a query's result."""
    from pipelines import snapshot
    from pipelines.query import run_query

    with snapshot.connect() as con:
        run_id = snapshot.info(con).run_id
    kpis = run_query("select month, kpi, value from marts.kpi_monthly order by month, kpi", fmt="csv")
    return (data_dir / "snapshots" / "CURRENT").read_text(), run_id, kpis


def warehouse_state(data_dir: Path) -> tuple[set[str], int]:
    """(files in the ingest log, forecast runs), after checking that the raw rows are exactly those of the
    logged files: a file's rows and its log entry commit together."""
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))  # no run holds it now; a WAL is replayed
    try:
        for name in FEEDS:
            logged = con.sql(
                f"select coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
                f"from raw.ingest_log where feed = '{name}'"
            ).fetchall()[0]
            rows = (
                con.sql(f"select count(*) from raw.{name}").fetchall()[0][0],
                con.sql(f"select count(*) from raw.{name}_quarantine").fetchall()[0][0],
            )
            assert rows == logged, f"{name}: raw rows {rows} but the log says {logged}"
        files = {f for (f,) in con.sql("select file from raw.ingest_log").fetchall()}
        runs = con.sql("select count(*) from forecast.runs").fetchall()[0][0]
        return files, runs
    finally:
        con.close()


def assert_left_clean(run, data_dir: Path, before: tuple[str, str, str]) -> None:
    assert run.proc.returncode == -9
    assert run.processes() == {}, "a process of the killed run is still alive"
    # The snapshot readers use is the one published before, whole.
    assert published(data_dir) == before
    # The run lock went with the process: a new run would not wait.
    with (data_dir / ".run.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_UN)


def test_killed_runs_then_two_runs_at_once(world_copy, scm_runs, next_days_reference):
    data = world_copy.data_dir
    warehouse = Path(os.path.realpath(data / "warehouse.duckdb"))
    wal = Path(f"{warehouse}.wal")
    before = published(data)
    logged, forecast_runs = warehouse_state(data)
    drop_next_days(data / "landing", world_copy, days=NEW_DAYS - LAST_DAYS)
    new = {p.relative_to(data / "landing").as_posix() for p in (data / "landing").rglob("*.csv")} - logged
    new_feeds = {f.split("/")[0] for f in new}
    assert len(new_feeds) >= 3, new_feeds

    # (a) While loading.
    run = scm_runs(world_copy.env())
    run.wait_for("the load's first connection to the warehouse", lambda: run.has_open(run.proc.pid, warehouse))
    run.kill()
    assert_left_clean(run, data, before)
    files, runs = warehouse_state(data)
    loaded = files & new
    assert loaded != new, "the kill came after the load had finished"
    # A feed's files commit in batches of ~64 MB; a few days' files are one batch: all of them or none.
    for feed in new_feeds:
        of_feed = {f for f in new if f.startswith(f"{feed}/")}
        assert loaded & of_feed in (set(), of_feed), feed

    # (b) While dbt builds (the load completes first: what (a) left out is loaded now).
    run = scm_runs(world_copy.env())

    def dbt_writing() -> bool:
        builds = [pid for pid, cmd in run.processes().items() if "/dbt build" in cmd]
        return any(run.has_open(pid, warehouse) for pid in builds) and wal.exists() and wal.stat().st_size > 0

    run.wait_for("a dbt build writing the warehouse", dbt_writing)
    run.kill()
    assert_left_clean(run, data, before)
    files, runs = warehouse_state(data)
    assert new <= files and runs == forecast_runs

    # (c) While forecasting.
    run = scm_runs(world_copy.env())
    run.wait_for("the forecast's progress bar", lambda: any("forecast [" in line for line in run.err))
    run.kill()
    assert_left_clean(run, data, before)
    assert warehouse_state(data)[1] == forecast_runs, "the kill came after the forecast was written"

    # Two runs started together, with the last days' files, while a reader queries the snapshot.
    drop_next_days(data / "landing", world_copy, first=NEW_DAYS - LAST_DAYS)
    last = {p.relative_to(data / "landing").as_posix() for p in (data / "landing").rglob("*.csv")} - files
    assert last
    pair = [scm_runs(world_copy.env()), scm_runs(world_copy.env())]
    queries, errors, seen = 0, [], set()
    while any(r.proc.poll() is None for r in pair):
        try:
            seen.add(published(data)[1])
            queries += 1
        except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
            errors.append(repr(exc))
        time.sleep(0.05)
    outputs = [r.output() for r in pair]
    assert [r.wait() for r in pair] == [0, 0], "\n\n".join(o[-3000:] for o in outputs)
    assert [LOCK_ERRORS.findall(o) for o in outputs] == [[], []]
    # One of them found the lock taken and waited for the other.
    assert sorted("waiting for it to finish" in o for o in outputs) == [False, True], outputs
    run_ids = {re.search(r"^run (\S+): succeeded$", o, re.MULTILINE).group(1) for o in outputs}
    assert len(run_ids) == 2

    # Readers never failed, and only ever saw a whole snapshot: the old one or one a run published.
    assert errors == [] and queries > 20
    assert seen <= {before[1], *run_ids}
    assert published(data)[1] in run_ids
    assert len(list((data / "snapshots").glob("*.duckdb"))) <= 2  # the current one and the one before

    # The last files were loaded once, by one of the runs; the other found nothing new.
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        loaded_by = dict(con.sql("select file, load_id from raw.ingest_log").fetchall())
        twice = con.sql("select file from raw.ingest_log group by 1 having count(*) > 1").fetchall()
    finally:
        con.close()
    assert twice == []
    assert len({loaded_by[f] for f in last}) == 1 and loaded_by[next(iter(last))] in run_ids

    # And the marts are those of one clean run of the same files.
    assert_same_marts(published_marts(data), next_days_reference)
