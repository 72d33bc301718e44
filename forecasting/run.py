"""One forecasting run: every series, every model, backtest, selection, as frames."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.metadata import version

import numpy as np
import polars as pl

from .backtest import BatchResult
from .config import ForecastConfig
from .executor import run_batches
from .panel import KEYS, batch_bounds, batches, make_context, series_keys
from .selection import select_models

Progress = Callable[[int, int], None]

FORECAST_SCHEMA = {
    "sku": pl.String,
    "warehouse_id": pl.String,
    "forecast_date": pl.Date,
    "model": pl.String,
    "yhat": pl.Float64,
    "yhat_lower": pl.Float64,
    "yhat_upper": pl.Float64,
    "is_selected": pl.Boolean,
}
METRIC_SCHEMA = {
    "sku": pl.String,
    "warehouse_id": pl.String,
    "model": pl.String,
    "wape": pl.Float64,
    "bias": pl.Float64,
    "mase": pl.Float64,
    "n_cutoffs": pl.Int64,
    "actual_total": pl.Float64,
    "fva": pl.Float64,
    "error_sd": pl.Float64,
    "recent_wape": pl.Float64,
}
SELECTION_SCHEMA = {
    "sku": pl.String,
    "warehouse_id": pl.String,
    "model": pl.String,
    "wape": pl.Float64,
    "seasonal_naive_wape": pl.Float64,
    "demand_sd": pl.Float64,
}


@dataclass
class ForecastRun:
    forecasts: pl.DataFrame  # sku, warehouse_id, forecast_date, model, yhat, yhat_lower, yhat_upper, is_selected
    metrics: pl.DataFrame  # sku, warehouse_id, model, wape, bias, mase, n_cutoffs, actual_total, fva,
    #                         error_sd, recent_wape
    selection: pl.DataFrame  # sku, warehouse_id, model, wape, seasonal_naive_wape, demand_sd
    params: dict = field(default_factory=dict)  # JSON-able: config, cut-offs, counts, versions, timing


def run_forecast(
    history: pl.DataFrame, cfg: ForecastConfig, as_of: date, progress: Progress | None = None
) -> ForecastRun:
    """Backtest and forecast every series of `history` (as `demand_history` returns it) for the
    `cfg.horizon` days after `as_of`. `progress(done, total)` is called with series counts as batches
    finish (from this process, never from a worker)."""
    started = time.perf_counter()
    history = history.filter(pl.col("date") <= as_of)
    keys = series_keys(history, cfg, as_of)
    ctx = make_context(keys, cfg, as_of)
    total = keys.height
    if progress:
        progress(0, total)
    results: list[BatchResult] = []
    done = 0
    for result in run_batches(batches(history, keys, ctx, batch_bounds(keys, cfg)), ctx, cfg):
        results.append(result)
        done += len(result.index)
        if progress:
            progress(done, total)

    metrics = _metrics(results, keys)
    selection = (
        select_models(metrics, keys, cfg.preference, cfg.fallback_model, cfg.selection_tolerance)
        .join(_demand_sd(results, keys), on=KEYS, how="left")
        .cast(SELECTION_SCHEMA)
    )
    forecasts = _forecasts(results, keys, as_of, cfg.horizon, selection)
    cutoff_dates = [as_of - timedelta(days=int(ctx.n_days - 1 - o)) for o in ctx.origins]
    prophet_series = int(keys["fit_prophet"].sum())
    params = {
        "as_of": as_of.isoformat(),
        "config": cfg.to_params(),
        "cutoff_dates": [d.isoformat() for d in cutoff_dates],
        "forecast_start": (as_of + timedelta(days=1)).isoformat(),
        "n_series": total,
        "n_series_prophet": prophet_series,
        "n_series_prophet_skipped": total - prophet_series if "prophet" in cfg.models else total,
        "selected_models": dict(selection.group_by("model").len().sort("model").iter_rows()),
        "executor": "dask" if cfg.dask_scheduler else ("process_pool" if cfg.workers > 1 else "in_process"),
        "interval_method": "quantiles of backtest residuals relative to the forecast level (intervals.py)",
        "versions": {
            "prophet": version("prophet"),
            "cmdstanpy": version("cmdstanpy"),
            "holidays": version("holidays"),
            "python": platform.python_version(),
        },
        "seconds": round(time.perf_counter() - started, 3),
    }
    return ForecastRun(
        forecasts=forecasts,
        metrics=metrics.drop("mae", "is_candidate").cast(METRIC_SCHEMA),
        selection=selection,
        params=params,
    )


def _metrics(results: list[BatchResult], keys: pl.DataFrame) -> pl.DataFrame:
    parts = []
    for r in results:
        for name, s in r.scores.items():
            ran = ~np.isnan(r.yhat[:, r.models.index(name), 0])
            parts.append(
                pl.DataFrame(
                    {
                        "series": r.index[ran].astype(np.uint32),
                        "model": name,
                        "wape": s.wape[ran],
                        "bias": s.bias[ran],
                        "mase": s.mase[ran],
                        "n_cutoffs": s.n_cutoffs[ran].astype(np.int64),
                        "actual_total": s.actual_total[ran],
                        "mae": s.mae[ran],
                        "error_sd": s.error_sd[ran],
                        "recent_wape": s.recent_wape[ran],
                        "is_candidate": r.candidate[ran, r.models.index(name)],
                    },
                    nan_to_null=True,
                )
            )
    if not parts:
        return pl.DataFrame(schema={**METRIC_SCHEMA, "mae": pl.Float64, "is_candidate": pl.Boolean})
    out = pl.concat(parts).join(keys.select("series", *KEYS), on="series")
    snaive = out.filter(pl.col("model") == "seasonal_naive").select("series", pl.col("wape").alias("_sn"))
    return (
        out.join(snaive, on="series", how="left")
        .with_columns((pl.col("_sn") - pl.col("wape")).alias("fva"))
        .sort(*KEYS, "model")
        .select(*METRIC_SCHEMA, "mae", "is_candidate")
    )


def _demand_sd(results: list[BatchResult], keys: pl.DataFrame) -> pl.DataFrame:
    """sku, warehouse_id, demand_sd: what safety stock uses where a series has no backtest errors."""
    frame = pl.DataFrame(
        {
            "series": np.concatenate([r.index for r in results]).astype(np.uint32) if results else [],
            "demand_sd": np.concatenate([r.demand_sd for r in results]) if results else [],
        },
        schema={"series": pl.UInt32, "demand_sd": pl.Float64},
    )
    return frame.join(keys.select("series", *KEYS), on="series").drop("series")


def _forecasts(
    results: list[BatchResult], keys: pl.DataFrame, as_of: date, horizon: int, selection: pl.DataFrame
) -> pl.DataFrame:
    parts = []
    for r in results:
        n, m, h = r.yhat.shape
        parts.append(
            pl.DataFrame(
                {
                    "series": np.repeat(r.index, m * h).astype(np.uint32),
                    "model": np.tile(np.repeat(np.array(r.models), h), n),
                    "step": np.tile(np.arange(1, h + 1), n * m),
                    "yhat": r.yhat.ravel(),
                    "yhat_lower": r.lower.ravel(),
                    "yhat_upper": r.upper.ravel(),
                },
                nan_to_null=True,
            )
        )
    if not parts:
        return pl.DataFrame(schema=FORECAST_SCHEMA)
    chosen = selection.select(*KEYS, "model", pl.lit(True).alias("is_selected"))
    return (
        pl.concat(parts)
        .filter(pl.col("yhat").is_not_null())  # models that did not run for a series (Prophet skipped)
        .join(keys.select("series", *KEYS), on="series")
        .with_columns((pl.lit(as_of) + pl.duration(days=pl.col("step"))).alias("forecast_date"))
        .join(chosen, on=[*KEYS, "model"], how="left")
        .with_columns(pl.col("is_selected").fill_null(False))
        .sort(*KEYS, "model", "forecast_date")
        .select(list(FORECAST_SCHEMA))
        .cast(FORECAST_SCHEMA)
    )
