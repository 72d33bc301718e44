"""The one Dagster code location: every asset, check, job, schedule and sensor of the project."""

import dagster as dg

from pipelines.alerts.sensor import build_alerts_sensor
from pipelines.assets.dbt import dbt_resource, planning_models, warehouse_models
from pipelines.assets.forecast import demand_forecast
from pipelines.assets.ingest import ingest_assets
from pipelines.assets.snapshot import published_snapshot
from pipelines.automation import build_automation
from pipelines.checks import contract_checks, freshness_checks, misnamed_checks, outlier_checks
from pipelines.resources import default_resources

# DuckDB takes one writer process: steps run one after another in the run's own process.
everything_job = dg.define_asset_job(
    "everything", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor
)

# The forecast and what reads it, on their own: a category's forecast re-run (a partition), or a forecast
# on another cadence than the loads.
forecast_job = dg.define_asset_job(
    "forecast",
    selection=dg.AssetSelection.assets(demand_forecast, planning_models, published_snapshot),
    executor_def=dg.in_process_executor,
)

# What the new-files sensor runs: everything but the forecast (pipelines/automation.py says why).
refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(demand_forecast),
    executor_def=dg.in_process_executor,
)

schedules, sensors = build_automation(everything_job, refresh_job)

# Every job ends with the snapshot: the digest of what needs a look follows each successful run.
alerts_sensor = build_alerts_sensor([everything_job, refresh_job, forecast_job])

defs = dg.Definitions(
    assets=[*ingest_assets, warehouse_models, demand_forecast, planning_models, published_snapshot],
    asset_checks=[*contract_checks, *freshness_checks, *outlier_checks, *misnamed_checks],
    jobs=[everything_job, forecast_job, refresh_job],
    schedules=schedules,
    sensors=[*sensors, alerts_sensor],
    resources={**default_resources(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,
)
