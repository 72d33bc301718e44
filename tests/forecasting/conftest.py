"""Synthetic demand with known structure, small enough to keep the forecasting tests fast.

Every series runs from FIRST to AS_OF + HORIZON: the runs see the history up to AS_OF (`history`), the
tests score them on the 28 days after it (`future`).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from forecasting.history import HISTORY_SCHEMA

FIRST = date(2024, 6, 3)  # a Monday
AS_OF = date(2025, 6, 29)
# The panel is a year long; Prophet is fitted from two years by default, and these tests want it fitted.
PROPHET_DAYS = 365
HORIZON = 28
WEEKLY = np.array([1.0, 1.1, 1.15, 1.1, 1.25, 0.8, 0.6])  # Monday .. Sunday


def _days(end: date) -> list[date]:
    return [FIRST + timedelta(days=i) for i in range((end - FIRST).days + 1)]


def smooth(level: float, slope_per_year: float, rng: np.random.Generator, end: date) -> np.ndarray:
    """Poisson demand around level x weekly pattern x linear trend."""
    days = _days(end)
    t = np.arange(len(days)) / 365.0
    dow = np.array([d.weekday() for d in days])
    return rng.poisson(level * (1 + slope_per_year * t) * WEEKLY[dow]).astype(float)


def intermittent(rate: float, rng: np.random.Generator, end: date) -> np.ndarray:
    n = len(_days(end))
    return (rng.random(n) < rate) * (1 + rng.poisson(2.0, n)).astype(float)


def frame(
    sku: str,
    warehouse: str,
    country: str,
    y: np.ndarray,
    censored: np.ndarray | None = None,
    price: np.ndarray | None = None,
) -> pl.DataFrame:
    days = _days(FIRST + timedelta(days=len(y) - 1))
    censored = np.zeros(len(y), bool) if censored is None else censored
    return pl.DataFrame(
        {
            "sku": sku,
            "warehouse_id": warehouse,
            "date": days,
            "y": np.where(censored, np.nan, y),
            "is_censored": censored,
            "price": np.full(len(y), 10.0) if price is None else price,
            "country": country,
        },
        nan_to_null=True,
    ).cast(HISTORY_SCHEMA)


@pytest.fixture(scope="session")
def panel() -> pl.DataFrame:
    """Six series through AS_OF + HORIZON: four smooth weekly ones (two countries, up and down trends),
    one intermittent, one with a three-week stockout just before AS_OF."""
    rng = np.random.default_rng(11)
    end = AS_OF + timedelta(days=HORIZON)
    parts = [
        frame("SKU-A", "WH-DE", "DE", smooth(20, 0.3, rng, end)),
        frame("SKU-B", "WH-DE", "DE", smooth(8, -0.2, rng, end)),
        frame("SKU-C", "WH-GB", "GB", smooth(35, 0.1, rng, end)),
        frame("SKU-D", "WH-GB", "GB", smooth(5, 0.0, rng, end)),
        frame("SKU-E", "WH-DE", "DE", intermittent(0.06, rng, end)),
    ]
    y = smooth(15, 0.0, rng, end)
    stockout = np.zeros(len(y), bool)
    n_hist = (AS_OF - FIRST).days + 1
    stockout[n_hist - 21 : n_hist] = True
    parts.append(frame("SKU-F", "WH-GB", "GB", y, censored=stockout))
    return pl.concat(parts)


@pytest.fixture(scope="session")
def history(panel: pl.DataFrame) -> pl.DataFrame:
    return panel.filter(pl.col("date") <= AS_OF)


@pytest.fixture(scope="session")
def future(panel: pl.DataFrame) -> pl.DataFrame:
    after = panel.filter(pl.col("date") > AS_OF)
    return after.select("sku", "warehouse_id", pl.col("date").alias("forecast_date"), "y")
