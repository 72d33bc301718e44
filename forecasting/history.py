"""Daily demand history per sku and warehouse, with stockout days marked as censored."""

from __future__ import annotations

from datetime import date

import polars as pl

HISTORY_SCHEMA = {
    "sku": pl.String,
    "warehouse_id": pl.String,
    "date": pl.Date,
    "y": pl.Float64,
    "is_censored": pl.Boolean,
    "price": pl.Float64,
    "country": pl.String,
}


def demand_history(
    order_lines: pl.DataFrame, inventory: pl.DataFrame, warehouses: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """One row per sku, warehouse_id and date, every day from the series' first demand to `as_of`.

    order_lines: marts.fct_order_lines (sku, warehouse_id, order_date, quantity_ordered, unit_price,
    is_cancelled); inventory: marts.fct_inventory_daily (snapshot_date, warehouse_id, sku, on_hand_qty);
    warehouses: warehouse_id, country.

    y is the units ordered on non-cancelled lines that day (0 on days without orders), except on days
    the end-of-day snapshot shows on_hand_qty = 0: demand there was censored by the stockout, so y is
    null and is_censored true, and no model learns (or is scored on) a zero that was only missing stock.
    A day without a snapshot counts as in stock. price is the units-weighted mean unit_price (null
    without orders).
    """
    lines = (
        order_lines.lazy()
        .filter(~pl.col("is_cancelled").fill_null(False) & (pl.col("order_date") <= as_of))
        .group_by("sku", "warehouse_id", pl.col("order_date").alias("date"))
        .agg(
            pl.col("quantity_ordered").sum().cast(pl.Float64).alias("units"),
            # Summed as decimals: a float sum's last bits depend on the parallel summation order, and a
            # Prophet fit is sensitive enough to them that two runs on the same data would differ.
            (
                (pl.col("quantity_ordered") * pl.col("unit_price").cast(pl.Decimal(38, 6))).sum().cast(pl.Float64)
                / pl.col("quantity_ordered").sum()
            ).alias("price"),
        )
    )
    spans = (
        lines.group_by("sku", "warehouse_id")
        .agg(pl.col("date").min().alias("first"))
        .with_columns(pl.date_ranges("first", pl.lit(as_of)).alias("date"))
        .drop("first")
        .explode("date")
    )
    stockouts = (
        inventory.lazy()
        .filter((pl.col("on_hand_qty") == 0) & (pl.col("snapshot_date") <= as_of))
        .select("sku", "warehouse_id", pl.col("snapshot_date").alias("date"), pl.lit(True).alias("is_censored"))
        .unique(["sku", "warehouse_id", "date"])
    )
    countries = warehouses.lazy().select("warehouse_id", pl.col("country").cast(pl.String)).unique("warehouse_id")
    out = (
        spans.join(lines, on=["sku", "warehouse_id", "date"], how="left")
        .join(stockouts, on=["sku", "warehouse_id", "date"], how="left")
        .join(countries, on="warehouse_id", how="left")
        .with_columns(pl.col("is_censored").fill_null(False))
        .with_columns(pl.when(pl.col("is_censored")).then(None).otherwise(pl.col("units").fill_null(0.0)).alias("y"))
        .select(list(HISTORY_SCHEMA))
        .sort("sku", "warehouse_id", "date")
    )
    return out.collect().cast(HISTORY_SCHEMA)
