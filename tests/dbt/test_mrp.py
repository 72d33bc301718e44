"""MRP on the demo manufacturer that `scm run` builds (`built_world`, tests/conftest.py): a purchased
component is replenished for its parents' forecasts through the bill of materials, and open work orders not
yet started reserve it (kpi-definitions.md, Planning (MRP)).

The expected numbers are worked out here, apart from the dbt SQL: the bill of materials and the work orders
are read from the landing files (tests/reference/kpis.py picks their current versions), the BOM is exploded
to leaf components by walking it in Python, and each component's dependent d̄ is the parents' selected
forecast (marts.demand_forecast, the rows replenishment reads) averaged over the component's own lead-time
days, times the planning quantity per.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.reference.kpis import current_rows

pytestmark = pytest.mark.slow


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def landing(built_world) -> Path:
    return built_world.data_dir / "landing"


@pytest.fixture(scope="module")
def marts(built_world) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(built_world.data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {
            "replenishment": con.sql("select * from marts.replenishment").pl(),
            "forecast": con.sql(
                "select sku, warehouse_id, forecast_date, yhat from marts.demand_forecast where is_selected"
            ).pl(),
        }


@pytest.fixture(scope="module")
def bom(landing) -> dict[str, list[tuple[str, float]]]:
    """parent -> [(component, quantity_per / (1 - scrap_allowance))], the current BOM rows."""
    rows = current_rows(landing, "bill_of_materials")
    out: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for parent, component, quantity, allowance in rows.select(
        "parent_sku", "component_sku", "quantity_per", "scrap_allowance"
    ).iter_rows():
        out[parent].append((component, quantity / (1 - (allowance or 0.0))))
    return dict(out)


def explode(bom: dict[str, list[tuple[str, float]]]) -> dict[tuple[str, str], float]:
    """(parent, leaf component) -> planning quantity per parent unit, summed over the paths."""
    out: dict[tuple[str, str], float] = defaultdict(float)

    def walk(root: str, sku: str, factor: float) -> None:
        for component, quantity in bom.get(sku, []):
            if component in bom:
                walk(root, component, factor * quantity)
            else:
                out[(root, component)] += factor * quantity

    for parent in bom:
        walk(parent, parent, 1.0)
    return dict(out)


def test_the_world_is_a_manufacturer_with_bought_components(bom, marts):
    leaves = {c for _, c in explode(bom)}
    repl = marts["replenishment"]
    components = repl.filter(pl.col("is_component"))
    assert leaves and set(components["sku"]) <= leaves
    # Components are stocked, so each has its replenishment rows, including those never sold (no own forecast).
    stocked = set(repl["sku"]) & leaves
    assert stocked == set(components["sku"])
    own = set(marts["forecast"]["sku"])
    assert stocked - own, "no component without a forecast series of its own"


def test_dependent_demand_is_the_parents_forecast_through_the_bom(bom, marts):
    exploded = explode(bom)
    repl, forecast = marts["replenishment"], marts["forecast"]
    as_of = repl["as_of_date"][0]
    daily: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for sku, wh, day, yhat in forecast.iter_rows():
        if day > as_of:
            daily[(sku, wh)][(day - as_of).days] = yhat
    checked = 0
    for row in repl.filter(pl.col("is_component") & pl.col("lead_time_days").is_not_null()).iter_rows(named=True):
        days = max(1, math.ceil(row["lead_time_days"]))
        expected = 0.0
        for (parent, component), quantity in exploded.items():
            series = daily.get((parent, row["warehouse_id"]), {})
            window = [y for d, y in series.items() if d <= days]
            if component == row["sku"] and window:
                expected += sum(window) / len(window) * quantity
        assert _close(row["dependent_avg_daily_forecast"], expected), (row["sku"], row["warehouse_id"], expected)
        assert _close(row["avg_daily_forecast"], row["own_avg_daily_forecast"] + expected)
        checked += expected > 0
    assert checked > 0, "no component got dependent demand"


def test_components_with_dependent_demand_get_safety_stock_and_orders(marts):
    driven = marts["replenishment"].filter(
        pl.col("is_component") & (pl.col("dependent_avg_daily_forecast") > 0) & pl.col("lead_time_days").is_not_null()
    )
    assert driven.height > 0
    assert (driven["demand_sd_source"] == "dependent").all()
    assert (driven["safety_stock_method"] == "normal").all()
    assert (driven["reorder_point"] > 0).all()
    assert driven["recommended_order_qty"].null_count() == 0
    assert (driven["forecast_review_period_demand"] > 0).all()


def test_work_orders_not_started_reserve_their_direct_components(landing, bom, marts):
    centers = dict(current_rows(landing, "work_centers").select("work_center_id", "warehouse_id").iter_rows())
    orders = current_rows(landing, "work_orders").filter(pl.col("status").is_in(["planned", "released"]))
    reserved: dict[tuple[str, str], float] = defaultdict(float)
    for sku, center, wh, planned in orders.select(
        "sku", "work_center_id", "warehouse_id", "quantity_planned"
    ).iter_rows():
        for component, quantity in bom.get(sku, []):
            reserved[(component, centers.get(center, wh))] += planned * quantity
    repl = marts["replenishment"]
    got = {(r["sku"], r["warehouse_id"]): r for r in repl.iter_rows(named=True)}
    for key, row in got.items():
        units = math.ceil(round(reserved.get(key, 0.0), 6))
        assert row["work_order_reserved_qty"] == units, key
        assert row["inventory_position"] == (row["on_hand_qty"] - row["reserved_qty"] + row["open_po_qty"] - units), key
    assert any(reserved.get(key, 0) > 0 for key in got), "no stocked component is reserved by a work order"
