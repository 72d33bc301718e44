"""Demand forecasting as Dagster assets: the four `forecast/*` tables one forecasting run writes.

The work is `forecasting.read_history` -> `run_forecast` -> `store.write_run`; this module wires it to
Dagster (config, partitions, progress, metadata). Without a partition the run covers every series. The
assets are also partitioned by product category, so that a large catalogue can be forecast in pieces and
one failed piece retried alone; the categories are registered as partitions by every full run, and the
full run records each of them as materialised too (it forecast their series), so that the Dagster UI
shows no partition as missing after it.
"""

import os
from datetime import UTC, datetime

import dagster as dg

from forecasting import MODELS, ForecastConfig, run_forecast, store
from forecasting.inputs import INPUT_TABLES, categories, read_history
from pipelines.progress import reporter
from pipelines.resources import WarehouseResource

category_partitions = dg.DynamicPartitionsDefinition(name="forecast_category")

FORECAST_KEYS = [dg.AssetKey([store.SCHEMA, table]) for table in store.TABLES]


class ForecastSettings(dg.Config):
    """The settings a run may change; the rest are forecasting.ForecastConfig's defaults."""

    horizon: int = 28
    cutoffs: int = 3
    models: list[str] = list(MODELS)
    workers: int = 0  # processes fitting series; 0 = one per core
    # A Dask scheduler to fit on (e.g. tcp://10.0.0.5:8786); empty = $SCM_DASK_SCHEDULER, else local processes.
    dask_scheduler: str = ""

    def to_config(self) -> ForecastConfig:
        defaults = ForecastConfig()
        return ForecastConfig(
            horizon=self.horizon,
            cutoffs=self.cutoffs,
            models=tuple(self.models),
            workers=self.workers or defaults.workers,
            dask_scheduler=self.dask_scheduler or os.environ.get("SCM_DASK_SCHEDULER") or None,
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            description=store.TABLE_DOCS[key.path[-1]],
            kinds={"prophet", "duckdb"},
            deps=[dg.AssetKey(list(table)) for table in INPUT_TABLES],
            group_name="forecast",
        )
        for key in FORECAST_KEYS
    ],
    partitions_def=category_partitions,
    # A run over several categories (a backfill) is one forecasting run, fitted in one process pool.
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=dg.RetryPolicy(max_retries=1, delay=10),
)
def demand_forecast(context: dg.AssetExecutionContext, config: ForecastSettings, warehouse: WarehouseResource):
    partitioned = context.has_partition_key or context.has_partition_key_range  # one category, or a range
    scope = context.partition_keys if partitioned else None
    covered: list[str] = []  # the categories a full run forecast, recorded as partitions once it is written
    with warehouse.get_connection() as con:
        as_of, history = read_history(con, scope)
        if scope is None:
            covered = categories(con)
            _register_categories(context, covered)
    cfg = config.to_config()
    context.log.info(
        f"forecasting from {as_of} ({'all categories' if scope is None else ', '.join(scope)}), "
        f"horizon {cfg.horizon} days, {cfg.cutoffs} backtest cut-offs"
    )
    run = run_forecast(history, cfg, as_of=as_of, progress=reporter("forecast", context.log.info))
    with warehouse.get_connection() as con:
        written = store.write_run(
            con,
            run,
            run_id=context.run.run_id,
            cutoff_date=as_of,
            scope="all" if scope is None else ",".join(scope),
            created_at=datetime.now(UTC).replace(tzinfo=None),
        )
    summary = {
        "cutoff_date": as_of.isoformat(),
        "series": run.params["n_series"],
        "series_with_prophet": run.params["n_series_prophet"],
        "selected_models": dg.MetadataValue.json(run.params["selected_models"]),
        "seconds": run.params["seconds"],
    }
    # Logged before the run's own results: the run summary (pipelines/runner.py) keeps each asset's last
    # event, which is the whole run's.
    for key in FORECAST_KEYS:
        for category in covered:
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=key,
                    partition=category,
                    description="forecast by a run over every category",
                    metadata={"scope": "all", "cutoff_date": summary["cutoff_date"]},
                )
            )
    for key in FORECAST_KEYS:
        yield dg.MaterializeResult(asset_key=key, metadata={"rows": written[key.path[-1]], **summary})


def _register_categories(context: dg.AssetExecutionContext, found: list[str]) -> None:
    known = set(context.instance.get_dynamic_partitions(category_partitions.name))
    new = [c for c in found if c not in known]
    if new:
        context.instance.add_dynamic_partitions(category_partitions.name, new)
