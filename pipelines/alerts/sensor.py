"""The Dagster sensor that sends the digest after each successful run of the jobs that publish a snapshot.

It reacts to runs and starts none. A run that failed published nothing new (pipelines/snapshot.py), so it is
not followed by a digest. Channel failures are logged on the sensor's tick and do not fail it: a failed tick
would be evaluated again for the same run and send the digest a second time to the channels that worked.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from pipelines.alerts.channels import SettingsError, load_settings, send
from pipelines.alerts.digest import read_digest
from pipelines.alerts.targets import TargetsError, load_targets
from pipelines.snapshot import NoSnapshot

SENSOR_NAME = "alerts_after_run"


def build_alerts_sensor(jobs: Sequence[dg.UnresolvedAssetJobDefinition]) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        name=SENSOR_NAME,
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=list(jobs),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After each successful run: the digest of what needs a look (stockouts within the lead "
        "time, late PO lines, KPIs off target, files not loaded) to the channels of alerts.toml "
        "(docs/alerts.md).",
    )
    def alerts_after_run(context: dg.RunStatusSensorContext):
        try:
            settings = load_settings()
            digest = read_digest(load_targets(), settings.limit, warn=context.log.warning)
        except (SettingsError, TargetsError, NoSnapshot) as exc:
            context.log.error(f"alerts not sent: {exc}")
            return
        if digest.run_id != context.dagster_run.run_id:
            context.log.warning(
                f"the snapshot is of run {digest.run_id}, published after run {context.dagster_run.run_id}"
            )
        for outcome in send(digest, settings):
            (context.log.info if outcome.ok else context.log.error)(outcome.line())

    return alerts_after_run
