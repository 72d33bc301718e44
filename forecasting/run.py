"""One forecasting run: every series, every model, backtest, selection, as frames."""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.metadata import version

import numpy as np
import polars as pl

from . import metrics
from .backtest import BatchResult, Context
from .config import ForecastConfig
from .executor import run_batches
from .panel import KEYS, arrays, batch_bounds, batches, make_context, series_cost, series_keys
from .selection import groups, select

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
    "rmsse": pl.Float64,
    "lead_time_error": pl.Float64,
}
SELECTION_SCHEMA = {
    "sku": pl.String,
    "warehouse_id": pl.String,
    "model": pl.String,
    "wape": pl.Float64,
    "seasonal_naive_wape": pl.Float64,
    "demand_sd": pl.Float64,
    "demand_class": pl.String,
    "reason": pl.String,
}
BACKTEST_SCHEMA = {
    "sku": pl.String,
    "warehouse_id": pl.String,
    "backtest_cutoff": pl.Date,
    "forecast_date": pl.Date,
    "model": pl.String,
    "yhat": pl.Float64,
    "actual": pl.Float64,
}
LEAD_TIME_ERROR_SCHEMA = {
    "demand_class": pl.String,
    "lead_days": pl.Int64,
    "probability": pl.Float64,
    "relative_error": pl.Float64,
    "level_floor": pl.Float64,
}
# The service levels replenishment may ask the lead-time quantile for (dbt var service_level, rounded).
PROBABILITIES = np.round(np.arange(50, 100) / 100, 2)


@dataclass
class ForecastRun:
    forecasts: pl.DataFrame  # sku, warehouse_id, forecast_date, model, yhat, yhat_lower, yhat_upper, is_selected
    metrics: pl.DataFrame  # sku, warehouse_id, model, wape, bias, mase, n_cutoffs, actual_total, fva,
    #                         error_sd, recent_wape
    selection: pl.DataFrame  # sku, warehouse_id, model, wape, seasonal_naive_wape, demand_sd, demand_class, reason
    params: dict = field(default_factory=dict)  # JSON-able: config, cut-offs, counts, versions, timing
    # The selected model's and seasonal naive's backtest forecasts beside what happened (accuracy marts).
    backtest: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=BACKTEST_SCHEMA))
    # Quantiles of the lead-time demand's relative error per demand class (safety stock).
    lead_time_errors: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=LEAD_TIME_ERROR_SCHEMA))


