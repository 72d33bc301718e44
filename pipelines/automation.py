"""What runs the pipeline unattended (under `dagster dev` or the Dagster daemon): morning schedules and a
sensor that starts a run when new files land.

The cadence: the forecast is refitted once a week, on Monday morning's `everything` run; every other
morning, and whenever new files land, the `refresh` job loads what is new and rebuilds the marts, the
planning marts and the snapshot on the latest forecast. Why weekly: refitting every series is most of a
full run's time (1.5 minutes for the 3,937 series of the scale-1 demo catalogue, ten times that at
scale 10) and does not shrink with the size of the day's increment, while a week of new days barely
moves a model fitted on two years. Replenishment reads the forecast's days after the current as-of
date, so a forecast up to six days old still covers 22 of its 28 days. Where no forecast exists yet,
the sensor runs `everything` instead, so a new install forecasts on its first files. `scm run` always
runs everything.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.feeds.landing import TEMPORARY_SUFFIXES, settle_seconds
from pipelines.settings import paths

MORNING_HOUR = int(os.environ.get("SCM_MORNING_HOUR", "6"))
TIMEZONE = os.environ.get("SCM_TIMEZONE", "UTC")
FORECAST_DAY = 1  # cron day of week: Monday
ALL_LOADED = "no new files since the last run: every file is in the warehouse's ingest log"


def landing_fingerprint(landing: Path) -> tuple[str, int, float]:
    """(hash of every file's identity, number of files, newest mtime) of the landing folder. The identity is
    the loader's (pipelines/feeds/landing.py): a file replaced under the same size and mtime changes it."""
    digest = hashlib.sha256()
    count, newest = 0, 0.0
    if landing.exists():
        for path in sorted(p for p in landing.rglob("*") if p.is_file()):
            if path.name.startswith(".") or path.name.endswith(TEMPORARY_SUFFIXES):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed while the folder was listed
                continue
            identity = (path.relative_to(landing), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
            digest.update("\0".join(map(str, identity)).encode() + b"\n")
            count += 1
            newest = max(newest, stat.st_mtime)
    return digest.hexdigest(), count, newest


def evaluate_landing(
    landing: Path,
    cursor: str | None,
    now: float,
    job_name: str = "refresh",
    unloaded: Callable[[], int | None] | None = None,
) -> dg.RunRequest | dg.SkipReason:
    """A run request for `job_name` when the landing folder changed since `cursor`, has settled, and holds an
    entry no run has loaded yet (`unloaded()`, asked only then: the warehouse's ingest log, see `unloaded_entries`;
    None while a run holds the warehouse); else why not."""
    fingerprint, count, newest = landing_fingerprint(landing)
    if count == 0:
        return dg.SkipReason(f"no files in {landing}")
    if fingerprint == cursor:
        return dg.SkipReason("no new files")
    pending = unloaded() if unloaded is not None else 1
    if pending is None:
        return dg.SkipReason("a run is writing the warehouse: the files it does not load wait for a later tick")
    if pending == 0:
        # Loaded by a run the sensor did not start (`scm run`, a schedule): starting the UI starts nothing.
        return dg.SkipReason(ALL_LOADED)
    if now - newest < settle_seconds():
        # A file modified more recently than this may still be being copied in: wait for it.
        return dg.SkipReason(f"files still arriving (newest changed {now - newest:.0f} s ago)")
    # run_key = the folder's state: the same state never starts a second run.
    return dg.RunRequest(run_key=fingerprint, job_name=job_name, tags={"scm/trigger": "new_files"})


def unloaded_entries(warehouse: Path, landing: Path) -> int | None:
    """How many entries of the landing folder's feed folders no run has logged as they are now (what the next
    load reads: ingest.new_entries); None while a run holds the warehouse for writing."""
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.ingest import new_entries
    from pipelines.feeds.landing import scan
    from pipelines.feeds.raw_tables import INGEST_LOG

    if not warehouse.exists():
        return sum(len(scan(landing, name)) for name in FEEDS)
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            schema, table = INGEST_LOG.split(".")
            logged = con.execute(
                "select 1 from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
            ).fetchall()
            if not logged:
                return sum(len(scan(landing, name)) for name in FEEDS)
            return sum(len(new_entries(con, feed, landing)) for feed in FEEDS.values())
    except duckdb.IOException:
        return None


def has_forecast(warehouse: Path) -> bool:
    """Whether any forecasting run has been written (read-only look at the warehouse; False if busy)."""
    if not warehouse.exists():
        return False
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return bool(
                con.sql(
                    "select 1 from information_schema.tables where table_schema = 'forecast' and table_name = 'runs'"
                ).fetchall()
            ) and bool(con.sql("select 1 from forecast.runs limit 1").fetchall())
    except duckdb.IOException:  # a run holds it for writing: that run forecasts or already has one
        return True


def build_automation(
    everything: dg.UnresolvedAssetJobDefinition, refresh: dg.UnresolvedAssetJobDefinition
) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    other_days = ",".join(str(d) for d in range(7) if d != FORECAST_DAY)
    weekly = dg.ScheduleDefinition(
        name="weekly_forecast_run",
        job=everything,
        cron_schedule=f"0 {MORNING_HOUR} * * {FORECAST_DAY}",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Monday morning: the whole graph, the forecast refitted for every series.",
    )
    daily = dg.ScheduleDefinition(
        name="morning_refresh",
        job=refresh,
        cron_schedule=f"0 {MORNING_HOUR} * * {other_days}",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Other mornings: new files, marts, replenishment on the latest forecast, snapshot.",
    )

    @dg.sensor(
        name="new_files",
        jobs=[refresh, everything],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Loads files as they land and rebuilds what they change (everything, forecast "
        "included, while no forecast exists yet).",
    )
    def new_files(context: dg.SensorEvaluationContext):
        where = paths()
        job = refresh.name if has_forecast(where.warehouse) else everything.name
        result = evaluate_landing(
            where.landing,
            context.cursor,
            time.time(),
            job_name=job,
            unloaded=lambda: unloaded_entries(where.warehouse, where.landing),
        )
        if isinstance(result, dg.RunRequest):
            context.update_cursor(result.run_key)
        elif result.skip_message == ALL_LOADED:
            context.update_cursor(landing_fingerprint(where.landing)[0])  # this state needs no second look
        return result

    return [weekly, daily], [new_files]
