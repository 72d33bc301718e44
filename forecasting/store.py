"""The `forecast` schema of the warehouse: every forecasting run written back, history kept per run.

    forecast.runs             one row per run: run_id, cut-off date, scope, when, how long, params (JSON)
    forecast.forecasts        run_id, cutoff_date, sku, warehouse_id, forecast_date, model, yhat, yhat_lower,
                              yhat_upper, is_selected: every model's daily forecast for the horizon
    forecast.backtest_metrics run_id, cutoff_date, sku, warehouse_id, model, wape, bias, mase, ... per model
    forecast.model_selection  run_id, cutoff_date, sku, warehouse_id, model (the selected one), its wape,
                              demand_class, reason, ...
    forecast.backtest_forecasts  run_id, cutoff_date, sku, warehouse_id, backtest_cutoff, forecast_date, model,
                              yhat, actual: the selected model's and seasonal naive's backtest forecasts, the
                              rows dbt's accuracy marts aggregate to the levels people decide on
    forecast.lead_time_errors run_id, cutoff_date, demand_class, lead_days, probability, relative_error,
                              level_floor: quantiles of the backtest's relative error of the lead-time sum,
                              per demand class (replenishment's safety stock)

A run covers every series or, when Dagster runs one partition, the series of some categories (`scope`);
dbt's marts take each series from the latest run that covered it. Writing a run_id again (a retried step)
replaces that run's rows: one transaction, so readers see all of a run or none of it.

Columns added to a table after warehouses were first created are added to an existing table by
`ensure_tables` (null in the rows of older runs). A run that does not carry a newer frame or column
(`backtest`, `lead_time_errors`; the selection's `demand_class`, ...) writes it empty or null, so
that a run of older forecasting code still writes.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import polars as pl

from .run import (
    BACKTEST_SCHEMA,
    FORECAST_SCHEMA,
    LEAD_TIME_ERROR_SCHEMA,
    METRIC_SCHEMA,
    SELECTION_SCHEMA,
    ForecastRun,
)

SCHEMA = "forecast"
RUN_KEYS = {"run_id": pl.String, "cutoff_date": pl.Date}
RUNS_SCHEMA = {
    **RUN_KEYS,
    "scope": pl.String,
    "created_at": pl.Datetime("us"),
    "n_series": pl.Int64,
    "seconds": pl.Float64,
    "params": pl.String,
}
# Columns of the run's frames that came after the first warehouses: ensure_tables adds them to an older
# warehouse's tables, and a frame without them (from older forecasting code) writes nulls.
ADDED_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "backtest_metrics": {"rmsse": pl.Float64, "lead_time_error": pl.Float64},
    "model_selection": {"demand_class": pl.String, "reason": pl.String},
}
# ForecastRun attribute -> table, for the frames a run of older forecasting code does not carry.
OPTIONAL_FRAMES = {"backtest": "backtest_forecasts", "lead_time_errors": "lead_time_errors"}
TABLES: dict[str, dict[str, pl.DataType]] = {
    "runs": RUNS_SCHEMA,
    "forecasts": {**RUN_KEYS, **FORECAST_SCHEMA},
    "backtest_metrics": {**RUN_KEYS, **METRIC_SCHEMA, **ADDED_COLUMNS["backtest_metrics"]},
    "model_selection": {**RUN_KEYS, **SELECTION_SCHEMA, **ADDED_COLUMNS["model_selection"]},
    "backtest_forecasts": {**RUN_KEYS, **BACKTEST_SCHEMA},
    "lead_time_errors": {**RUN_KEYS, **LEAD_TIME_ERROR_SCHEMA},
}
TABLE_DOCS = {
    "runs": "One row per forecasting run.",
    "forecasts": "Every model's daily forecast and 80% interval for the horizon after the run's cut-off date.",
    "backtest_metrics": "Rolling-origin backtest accuracy per series and model (docs/kpi-definitions.md, Plan).",
    "model_selection": "The model each series' backtest selected, one row per series and run.",
    "backtest_forecasts": "The selected model's and seasonal naive's daily forecasts at every backtest cut-off, "
    "with what was ordered: the rows of the accuracy marts.",
    "lead_time_errors": "Per demand class, quantiles of the backtest's relative error of the demand summed over "
    "the first lead_days forecast days: replenishment's safety stock (docs/forecasting.md).",
}
COLUMN_DOCS = {
    "run_id": "The forecasting run (the Dagster run that wrote it).",
    "cutoff_date": "The as-of date the run forecast from: the last day of history; forecasts start the day after.",
    "scope": "Which series the run covered: `all`, or the product categories of a partitioned run.",
    "created_at": "When the run was written (UTC).",
    "n_series": "Series (sku and warehouse) the run forecast.",
    "seconds": "Wall time of the run's forecasting.",
    "params": "The run's settings, backtest cut-offs, counts and library versions, as JSON.",
    "sku": "Product.",
    "warehouse_id": "Warehouse the demand ships from.",
    "forecast_date": "Day forecast.",
    "model": "The model: one of forecasting.config.MODELS (seasonal_naive, moving_average, tsb, ...).",
    "yhat": "Point forecast of units ordered that day.",
    "yhat_lower": "Lower bound of the 80% interval (backtest residual quantiles; never below 0).",
    "yhat_upper": "Upper bound of the 80% interval.",
    "is_selected": "The model the series' backtest selected.",
    "wape": "Backtest WAPE: sum |actual - forecast| / sum actual (null when the backtest saw no demand).",
    "bias": "Backtest bias: sum (forecast - actual) / sum actual.",
    "mase": "Backtest MASE against the seasonal-naive scale of the training history.",
    "n_cutoffs": "Backtest cut-offs with at least one scored day.",
    "actual_total": "Units actually ordered over the scored backtest days.",
    "fva": "Forecast value added: seasonal naive's WAPE minus this model's.",
    "error_sd": "Sample standard deviation of the daily backtest error (forecast - actual): safety stock's sigma_d.",
    "recent_wape": "WAPE over the last backtest cut-off alone.",
    "seasonal_naive_wape": "Backtest WAPE of seasonal naive for the series (the FVA reference).",
    "demand_sd": "Sample standard deviation of the observed daily demand over the last 90 days "
    "(safety stock's sigma_d where the backtest has no errors).",
    "rmsse": "Backtest RMSSE (M5): sqrt(mean squared error / mean (y_t - y_(t-1))^2 of the training history), "
    "each day scaled by its own cut-off's history (forecasting/metrics.py).",
    "lead_time_error": "Backtest error of the horizon's total: |sum (forecast - actual)| / (n x sqrt(RMSSE's "
    "scale)) over a cut-off's n scored days, the mean over cut-offs (forecasting/metrics.py).",
    "demand_class": "The series' selection group: smooth, erratic, intermittent or lumpy (null in older runs).",
    "reason": "Why the series got its model (null in older runs).",
    "backtest_cutoff": "The backtest cut-off the forecast was made at: the last day of history it saw.",
    "actual": "Units ordered that day; null where the day was censored (out of stock) and not scored.",
    "lead_days": "Forecast days summed: 1 .. lead_days after the cut-off.",
    "probability": "The quantile's probability (a cycle service level, 0.50 .. 0.99).",
    "relative_error": "That quantile of (actual sum - forecast sum) / max(forecast sum, level_floor x lead_days) "
    "over the class's series and backtest cut-offs.",
    "level_floor": "Units a day below which the forecast level does not shrink the error's denominator.",
}
_SQL_TYPES = {
    pl.String: "varchar",
    pl.Date: "date",
    pl.Datetime("us"): "timestamp",
    pl.Int64: "bigint",
    pl.Float64: "double",
    pl.Boolean: "boolean",
}


def sql_type(dtype: pl.DataType) -> str:
    return _SQL_TYPES[dtype]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schema's tables, and add the columns an older warehouse's tables lack."""
    con.execute(f"create schema if not exists {SCHEMA}")
    for table, schema in TABLES.items():
        columns = ", ".join(f"{name} {sql_type(dtype)}" for name, dtype in schema.items())
        con.execute(f"create table if not exists {SCHEMA}.{table} ({columns})")
        for name, dtype in ADDED_COLUMNS.get(table, {}).items():
            con.execute(f"alter table {SCHEMA}.{table} add column if not exists {name} {sql_type(dtype)}")