def run_forecast(
    history: pl.DataFrame, cfg: ForecastConfig, as_of: date, progress: Progress | None = None
) -> ForecastRun:
    """Backtest and forecast every series of `history` (as `demand_history` returns it) for the
    `cfg.horizon` days after `as_of`. `progress(done, total)` is called with series counts as batches
    finish (from this process, never from a worker)."""
    started = time.perf_counter()
    if history.height and history["date"].max() > as_of:  # a filter copies the frame: only when it drops rows
        history = history.filter(pl.col("date") <= as_of)
    keys = series_keys(history, cfg, as_of)
    ctx = make_context(keys, cfg, as_of)
    total = keys.height
    if progress:
        progress(0, total)
    y, price = arrays(history, keys, ctx)
    precomputed = _global_forecasts(y, price, keys, ctx) if "lightgbm" in cfg.models and total else {}
    workers = cfg.effective_workers(float(series_cost(keys).sum()))
    pool_cfg = dataclasses.replace(cfg, workers=workers)
    results: list[BatchResult] = []
    done = 0
    for result in run_batches(batches(keys, ctx, batch_bounds(keys, pool_cfg), y, price, precomputed), ctx, pool_cfg):
        results.append(result)
        done += len(result.index)
        if progress:
            progress(done, total)
    results.sort(key=lambda r: int(r.index[0]) if len(r.index) else 0)

    models = list(cfg.models)
    metrics = _metrics(results, keys)
    choice = _choose(results, keys, cfg)
    chosen_model = np.array(models, dtype=object)[choice.model] if total else np.array([], dtype=object)
    picks = pl.DataFrame(
        {
            "series": np.arange(total, dtype=np.uint32),
            "model": chosen_model.astype(str) if total else [],
            "reason": choice.reason,
        },
        schema={"series": pl.UInt32, "model": pl.String, "reason": pl.String},
    )
    snaive = metrics.filter(pl.col("model") == "seasonal_naive").select(
        *KEYS, pl.col("wape").alias("seasonal_naive_wape")
    )
    selection = (
        keys.select("series", *KEYS, "demand_class")
        .join(picks, on="series")
        .join(metrics.select(*KEYS, "model", "wape"), on=[*KEYS, "model"], how="left")
        .join(snaive, on=KEYS, how="left")
        .join(_demand_sd(results, keys), on=KEYS, how="left")
        .sort(KEYS)
        .select(list(SELECTION_SCHEMA))
        .cast(SELECTION_SCHEMA)
    )
    forecasts = _forecasts(results, keys, as_of, cfg.horizon, selection)
    cutoff_dates = [as_of - timedelta(days=int(ctx.n_days - 1 - o)) for o in ctx.origins]
    backtest, lead_time_errors = _backtest_frames(results, keys, ctx, choice.model, models, cutoff_dates)
    prophet_series = int(keys["fit_prophet"].sum())
    params = {
        "as_of": as_of.isoformat(),
        "config": cfg.to_params(),
        "cutoff_dates": [d.isoformat() for d in cutoff_dates],
        "forecast_start": (as_of + timedelta(days=1)).isoformat(),
        "n_series": total,
        "n_series_prophet": prophet_series,
        "n_series_prophet_skipped": total - prophet_series if "prophet" in cfg.models else total,
        "demand_classes": dict(keys.group_by("demand_class").len().sort("demand_class").iter_rows()),
        "selected_models": dict(selection.group_by("model").len().sort("model").iter_rows()),
        "selected_by": {
            "group": sum(r.startswith("group") for r in choice.reason),
            "series": sum(r.startswith("series") for r in choice.reason),
            "other": sum(not r.startswith(("group", "series")) for r in choice.reason),
        },
        "executor": "dask" if cfg.dask_scheduler else ("process_pool" if workers > 1 else "in_process"),
        "interval_method": "quantiles of backtest residuals relative to the forecast level (intervals.py)",
        "versions": {name: version(name) for name in ("statsforecast", "lightgbm", "prophet", "cmdstanpy", "holidays")}
        | {"python": platform.python_version()},
        "seconds": round(time.perf_counter() - started, 3),
    }
    return ForecastRun(
        forecasts=forecasts,
        metrics=metrics.drop("mae", "is_candidate").cast(METRIC_SCHEMA),
        selection=selection,
        params=params,
        backtest=backtest,
        lead_time_errors=lead_time_errors,
    )


def _global_forecasts(y: np.ndarray, price: np.ndarray, keys: pl.DataFrame, ctx: Context) -> dict[str, np.ndarray]:
    from .global_model import global_forecasts

    start = keys["first"].min()
    first = ((keys["first"] - start).dt.total_days()).to_numpy()
    axis = ctx.days.astype("int64").astype("datetime64[D]")
    category = keys["category"].fill_null("").to_list()
    codes = {c: k for k, c in enumerate(sorted(set(category)))}
    group = np.array([codes[c] for c in category])
    origins = np.append(ctx.origins, ctx.n_days - 1)
    cfg = ctx.cfg
    return {
        "lightgbm": global_forecasts(
            y, price, first, origins, cfg.horizon, axis, keys["country"].to_list(), group, cfg.lightgbm
        )
    }


def _choose(results: list[BatchResult], keys: pl.DataFrame, cfg: ForecastConfig):
    models = list(cfg.models)
    n, m = keys.height, len(models)
    n_cut = results[0].back.shape[2] if results else 0
    by_cutoff = np.full((n, m, n_cut), np.nan)
    mae = np.full((n, m), np.nan)
    candidate = np.zeros((n, m), bool)
    for r in results:
        for k, name in enumerate(r.models):
            s = r.scores[name]
            by_cutoff[r.index, k] = metrics.cutoff_score(s, cfg.lead_time_weight)
            mae[r.index, k] = s.mae
        ran = ~np.isnan(r.yhat[:, :, 0])
        candidate[r.index] = r.candidate & ran
    labels = groups(keys["demand_class"].to_list(), keys["category"].to_list(), cfg.min_group_series)
    return select(by_cutoff, mae, candidate, labels, models, cfg.preference, cfg.fallback_model, cfg.selection_margin)


