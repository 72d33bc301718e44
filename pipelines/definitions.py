"""The one Dagster code location: every asset, check, job, schedule and sensor of the project."""

import dagster as dg

from pipelines.assets.dbt import dbt_resource, planning_models, warehouse_models
from pipelines.assets.forecast import demand_forecast
from pipelines.assets.ingest import ingest_assets
from pipelines.checks import contract_checks
from pipelines.resources import default_resources

# DuckDB takes one writer process: steps run one after another in the run's own process.
everything_job = dg.define_asset_job(
    "everything", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor
)

defs = dg.Definitions(
    assets=[*ingest_assets, warehouse_models, demand_forecast, planning_models],
    asset_checks=[*contract_checks],
    jobs=[everything_job],
    resources={**default_resources(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,
)
