"""Selection rules: lowest WAPE among candidates, ties by preference, MAE without demand, fallback."""

from __future__ import annotations

import polars as pl

from forecasting.config import MODELS
from forecasting.selection import select_models

ROWS = [
    # sku, model, wape, mae, is_candidate
    ("best", "seasonal_naive", 0.50, 2.0, True),
    ("best", "moving_average", 0.40, 1.6, True),
    ("best", "prophet", 0.30, 1.2, True),
    ("tie", "seasonal_naive", 0.50, 2.0, True),
    ("tie", "tsb", 0.40, 1.6, True),
    ("tie", "moving_average", 0.40, 1.6, True),
    ("no_demand", "seasonal_naive", None, 0.0, False),  # intermittent: not a candidate
    ("no_demand", "moving_average", None, 0.3, True),
    ("no_demand", "tsb", None, 0.1, True),
    ("intermittent", "seasonal_naive", 0.90, 1.0, False),
    ("intermittent", "tsb", 1.30, 1.4, True),
    ("unscored", "seasonal_naive", None, None, True),
    ("unscored", "moving_average", None, None, True),
]


def test_selection_rules():
    metrics = pl.DataFrame(ROWS, schema=["sku", "model", "wape", "mae", "is_candidate"], orient="row")
    metrics = metrics.with_columns(pl.lit("W").alias("warehouse_id"))
    series = metrics.select("sku", "warehouse_id").unique()
    got = select_models(metrics, series, MODELS, "moving_average")
    picked = dict(got.select("sku", "model").iter_rows())
    assert picked == {
        "best": "prophet",
        "tie": "moving_average",  # listed before tsb in the preference order
        "no_demand": "tsb",  # closest to zero
        "intermittent": "tsb",  # seasonal naive scored lower but is not offered
        "unscored": "moving_average",  # the fallback
    }
    row = got.filter(pl.col("sku") == "intermittent").row(0, named=True)
    assert row["wape"] == 1.30 and row["seasonal_naive_wape"] == 0.90
