"""From the long history frame to the dense arrays the models work on, one batch of series at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import polars as pl

from .backtest import Batch, Context
from .calendar import holiday_matrix, holiday_table, retail_event_days
from .config import ForecastConfig

KEYS = ["sku", "warehouse_id"]


def series_keys(history: pl.DataFrame, cfg: ForecastConfig, as_of: date) -> pl.DataFrame:
    """One row per series with what decides its work, numbered in the order the batches take them.

    Over the last `demand_share_days`: share = days with demand / observed days (1 / average demand
    interval, ADI), cv2 = the squared coefficient of variation of the demand sizes (days with demand).
    demand_class is Syntetos-Boylan's: smooth, erratic (cv2 above erratic_cv2), intermittent (ADI above
    intermittent_adi), lumpy (both). Prophet is fitted where share >= prophet_min_nonzero_share (and
    prophet_min_days observed days). Series to fit Prophet for come first, so that the expensive batches
    start first and the cheap ones fill the pool at the end. category is the history's `category` where it
    has one (selection groups by it), else null.
    """
    recent = pl.col("date") > as_of - timedelta(days=cfg.demand_share_days)
    seen = pl.col("y").is_not_null()
    share = (((pl.col("y") > 0) & recent).sum() / (seen & recent).sum()).fill_nan(0.0).fill_null(0.0)
    sizes = pl.col("y").filter((pl.col("y") > 0) & recent)
    cv2 = (sizes.var(ddof=0) / sizes.mean().pow(2)).fill_nan(0.0).fill_null(0.0)
    prophet = "prophet" in cfg.models
    category = pl.col("category").drop_nulls().first() if "category" in history.columns else pl.lit(None, pl.String)
    intermittent = pl.col("share") * cfg.intermittent_adi < 1
    erratic = pl.col("cv2") > cfg.erratic_cv2
    return (
        history.group_by(KEYS)
        .agg(
            pl.col("date").min().alias("first"),
            pl.col("country").drop_nulls().first(),
            category.cast(pl.String).alias("category"),
            share.alias("share"),
            cv2.alias("cv2"),
            seen.sum().alias("observed"),
        )
        .with_columns(
            (
                (pl.col("share") >= cfg.prophet_min_nonzero_share)
                & (pl.col("share") > 0)
                & (pl.col("observed") >= cfg.prophet_min_days)
                & pl.lit(prophet)
            ).alias("fit_prophet"),
            intermittent.alias("intermittent"),
            pl.when(intermittent & erratic)
            .then(pl.lit("lumpy"))
            .when(intermittent)
            .then(pl.lit("intermittent"))
            .when(erratic)
            .then(pl.lit("erratic"))
            .otherwise(pl.lit("smooth"))
            .alias("demand_class"),
        )
        .sort(["fit_prophet", *KEYS], descending=[True, False, False])
        .with_row_index("series")
    )


def make_context(keys: pl.DataFrame, cfg: ForecastConfig, as_of: date) -> Context:
    start: date = keys["first"].min() if keys.height else as_of
    n_days = (as_of - start).days + 1
    axis = np.arange(np.datetime64(start, "D"), np.datetime64(as_of + timedelta(days=cfg.horizon + 1), "D"))
    origins = np.array([n_days - 1 - k * cfg.step for k in range(cfg.cutoffs, 0, -1)])
    years = range(start.year, (as_of + timedelta(days=cfg.horizon)).year + 1)
    holidays = {}
    if "prophet" in cfg.models:
        for country in keys["country"].unique().to_list():
            table = holiday_table(country, years, cfg.prophet_retail_events)
            matrix, names = holiday_matrix(axis, table)
            holidays[country] = (matrix.astype(bool), names)
    events = retail_event_days(axis[:n_days], years) if cfg.baseline_skip_events else np.zeros(n_days, bool)
    return Context(
        cfg=cfg,
        days=axis.astype("int64").astype(float),
        n_days=n_days,
        origins=origins[origins >= 0],
        holidays=holidays,
        event_days=events,
    )


# What a series costs a batch, in series that get only the baselines and the intermittent family (a few
# vector operations per origin): AutoETS and AutoTheta, fitted to smooth and erratic series, add about 15
# of those, and Prophet (raced: one fit, and three more where it wins) about 10 more.
STAT_COST = 15
PROPHET_COST = 10


def series_cost(keys: pl.DataFrame) -> np.ndarray:
    """(n,) each series' expected cost, for the batch sizes and the number of workers."""
    smooth = ~keys["intermittent"].to_numpy()
    return 1.0 + STAT_COST * smooth + PROPHET_COST * keys["fit_prophet"].to_numpy()


def batch_bounds(keys: pl.DataFrame, cfg: ForecastConfig) -> list[tuple[int, int]]:
    """Consecutive [lo, hi) series ranges of about equal cost, about eight per worker, so that no worker
    is left with the last expensive batch while the others idle; at most 50 series per batch."""
    if cfg.batch_size:
        return [(lo, min(lo + cfg.batch_size, keys.height)) for lo in range(0, keys.height, cfg.batch_size)]
    cost = series_cost(keys)
    budget = max(1.0, cost.sum() / (max(cfg.workers, 1) * 8))
    bounds, lo, acc = [], 0, 0.0
    for i, c in enumerate(cost):
        acc += c
        if acc >= budget or i + 1 - lo >= 50:
            bounds.append((lo, i + 1))
            lo, acc = i + 1, 0.0
    if lo < len(cost):
        bounds.append((lo, len(cost)))
    return bounds


def arrays(history: pl.DataFrame, keys: pl.DataFrame, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """(y, price): (n_series, n_days) dense demand and mean price of every series, NaN where not observed
    (before the series' first day, censored) or without orders (price)."""
    y = np.full((keys.height, ctx.n_days), np.nan)
    price = np.full_like(y, np.nan)
    if keys.is_empty():
        return y, price
    start = keys["first"].min()
    rows = history.join(keys.select(*KEYS, "series"), on=KEYS).select(
        "series", ((pl.col("date") - pl.lit(start)).dt.total_days()).alias("day"), "y", "price"
    )
    r, d = rows["series"].to_numpy().astype(np.int64), rows["day"].to_numpy()
    y[r, d] = rows["y"].fill_null(np.nan).to_numpy()
    price[r, d] = rows["price"].fill_null(np.nan).to_numpy()
    return y, price


def batches(
    keys: pl.DataFrame,
    ctx: Context,
    bounds: list[tuple[int, int]],
    y: np.ndarray,
    price: np.ndarray,
    precomputed: dict[str, np.ndarray],
) -> Iterator[Batch]:
    """The series [lo, hi) of each bound, with the slices of the models already computed for all series."""
    if keys.is_empty():
        return
    start = keys["first"].min()
    first = ((keys["first"] - start).dt.total_days()).to_numpy()
    country = keys["country"].to_list()
    fit_prophet, intermittent = keys["fit_prophet"].to_numpy(), keys["intermittent"].to_numpy()
    for lo, hi in bounds:
        yield Batch(
            index=np.arange(lo, hi),
            y=y[lo:hi],
            price=price[lo:hi],
            first=first[lo:hi],
            country=country[lo:hi],
            fit_prophet=fit_prophet[lo:hi],
            intermittent=intermittent[lo:hi],
            precomputed={name: fc[lo:hi] for name, fc in precomputed.items()},
        )
