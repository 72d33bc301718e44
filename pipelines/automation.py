"""What runs the pipeline unattended (under `dagster dev` or the Dagster daemon): a morning schedule for
the whole graph, and a sensor that starts a run when new files land.

The cadence: the forecast runs once a day, on the morning run, where replenishment needs it against the
day's stock (a scale-1 catalogue takes a minute or two). Files that land later in the day trigger the
`refresh` job, which loads them and rebuilds the marts, the planning marts (on the morning's forecast)
and the snapshot, without forecasting again.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import dagster as dg

from pipelines.settings import paths

MORNING_CRON = os.environ.get("SCM_SCHEDULE_CRON", "0 6 * * *")
TIMEZONE = os.environ.get("SCM_TIMEZONE", "UTC")
# A file modified more recently than this may still be being copied in: the sensor waits for it.
SETTLE_SECONDS = 30
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


def landing_fingerprint(landing: Path) -> tuple[str, int, float]:
    """(hash of every file's path, size and mtime, number of files, newest mtime) of the landing folder."""
    digest = hashlib.sha256()
    count, newest = 0, 0.0
    if landing.exists():
        for path in sorted(p for p in landing.rglob("*") if p.is_file()):
            if path.name.startswith(".") or path.name.endswith(IGNORED_SUFFIXES):
                continue
            stat = path.stat()
            digest.update(f"{path.relative_to(landing)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            count += 1
            newest = max(newest, stat.st_mtime)
    return digest.hexdigest(), count, newest


def evaluate_landing(landing: Path, cursor: str | None, now: float) -> dg.RunRequest | dg.SkipReason:
    """A run request when the landing folder changed since `cursor` and has settled; else why not."""
    fingerprint, count, newest = landing_fingerprint(landing)
    if count == 0:
        return dg.SkipReason(f"no files in {landing}")
    if fingerprint == cursor:
        return dg.SkipReason("no new files")
    if now - newest < SETTLE_SECONDS:
        return dg.SkipReason(f"files still arriving (newest changed {now - newest:.0f} s ago)")
    # run_key = the folder's state: the same state never starts a second run.
    return dg.RunRequest(run_key=fingerprint, tags={"scm/trigger": "new_files"})


def build_automation(everything: dg.UnresolvedAssetJobDefinition, refresh: dg.UnresolvedAssetJobDefinition
                     ) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    morning = dg.ScheduleDefinition(
        name="morning_run", job=everything, cron_schedule=MORNING_CRON, execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The whole graph every morning: new files, marts, forecast, replenishment, snapshot.",
    )

    @dg.sensor(name="new_files", job=refresh, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Loads files as they land and rebuilds what they change (no new forecast).")
    def new_files(context: dg.SensorEvaluationContext):
        result = evaluate_landing(paths().landing, context.cursor, time.time())
        if isinstance(result, dg.RunRequest):
            context.update_cursor(result.run_key)
        return result

    return [morning], [new_files]