def _backtest_frames(
    results: list[BatchResult],
    keys: pl.DataFrame,
    ctx: Context,
    chosen: np.ndarray,
    models: list[str],
    cutoff_dates: list[date],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The selected model's and seasonal naive's backtest rows, and the conformal lead-time errors: per
    demand class, lead time L and probability p, the p-quantile over the class's series and cut-offs of
    (actual − forecast) / max(forecast, floor × L), both summed over the first L days after the cut-off,
    where all L days were scored."""
    cfg, h = ctx.cfg, ctx.cfg.horizon
    floor = cfg.interval_level_floor
    snaive = models.index("seasonal_naive")
    classes = keys["demand_class"].to_numpy()
    parts, relative = [], {}
    for r in results:
        if not r.back.shape[2]:
            continue
        rows = np.arange(len(r.index))
        selected = r.back[rows, chosen[r.index]]  # (n, n_cut, h)
        for label, fc in (("selected", selected), ("seasonal_naive", r.back[:, snaive])):
            model = np.array(models, dtype=object)[chosen[r.index]] if label == "selected" else None
            n, c, _ = fc.shape
            parts.append(
                pl.DataFrame(
                    {
                        "series": np.repeat(r.index, c * h).astype(np.uint32),
                        "cutoff": np.tile(np.repeat(np.arange(c), h), n),
                        "step": np.tile(np.arange(1, h + 1), n * c),
                        "model": np.repeat(model, c * h).astype(str) if model is not None else "seasonal_naive",
                        "yhat": fc.ravel(),
                        "actual": r.actual.ravel(),
                    },
                    nan_to_null=True,
                )
            )
        unscored = np.cumsum(np.isnan(selected) | np.isnan(r.actual), axis=2) > 0
        lead = np.arange(1, h + 1)
        f_sum = np.cumsum(np.nan_to_num(selected), axis=2)
        a_sum = np.cumsum(np.nan_to_num(r.actual), axis=2)
        rel = np.where(unscored, np.nan, (a_sum - f_sum) / np.maximum(f_sum, floor * lead))
        for label in np.unique(classes[r.index]):
            relative.setdefault(label, []).append(rel[classes[r.index] == label].reshape(-1, h))
    if parts:
        dates = pl.DataFrame({"cutoff": list(range(len(cutoff_dates))), "backtest_cutoff": cutoff_dates})
        backtest = (
            pl.concat(parts)
            .filter(pl.col("yhat").is_not_null())
            .join(keys.select("series", *KEYS), on="series")
            .join(dates.with_columns(pl.col("cutoff").cast(pl.Int64)), on="cutoff")
            .with_columns((pl.col("backtest_cutoff") + pl.duration(days=pl.col("step"))).alias("forecast_date"))
            .unique([*KEYS, "model", "backtest_cutoff", "forecast_date"], maintain_order=True)
            .sort(*KEYS, "model", "backtest_cutoff", "forecast_date")
            .select(list(BACKTEST_SCHEMA))
            .cast(BACKTEST_SCHEMA)
        )
    else:
        backtest = pl.DataFrame(schema=BACKTEST_SCHEMA)
    quantiles = []
    for label, chunks in sorted(relative.items()):
        rel = np.vstack(chunks)
        enough = np.sum(~np.isnan(rel), axis=0) >= cfg.min_interval_residuals
        if not enough.any():
            continue
        q = np.nanquantile(rel[:, enough], PROBABILITIES, axis=0)  # (n_p, n_lead)
        leads = np.flatnonzero(enough) + 1
        quantiles.append(
            pl.DataFrame(
                {
                    "demand_class": label,
                    "lead_days": np.tile(leads, len(PROBABILITIES)),
                    "probability": np.repeat(PROBABILITIES, len(leads)),
                    "relative_error": q.ravel(),
                    "level_floor": floor,
                }
            )
        )
    errors = (
        pl.concat(quantiles).cast(LEAD_TIME_ERROR_SCHEMA) if quantiles else pl.DataFrame(schema=LEAD_TIME_ERROR_SCHEMA)
    )
    return backtest, errors


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
                        "rmsse": s.rmsse[ran],
                        "lead_time_error": s.lead_time_error[ran],
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
