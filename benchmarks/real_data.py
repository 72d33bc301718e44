"""Real public demand data (/work/shared/data/real) as the project's history frame, for benchmarks.

Each converter takes the file as it is published (read into a polars frame) and returns
`forecasting.history.HISTORY_SCHEMA` plus `category`, one row per series and day from the series' first
sale to its last day, held-out days included: the benchmark splits at its as-of date. The sets carry
no stock information, so censoring means only one thing here: a day the store was closed is not a day
without demand.

- M5 (Walmart): a closed store shows no sale at all that day, in every department (Christmas); such a
  store-day is censored. The data has no open/closed flag, so that is the only sign of a closure.
- Rossmann: `Open = 0` is censored, and so is a day missing from the file (180 stores have a gap of
  half a year); Rossmann's `Sales` is turnover, which stands in for units.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from forecasting.history import HISTORY_SCHEMA

M5_DAY1 = date(2011, 1, 29)  # d_1 of every M5 file
FRAME_SCHEMA = {**HISTORY_SCHEMA, "category": pl.String}


def _day_columns(wide: pl.DataFrame) -> list[str]:
    return [c for c in wide.columns if c.startswith("d_")]


def m5_long(wide: pl.DataFrame, sku: str, category: str) -> pl.DataFrame:
    """sku, warehouse_id, category, date, y from an M5 wide file (one `d_N` column per day)."""
    days = _day_columns(wide)
    return (
        wide.select(
            pl.col(sku).alias("sku"),
            pl.col("store_id").alias("warehouse_id"),
            pl.col(category).alias("category"),
            *days,
        )
        .unpivot(index=["sku", "warehouse_id", "category"], on=days, variable_name="d", value_name="y")
        .with_columns(
            (pl.lit(M5_DAY1) + pl.duration(days=pl.col("d").str.slice(2).cast(pl.Int64) - 1)).alias("date"),
            pl.col("y").cast(pl.Float64),
        )
        .drop("d")
    )


def _from_first_sale(long: pl.DataFrame) -> pl.DataFrame:
    """Rows from each series' first day with y > 0 (a series that never sells has none)."""
    first = long.filter(pl.col("y") > 0).group_by("sku", "warehouse_id").agg(pl.col("date").min().alias("_first"))
    return long.join(first, on=["sku", "warehouse_id"]).filter(pl.col("date") >= pl.col("_first")).drop("_first")


def _censor_closed_stores(long: pl.DataFrame) -> pl.DataFrame:
    """is_censored where the whole store sold nothing that day (null y there); needs every series of the
    store in `long`, from before any series' first sale."""
    closed = (
        long.group_by("warehouse_id", "date")
        .agg((pl.col("y").fill_null(0).sum() == 0).alias("is_censored"))
        .filter(pl.col("is_censored"))
    )
    return (
        long.join(closed, on=["warehouse_id", "date"], how="left")
        .with_columns(pl.col("is_censored").fill_null(False))
        .with_columns(pl.when(pl.col("is_censored")).then(None).otherwise(pl.col("y")).alias("y"))
    )


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(list(FRAME_SCHEMA)).cast(FRAME_SCHEMA).sort("sku", "warehouse_id", "date")


def m5_items_history(sales: pl.DataFrame, prices: pl.DataFrame, calendar: pl.DataFrame) -> pl.DataFrame:
    """M5 item-level sales (`id,item_id,dept_id,cat_id,store_id,state_id,d_1..`) with the weekly sell
    price of the day's Walmart week (`store_id,item_id,wm_yr_wk,sell_price` joined through the calendar's
    `date,wm_yr_wk`). sku = item_id, warehouse_id = store_id, category = dept_id, country US."""
    long = _censor_closed_stores(m5_long(sales, "item_id", "dept_id"))
    weeks = calendar.select(pl.col("date").cast(pl.String).str.to_date(), "wm_yr_wk")
    price = prices.select(
        pl.col("item_id").alias("sku"),
        pl.col("store_id").alias("warehouse_id"),
        "wm_yr_wk",
        pl.col("sell_price").alias("price"),
    )
    return _finish(
        _from_first_sale(long)
        .join(weeks, on="date", how="left")
        .join(price, on=["sku", "warehouse_id", "wm_yr_wk"], how="left")
        .with_columns(pl.lit("US").alias("country"))
    )


def m5_store_history(sales: pl.DataFrame) -> pl.DataFrame:
    """M5 store x department sales (`id,dept_id,cat_id,store_id,state_id,d_1..`; missing days empty).
    sku = dept_id, warehouse_id = store_id, category = cat_id, country US, no price."""
    long = _censor_closed_stores(m5_long(sales, "dept_id", "cat_id"))
    return _finish(
        _from_first_sale(long).with_columns(pl.lit(None, pl.Float64).alias("price"), pl.lit("US").alias("country"))
    )


def rossmann_history(train: pl.DataFrame) -> pl.DataFrame:
    """Rossmann's train.csv (`Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,...`):
    sku = warehouse_id = the store, category "drugstore", country DE, every day from the first sale to the
    file's last day; closed and missing days censored."""
    rows = train.select(
        pl.col("Store").cast(pl.String).alias("warehouse_id"),
        pl.col("Date").cast(pl.String).str.to_date().alias("date"),
        pl.col("Sales").cast(pl.Float64).alias("y"),
        (pl.col("Open").cast(pl.Int64) == 0).alias("closed"),
    )
    last = rows["date"].max()
    first = rows.filter(pl.col("y") > 0).group_by("warehouse_id").agg(pl.col("date").min().alias("first"))
    days = first.with_columns(pl.date_ranges("first", pl.lit(last)).alias("date")).drop("first").explode("date")
    return _finish(
        days.join(rows, on=["warehouse_id", "date"], how="left")
        .with_columns(pl.col("closed").fill_null(True).alias("is_censored"))
        .with_columns(
            pl.when(pl.col("is_censored")).then(None).otherwise(pl.col("y")).alias("y"),
            pl.col("warehouse_id").alias("sku"),
            pl.lit(None, pl.Float64).alias("price"),
            pl.lit("DE").alias("country"),
            pl.lit("drugstore").alias("category"),
        )
    )


def read_items(data: Path) -> pl.DataFrame:
    return m5_items_history(
        pl.read_csv(data / "m5_CA1_items_sales_d1-702.csv"),
        pl.read_csv(data / "m5_CA1_items_prices_to_d702.csv"),
        pl.read_csv(data / "m5_calendar.csv", columns=["date", "wm_yr_wk"]),
    )


def read_store(data: Path) -> pl.DataFrame:
    return m5_store_history(pl.read_csv(data / "m5_store_dept_sales_wide.csv"))


def read_rossmann(data: Path) -> pl.DataFrame:
    return rossmann_history(
        pl.read_csv(
            data / "rossmann_train.csv",
            columns=["Store", "Date", "Sales", "Open"],
            schema_overrides={"Date": pl.String},
        )
    )
