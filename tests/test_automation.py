"""Unattended operation: the new-files sensor, the morning schedules, and the one-writer run lock."""

from __future__ import annotations

import os
import threading
import time

import dagster as dg
import duckdb

from forecasting import store
from pipelines.automation import evaluate_landing
from pipelines.feeds.landing import settle_seconds
from pipelines.runlock import run_lock
from pipelines.settings import Paths


def _drop(landing, name: str, text: str = "sku\nA\n", age: float = 120.0) -> None:
    path = landing / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    old = time.time() - age
    os.utime(path, (old, old))


def test_sensor_requests_one_run_per_new_state_of_the_landing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_SETTLE_SECONDS", "30")  # the suite runs with 0 (tests/conftest.py)
    landing = tmp_path / "landing"
    assert isinstance(evaluate_landing(landing, None, time.time()), dg.SkipReason)
    _drop(landing, "products/p1.csv")
    first = evaluate_landing(landing, None, time.time())
    assert isinstance(first, dg.RunRequest)
    again = evaluate_landing(landing, first.run_key, time.time())
    assert isinstance(again, dg.SkipReason) and "no new files" in again.skip_message
    _drop(landing, "orders/o1.csv.partial")  # a copy in progress is not a new file
    assert isinstance(evaluate_landing(landing, first.run_key, time.time()), dg.SkipReason)
    _drop(landing, "orders/o1.csv", age=0)  # just written: wait for it to settle
    settling = evaluate_landing(landing, first.run_key, time.time())
    assert isinstance(settling, dg.SkipReason) and "still arriving" in settling.skip_message
    later = evaluate_landing(landing, first.run_key, time.time() + settle_seconds() + 1)
    assert isinstance(later, dg.RunRequest) and later.run_key != first.run_key


def test_the_sensor_and_schedule_are_defined_and_on(tmp_path, monkeypatch):
    from pipelines.definitions import defs

    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    _drop(tmp_path / "landing", "orders/o1.csv")
    sensor = defs.resolve_sensor_def("new_files")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.build_sensor_context(cursor=None) as context:
        requests = sensor.evaluate_tick(context).run_requests
    assert [r.job_name for r in requests] == ["everything"]  # no forecast yet: the first run makes one
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        store.ensure_tables(con)
        con.execute("insert into forecast.runs (run_id) values ('r1')")
    _drop(tmp_path / "landing", "orders/o2.csv")
    with dg.build_sensor_context(cursor=requests[0].run_key) as context:
        requests = sensor.evaluate_tick(context).run_requests
    assert [r.job_name for r in requests] == ["refresh"]  # new files later: load and rebuild, no refit

    weekly, daily = defs.resolve_schedule_def("weekly_forecast_run"), defs.resolve_schedule_def("morning_refresh")
    assert (weekly.job_name, daily.job_name) == ("everything", "refresh")
    assert weekly.cron_schedule == "0 6 * * 1" and daily.cron_schedule == "0 6 * * 0,2,3,4,5,6"
    assert weekly.default_status == daily.default_status == dg.DefaultScheduleStatus.RUNNING
    refresh = defs.resolve_job_def("refresh")
    assert "demand_forecast" not in refresh.graph.node_names() and "serve__snapshot" in refresh.graph.node_names()


def test_a_second_run_waits_for_the_first(tmp_path):
    events: list[str] = []
    lock = Paths(tmp_path).run_lock

    def second() -> None:
        with run_lock(lock, on_wait=events.append):
            events.append("second runs")

    with run_lock(lock):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        events.append("first ends")
    thread.join(timeout=10)
    assert events[0].startswith("another run is writing") and f"pid {os.getpid()}" in events[0]
    assert events[1:] == ["first ends", "second runs"]


def test_the_sensor_starts_nothing_for_files_a_run_already_loaded(built_world, tmp_path):
    """`scm run` loaded the landing folder: opening the UI (a sensor with no cursor yet) must not start a run."""
    from pipelines.automation import ALL_LOADED, unloaded_entries

    data = built_world.data_dir
    warehouse, landing = data / "warehouse.duckdb", data / "landing"
    assert unloaded_entries(warehouse, landing) == 0
    later = time.time() + settle_seconds() + 1
    skip = evaluate_landing(landing, None, later, unloaded=lambda: unloaded_entries(warehouse, landing))
    assert isinstance(skip, dg.SkipReason) and skip.skip_message == ALL_LOADED
    # A file no run has seen, beside what was loaded, is new; the warehouse says which.
    other = tmp_path / "landing"
    _drop(other, "orders/late-export.csv", "order_id\nX\n")
    assert unloaded_entries(warehouse, other) == 1
    run = evaluate_landing(other, None, later, unloaded=lambda: unloaded_entries(warehouse, other))
    assert isinstance(run, dg.RunRequest)
    # Before any run, every file is new; while a run holds the warehouse nothing is asked of it.
    assert unloaded_entries(tmp_path / "none.duckdb", other) == 1
    busy = evaluate_landing(other, None, later, unloaded=lambda: None)
    assert isinstance(busy, dg.SkipReason) and "a run is writing" in busy.skip_message
