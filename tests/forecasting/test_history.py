"""demand_history: units of non-cancelled lines per day, stockout days censored, a continuous calendar."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from forecasting import demand_history
from forecasting.history import HISTORY_SCHEMA

D = date


@pytest.fixture
def feeds() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    lines = pl.DataFrame(
        [
            ("A", "W1", D(2025, 1, 2), 2, 10.0, False),
            ("A", "W1", D(2025, 1, 2), 1, 7.0, False),
            ("A", "W1", D(2025, 1, 2), 5, 10.0, True),  # cancelled: not demand
            ("A", "W1", D(2025, 1, 4), 4, 10.0, False),  # ordered on a stockout day: censored anyway
            ("A", "W1", D(2025, 1, 6), 1, 9.0, False),
            ("A", "W1", D(2025, 1, 9), 3, 9.0, False),  # after as_of
            ("B", "W2", D(2025, 1, 5), 1, 3.0, False),
            ("C", "W1", D(2025, 1, 3), 2, 4.0, True),  # only cancelled lines: no series
        ],
        schema=["sku", "warehouse_id", "order_date", "quantity_ordered", "unit_price", "is_cancelled"],
        orient="row",
    )
    inventory = pl.DataFrame(
        [
            (D(2025, 1, 3), "W1", "A", 5),
            (D(2025, 1, 4), "W1", "A", 0),
            (D(2025, 1, 5), "W1", "A", 0),
            (D(2025, 1, 5), "W2", "A", 0),  # another warehouse's stockout
            (D(2025, 1, 6), "W1", "A", 2),
        ],
        schema=["snapshot_date", "warehouse_id", "sku", "on_hand_qty"],
        orient="row",
    )
    warehouses = pl.DataFrame({"warehouse_id": ["W1", "W2"], "country": ["DE", "GB"]})
    return lines, inventory, warehouses


def test_demand_history(feeds):
    h = demand_history(*feeds, as_of=D(2025, 1, 7))
    assert h.schema == pl.Schema(HISTORY_SCHEMA)
    a = h.filter(pl.col("sku") == "A")
    assert a["date"].to_list() == [D(2025, 1, d) for d in range(2, 8)]  # first demand .. as_of, every day
    assert a["y"].to_list() == [3.0, 0.0, None, None, 1.0, 0.0]
    assert a["is_censored"].to_list() == [False, False, True, True, False, False]
    assert a["price"][0] == pytest.approx((2 * 10 + 7) / 3)  # units-weighted
    assert a["price"][1] is None and a["price"][2] == 10.0
    assert a["country"].unique().to_list() == ["DE"]
    b = h.filter(pl.col("sku") == "B")
    assert b["date"].to_list() == [D(2025, 1, 5), D(2025, 1, 6), D(2025, 1, 7)]
    assert b["y"].to_list() == [1.0, 0.0, 0.0] and b["country"].unique().to_list() == ["GB"]
    assert h.filter(pl.col("sku") == "C").is_empty()


def test_demand_history_does_not_depend_on_row_order(feeds):
    lines, inventory, warehouses = feeds
    shuffled = lines.sample(fraction=1.0, shuffle=True, seed=1)
    assert demand_history(shuffled, inventory, warehouses, D(2025, 1, 7)).equals(
        demand_history(lines, inventory, warehouses, D(2025, 1, 7))
    )