def _with_added_columns(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    missing = {name: dtype for name, dtype in ADDED_COLUMNS.get(table, {}).items() if name not in frame.columns}
    return frame.with_columns(pl.lit(None, dtype).alias(name) for name, dtype in missing.items())


def _optional_frame(run: ForecastRun, attribute: str) -> pl.DataFrame:
    frame = getattr(run, attribute, None)
    if frame is None:
        schema = TABLES[OPTIONAL_FRAMES[attribute]]
        return pl.DataFrame(schema={k: v for k, v in schema.items() if k not in RUN_KEYS})
    return frame


def write_run(
    con: duckdb.DuckDBPyConnection, run: ForecastRun, run_id: str, cutoff_date: date, scope: str, created_at: datetime
) -> dict[str, int]:
    """Write one run (replacing any rows of the same run_id); returns rows written per table."""
    keys = {"run_id": pl.lit(run_id), "cutoff_date": pl.lit(cutoff_date)}
    frames = {
        "runs": pl.DataFrame(
            [
                {
                    "run_id": run_id,
                    "cutoff_date": cutoff_date,
                    "scope": scope,
                    "created_at": created_at,
                    "n_series": run.selection.height,
                    "seconds": run.params.get("seconds"),
                    "params": json.dumps(run.params, sort_keys=True),
                }
            ]
        ),
        "forecasts": run.forecasts.with_columns(**keys),
        "backtest_metrics": _with_added_columns(run.metrics, "backtest_metrics").with_columns(**keys),
        "model_selection": _with_added_columns(run.selection, "model_selection").with_columns(**keys),
        **{table: _optional_frame(run, attr).with_columns(**keys) for attr, table in OPTIONAL_FRAMES.items()},
    }
    ensure_tables(con)
    written = {}
    con.begin()
    try:
        for table, frame in frames.items():
            frame = frame.select(list(TABLES[table])).cast(TABLES[table])
            con.execute(f"delete from {SCHEMA}.{table} where run_id = ?", [run_id])
            con.register("_forecast_frame", frame)
            con.execute(f"insert into {SCHEMA}.{table} by name select * from _forecast_frame")
            con.unregister("_forecast_frame")
            written[table] = frame.height
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return written
