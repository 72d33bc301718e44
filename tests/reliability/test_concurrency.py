"""Two `scm run`s started at the same moment on the same data directory: one waits for the other (the run
lock, pipelines/runlock.py), both succeed, neither meets a DuckDB lock error, the marts are those of one
clean run of the same files, and a reader querying the published snapshot all along never fails."""

from __future__ import annotations

import re
import time

import duckdb
import pytest

from tests.reliability.runs import assert_same_marts, drop_next_days, published_marts

pytestmark = pytest.mark.slow

# How DuckDB words a second writer on a file another process holds.
LOCK_ERRORS = re.compile(r"Could not set lock|Conflicting lock|database is locked|lock on file", re.IGNORECASE)


def published_run_id() -> str:
    from pipelines import snapshot

    with snapshot.connect() as con:
        return snapshot.info(con).run_id


def test_two_runs_at_once_queue_and_end_as_one(world_copy, scm_runs, next_days_reference):
    from pipelines.query import run_query

    data = world_copy.data_dir
    drop_next_days(data / "landing", world_copy)
    before = published_run_id()
    runs = [scm_runs(world_copy.env()), scm_runs(world_copy.env())]

    queries, errors, seen = 0, [], set()
    while any(r.proc.poll() is None for r in runs):
        try:
            run_query("select month, kpi, value from marts.kpi_monthly where kpi = 'otif_rate' order by month")
            seen.add(published_run_id())
            queries += 1
        except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
            errors.append(repr(exc))
        time.sleep(0.05)
    outputs = [r.output() for r in runs]

    assert [r.wait() for r in runs] == [0, 0], "\n\n".join(o[-3000:] for o in outputs)
    assert [LOCK_ERRORS.findall(o) for o in outputs] == [[], []]
    # One of them found the lock taken and waited for the other.
    assert sorted("waiting for it to finish" in o for o in outputs) == [False, True], outputs
    run_ids = {re.search(r"^run (\S+): succeeded$", o, re.MULTILINE).group(1) for o in outputs}
    assert len(run_ids) == 2

    # Readers never failed, and only ever saw a whole snapshot: the old one or one a run published.
    assert errors == [] and queries > 20
    assert seen <= {before, *run_ids}
    assert published_run_id() in run_ids

    # The new files were loaded once, by one of the runs; the other found nothing new.
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        per_run = dict(con.sql("select load_id, count(*) from raw.ingest_log group by 1").fetchall())
        twice = con.sql("select file from raw.ingest_log group by 1 having count(*) > 1").fetchall()
    finally:
        con.close()
    assert twice == []
    assert [per_run.get(r, 0) > 0 for r in sorted(run_ids, key=lambda r: -per_run.get(r, 0))] == [True, False]
    assert_same_marts(published_marts(data), next_days_reference)
