"""The planning marts on a tiny hand-made world, every replenishment number worked out by hand.

The world (as-of date 2024-03-31, the latest order date; lead-time window 2023-04-02 .. 2024-03-31):

suppliers  S1 (contracted 10 d), S2 (contracted 14 d), S3 (contracted 30 d)
products   A (Tools, S1, cost 10, pack 6), B (Tools, S2, cost 5, pack 12, MOQ 20), C (Garden, S3, cost 2),
           D (Garden, no supplier, cost 1), E (Tools, S1, cost 4, pack 5, MOQ 10); C and D come in a file without
           the pack and MOQ columns (C orders in whole units)
received PO lines, lead time in days:
           S1: 10 (A W1), 13 (A W2), 7 (sku B at W2: any sku counts), 9 (A W1), 14 (received on 2023-04-02,
               the first day of the window); out: 31 (received 2023-04-01) and 9 (received after the as-of date)
           S2: 12 (B W1), a single line: sigma_L = 0
           S3: only one in 2022: the contracted 30 days
open PO lines (status open, ordered on or before the as-of date):
           A W1: 30 promised 04-08; 5 open of 8 (3 received, sent again in a later file) promised 03-25 (overdue);
                 not: a cancelled line of 100, an open line of 50 ordered on 04-02
           A W2: 20 promised 04-10.  B W1: 40 promised 04-20.  C W1: 50 promised 05-01.  E W1: 12 promised 04-15
inventory on the as-of date (on hand, reserved): A W1 6, 2 (a snapshot of 04-01 is not used); A W2 40, 0;
           B W1 11, 1; B W2 10, 0; C W1 60, 10; D W2 7, 0 (its latest snapshot is of 03-28: 3 days old, not
           stale); E W1 3, 0 (latest snapshot 03-27: 4 days old, stale)
orders in the 28 days: A W1 10, A W2 20, B W1 10, B W2 1, C W1 28, D W2 none, E W1 2

forecast runs:
  run-1 (cut-off 03-29, two days before the as-of date; created 04-01; every series): A W1, A W2, B W1, C W1, E W1
  run-2 (cut-off 03-31, created 04-02, one category's partition): A W1 only
So A W1 comes from run-2 and the others from run-1, whose A W1 rows stay in forecast.forecasts. Each series
has its selected model and one other; B W1's backtest saw no demand (error_sd null: demand_sd is used);
B W2 and D W2 have no forecast.

Expected exceptions: stockouts within the lead time for A W1 (day 5) and C W1 (day 23 of a 30-day lead
time); B W1 runs out on day 19, after its 12-day lead time; E W1 would run out on day 4, but its stock is
stale: no projected stockout. Excess stock: B W2 (280 days of supply), D W2 (stock, no demand). Error
jump: C W1 (recent WAPE 0.9 > 2 x 0.3); not A W2 (exactly 2 x), not C W1's unselected model, not run-1's
stale A W1.
Expedite: A W1's P10 (promised 04-08, 3 days after its stockout) and C W1's P17 (05-01, 8 days after); not
A W1's overdue P11, not B W1's P15 (its stockout is after the lead time), nothing of the stale E W1.

z from the macro normal_quantile (Acklam's approximation) is within its relative error bound 1.15e-9 of
statistics.NormalDist; every other number agrees with the hand computation to 1e-9 (relative for large
numbers), plus that bound on the part of it that is proportional to z (the safety stock).
"""

from __future__ import annotations

import math
import statistics
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt_project"
LOAD_TIME = datetime(2025, 1, 1, 6, 0)
AS_OF = date(2024, 3, 31)
SERVICE_LEVEL = 0.95
REVIEW_DAYS = 7
HORIZON = 28
ACKLAM = 1.15e-9  # bound on the relative error of normal_quantile

pytestmark = pytest.mark.slow

ORDER_COLS = (
    "order_id,line_number,order_ts,customer_id,channel,ship_to_region,sku,warehouse_id,quantity_ordered,"
    "unit_price,promised_date,status,quantity_shipped,shipped_ts,delivered_ts,carrier,shipping_cost,updated_at"
)
PO_COLS = (
    "po_id,line_number,supplier_id,sku,warehouse_id,order_date,promised_date,quantity_ordered,unit_cost,status,"
    "received_date,quantity_received,quantity_rejected,updated_at"
)


def _order(order_id: str, ts: str, sku: str, warehouse: str, qty: int) -> str:
    return f"{order_id},1,{ts},CUST-{order_id},web,EU,{sku},{warehouse},{qty},9.00,2024-04-15,open,,,,,,{ts}"


def _po(
    po: str,
    supplier: str,
    sku: str,
    warehouse: str,
    ordered: str,
    promised: str,
    qty: int,
    status: str,
    received: str = "",
    qty_received: str = "",
    updated: str = "",
) -> str:
    rejected = "0" if qty_received else ""
    return (
        f"{po},1,{supplier},{sku},{warehouse},{ordered},{promised},{qty},1.00,{status},{received},"
        f"{qty_received},{rejected},{updated or (received or ordered) + 'T08:00:00Z'}"
    )


FILES = {
    "warehouses/warehouses.csv": [
        "warehouse_id,warehouse_name,region,country,operator,updated_at",
        "W1,North,EU,DE,own,2024-01-01T00:00:00Z",
        "W2,South,EU,IT,3pl,2024-01-01T00:00:00Z",
    ],
    "suppliers/suppliers.csv": [
        "supplier_id,supplier_name,country,payment_terms_days,contracted_lead_time_days,updated_at",
        "S1,One,DE,30,10,2024-01-01T00:00:00Z",
        "S2,Two,PL,60,14,2024-01-01T00:00:00Z",
        "S3,Three,CN,45,30,2024-01-01T00:00:00Z",
    ],
    "products/products.csv": [
        "sku,product_name,category,subcategory,unit_cost,list_price,primary_supplier_id,updated_at",
        "C,Gamma,Garden,,2.00,6,S3,2024-01-01T00:00:00Z",
        "D,Delta,Garden,,1.00,3,,2024-01-01T00:00:00Z",
    ],
    # The optional pack and MOQ columns; a file without them (above) still loads.
    "products/products_packs.csv": [
        "sku,product_name,category,subcategory,unit_cost,list_price,primary_supplier_id,order_multiple,"
        "min_order_qty,updated_at",
        "A,Alpha,Tools,,10.00,30,S1,6,0,2024-01-02T00:00:00Z",
        "B,Beta,Tools,,5.00,15,S2,12,20,2024-01-02T00:00:00Z",
        "E,Epsilon,Tools,,4.00,12,S1,5,10,2024-01-02T00:00:00Z",
    ],
    "orders/orders_2024-03-31.csv": [
        ORDER_COLS,
        _order("O1", "2024-03-31T10:00:00Z", "C", "W1", 28),
        _order("O2", "2024-03-20T10:00:00Z", "B", "W2", 1),
        _order("O3", "2024-03-25T10:00:00Z", "A", "W1", 10),
        _order("O4", "2024-03-26T10:00:00Z", "A", "W2", 20),
        _order("O5", "2024-03-27T10:00:00Z", "B", "W1", 10),
        _order("O6", "2024-03-26T10:00:00Z", "E", "W1", 2),
    ],
    "purchase_orders/po_1.csv": [
        PO_COLS,
        # received lines of S1 (any sku, any warehouse)
        _po("P1", "S1", "A", "W1", "2024-01-02", "2024-01-12", 100, "received", "2024-01-12", "100"),
        _po("P2", "S1", "A", "W2", "2024-01-02", "2024-01-12", 50, "received", "2024-01-15", "50"),
        _po("P3", "S1", "B", "W2", "2024-02-01", "2024-02-08", 10, "received", "2024-02-08", "10"),
        _po("P4", "S1", "A", "W1", "2024-03-01", "2024-03-10", 40, "received", "2024-03-10", "40"),
        _po("P5", "S1", "A", "W1", "2023-03-19", "2023-04-01", 40, "received", "2023-04-02", "40"),
        _po("P6", "S1", "A", "W1", "2023-03-01", "2023-03-20", 40, "received", "2023-04-01", "40"),
        _po("P7", "S1", "A", "W1", "2024-03-25", "2024-04-03", 40, "received", "2024-04-03", "40"),
        # S2: one received line; S3: one, long ago
        _po("P8", "S2", "B", "W1", "2024-02-01", "2024-02-10", 60, "received", "2024-02-13", "60"),
        _po("P9", "S3", "C", "W1", "2022-05-01", "2022-06-01", 90, "received", "2022-06-01", "90"),
        # open lines
        _po("P10", "S1", "A", "W1", "2024-03-20", "2024-04-08", 30, "open"),
        _po("P11", "S1", "A", "W1", "2024-03-01", "2024-03-25", 8, "open"),
        _po("P12", "S1", "A", "W1", "2024-03-10", "2024-04-02", 100, "cancelled"),
        _po("P13", "S1", "A", "W1", "2024-04-02", "2024-04-04", 50, "open"),
        _po("P14", "S1", "A", "W2", "2024-03-22", "2024-04-10", 20, "open"),
        _po("P15", "S2", "B", "W1", "2024-03-28", "2024-04-20", 40, "open"),
        _po("P16", "S1", "E", "W1", "2024-03-20", "2024-04-15", 12, "open"),
        _po("P17", "S3", "C", "W1", "2024-03-15", "2024-05-01", 50, "open"),
    ],
    "purchase_orders/po_2.csv": [
        PO_COLS,
        # P11 again: 3 of its 8 units arrived, the line stays open
        _po("P11", "S1", "A", "W1", "2024-03-01", "2024-03-25", 8, "open", "", "3", "2024-03-26T08:00:00Z"),
    ],
    "inventory/inventory_2024-03-31.csv": [
        "snapshot_date,warehouse_id,sku,on_hand_qty,reserved_qty",
        "2024-03-28,W2,D,7,0",
        "2024-03-30,W1,A,9,2",
        "2024-03-31,W1,A,6,2",
        "2024-04-01,W1,A,99,0",
        "2024-03-31,W2,A,40,0",
        "2024-03-31,W1,B,11,1",
        "2024-03-31,W2,B,10,0",
        "2024-03-31,W1,C,60,10",
        "2024-03-27,W1,E,3,0",
    ],
}

# Forecasts: yhat of the k-th day after the run's cut-off, per (run, sku, warehouse, model).
RUN_1, RUN_2 = "run-1", "run-2"
CUTOFF = {RUN_1: date(2024, 3, 29), RUN_2: AS_OF}
CREATED = {RUN_1: datetime(2024, 4, 1, 6, 0), RUN_2: datetime(2024, 4, 2, 6, 0)}
YHAT = {
    (RUN_1, "A", "W1", "moving_average"): lambda k: 50.0,
    (RUN_1, "A", "W1", "seasonal_naive"): lambda k: 60.0,
    (RUN_1, "A", "W2", "tsb"): lambda k: 1.5,
    (RUN_1, "A", "W2", "seasonal_naive"): lambda k: 3.0,
    (RUN_1, "B", "W1", "seasonal_naive"): lambda k: 1.0 if k % 7 in (0, 1) else 0.5,
    (RUN_1, "B", "W1", "moving_average"): lambda k: 0.75,
    (RUN_1, "C", "W1", "prophet"): lambda k: 1 + 0.125 * k,
    (RUN_1, "C", "W1", "seasonal_naive"): lambda k: 2.0,
    (RUN_1, "E", "W1", "moving_average"): lambda k: 1.0,
    (RUN_1, "E", "W1", "seasonal_naive"): lambda k: 2.0,
    (RUN_2, "A", "W1", "moving_average"): lambda k: 2 + 0.25 * (k % 4),
    (RUN_2, "A", "W1", "seasonal_naive"): lambda k: 100.0,
}
# (run, sku, warehouse) -> selected model, its demand_sd
SELECTION = {
    (RUN_1, "A", "W1"): ("moving_average", 7.0),
    (RUN_1, "A", "W2"): ("tsb", 0.9),
    (RUN_1, "B", "W1"): ("seasonal_naive", 1.2),
    (RUN_1, "C", "W1"): ("prophet", 1.7),
    (RUN_1, "E", "W1"): ("moving_average", 0.5),
    (RUN_2, "A", "W1"): ("moving_average", 1.3),
}
# (run, sku, warehouse, model) -> wape, error_sd, recent_wape
METRICS = {
    (RUN_1, "A", "W1", "moving_average"): (0.1, 9.9, 0.9),
    (RUN_1, "A", "W1", "seasonal_naive"): (0.2, 9.0, 0.2),
    (RUN_1, "A", "W2", "tsb"): (0.25, 0.8, 0.5),
    (RUN_1, "A", "W2", "seasonal_naive"): (0.4, 1.0, 0.4),
    (RUN_1, "B", "W1", "seasonal_naive"): (None, None, None),
    (RUN_1, "B", "W1", "moving_average"): (None, None, None),
    (RUN_1, "C", "W1", "prophet"): (0.3, 2.5, 0.9),
    (RUN_1, "C", "W1", "seasonal_naive"): (0.2, 3.0, 1.0),
    (RUN_1, "E", "W1", "moving_average"): (0.2, 0.6, 0.2),
    (RUN_1, "E", "W1", "seasonal_naive"): (0.3, 0.7, 0.3),
    (RUN_2, "A", "W1", "moving_average"): (0.3, 1.1, 0.5),
    (RUN_2, "A", "W1", "seasonal_naive"): (0.5, 3.0, 0.5),
}

COMPARED = (
    "z",
    "avg_daily_forecast",
    "demand_sd",
    "lead_time_days",
    "lead_time_sd",
    "safety_stock",
    "reorder_point",
    "on_hand_qty",
    "reserved_qty",
    "open_po_qty",
    "inventory_position",
    "forecast_review_period_demand",
    "order_need_qty",
    "order_multiple",
    "min_order_qty",
    "recommended_order_qty",
    "recommended_order_value",
)
# Pack (order_multiple) and MOQ of each product as the warehouse takes them: C and D's file has neither.
PACKS = {"A": (6, 0), "B": (12, 20), "C": (1, 0), "D": (1, 0), "E": (5, 10)}
# Latest snapshot date of each position; a position more than STALE_DAYS days older than the as-of date is stale.
LAST_SEEN = {("D", "W2"): date(2024, 3, 28), ("E", "W1"): date(2024, 3, 27)}
STALE_DAYS = 3


def _write_landing(landing: Path) -> None:
    for rel, lines in FILES.items():
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ingest(landing: Path, db: Path) -> None:
    from forecasting.store import ensure_tables
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.ingest import ingest_feed

    with duckdb.connect(str(db)) as con:
        for feed in FEEDS.values():
            result = ingest_feed(con, feed, landing, "replenishment", LOAD_TIME)
            assert not result.rejected, f"{feed.name}: rejected {result.rejected}"
            assert result.total("rows_quarantined") == 0, result.first_errors[:5]
        ensure_tables(con)


def _forecast_run(run_id: str):
    from forecasting.run import FORECAST_SCHEMA, METRIC_SCHEMA, SELECTION_SCHEMA, ForecastRun

    forecasts = [
        {
            "sku": sku,
            "warehouse_id": wh,
            "forecast_date": CUTOFF[run] + timedelta(days=k),
            "model": model,
            "yhat": f(k),
            "yhat_lower": 0.0,
            "yhat_upper": 2 * f(k),
            "is_selected": SELECTION[(run, sku, wh)][0] == model,
        }
        for (run, sku, wh, model), f in YHAT.items()
        if run == run_id
        for k in range(1, HORIZON + 1)
    ]
    metrics = [
        {
            "sku": sku,
            "warehouse_id": wh,
            "model": model,
            "wape": wape,
            "bias": 0.0 if wape is not None else None,
            "mase": 0.5 if wape is not None else None,
            "n_cutoffs": 3 if wape is not None else 0,
            "actual_total": 100.0 if wape is not None else 0.0,
            "fva": 0.0 if wape is not None else None,
            "error_sd": error_sd,
            "recent_wape": recent,
        }
        for (run, sku, wh, model), (wape, error_sd, recent) in METRICS.items()
        if run == run_id
    ]
    selection = [
        {
            "sku": sku,
            "warehouse_id": wh,
            "model": model,
            "wape": METRICS[(run, sku, wh, model)][0],
            "seasonal_naive_wape": 0.4,
            "demand_sd": demand_sd,
        }
        for (run, sku, wh), (model, demand_sd) in SELECTION.items()
        if run == run_id
    ]
    return ForecastRun(
        forecasts=pl.DataFrame(forecasts, schema=FORECAST_SCHEMA),
        metrics=pl.DataFrame(metrics, schema=METRIC_SCHEMA),
        selection=pl.DataFrame(selection, schema=SELECTION_SCHEMA),
        params={"seconds": 1.0},
    )


def _write_runs(db: Path) -> None:
    from forecasting.store import write_run

    with duckdb.connect(str(db)) as con:
        write_run(con, _forecast_run(RUN_1), RUN_1, CUTOFF[RUN_1], "all", CREATED[RUN_1])
        write_run(con, _forecast_run(RUN_2), RUN_2, CUTOFF[RUN_2], "Tools", CREATED[RUN_2])


def dbt(db: Path, tmp: Path, *args: str):
    from dbt.cli.main import dbtRunner

    argv = [
        *args,
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCM_WAREHOUSE_PATH", str(db))
        mp.chdir(tmp)
        res = dbtRunner().invoke(argv)
    results = list(getattr(res.result, "results", None) or [])
    failed = [
        f"{r.node.unique_id}: {r.status}: {(r.message or '')[:300]}"
        for r in results
        if str(r.status).lower() not in ("success", "pass", "no-op")
    ]
    assert res.success and not failed, f"dbt {args[0]} failed ({res.exception}):\n" + "\n".join(failed[:30])
    return results


def read(db: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db)) as con:  # same configuration as dbt's in-process connection
        return con.sql(sql).pl()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The world loaded, two forecasting runs written, the planning models built with their parents."""
    tmp = tmp_path_factory.mktemp("replenishment")
    landing, db = tmp / "landing", tmp / "warehouse.duckdb"
    _write_landing(landing)
    _ingest(landing, db)
    _write_runs(db)
    # cautious: leave out the tests of a parent that reach models outside the selection (dim_customer, ...)
    results = dbt(db, tmp, "build", "--select", "+tag:planning", "--indirect-selection", "cautious")
    return {"tmp": tmp, "db": db, "results": results}


def _row(built: dict, table: str, sku: str, warehouse: str) -> dict:
    table = table if "." in table else f"marts.{table}"
    rows = read(built["db"], f"select * from {table} where sku = '{sku}' and warehouse_id = '{warehouse}'")
    assert rows.height == 1, f"{table} {sku} {warehouse}: {rows.height} rows"
    return rows.row(0, named=True)


# --- the hand computation --------------------------------------------------------------------------------


def forecast_by_day(run: str, sku: str, warehouse: str) -> dict[int, float]:
    """Selected model's yhat by forecast day n (as_of + n), days after the as-of date only."""
    model = SELECTION[(run, sku, warehouse)][0]
    f = YHAT[(run, sku, warehouse, model)]
    shift = (AS_OF - CUTOFF[run]).days
    return {k - shift: f(k) for k in range(1, HORIZON + 1) if k - shift >= 1}


def placeable(need: float | None, moq: int, pack: int) -> int | None:
    """The definition's rounding: 0 for no need, else whole units, then at least the MOQ, then whole packs."""
    if need is None:
        return None
    if round(need, 6) <= 0:
        return 0
    units = max(math.ceil(round(need, 6)), moq)
    return math.ceil(units / pack) * pack


def hand(sku: str, warehouse: str) -> dict:
    """Every replenishment number of one series, from the definitions and the world above."""
    z = statistics.NormalDist().inv_cdf(SERVICE_LEVEL)
    on_hand, reserved = {
        ("A", "W1"): (6, 2),
        ("A", "W2"): (40, 0),
        ("B", "W1"): (11, 1),
        ("B", "W2"): (10, 0),
        ("C", "W1"): (60, 10),
        ("D", "W2"): (7, 0),
        ("E", "W1"): (3, 0),
    }[(sku, warehouse)]
    unit_cost = {"A": 10.0, "B": 5.0, "C": 2.0, "D": 1.0, "E": 4.0}[sku]
    pack, moq = PACKS[sku]
    last_seen = LAST_SEEN.get((sku, warehouse), AS_OF)
    stale = (AS_OF - last_seen).days > STALE_DAYS

    # Lead time of the primary supplier: received lines in the window, else the contracted lead time.
    # S1's and S2's received lines in the window
    lead_times = {"A": [10, 13, 7, 9, 14], "B": [12], "E": [10, 13, 7, 9, 14]}.get(sku)
    if lead_times:
        lead, lead_sd = statistics.mean(lead_times), (statistics.stdev(lead_times) if len(lead_times) > 1 else 0.0)
        lead_source = "received_po_lines"
    elif sku == "C":
        lead, lead_sd, lead_source = 30.0, 0.0, "contracted"
    else:
        lead, lead_sd, lead_source = None, None, None

    # The run each series comes from, its forecast and sigma_d.
    run = {("A", "W1"): RUN_2, ("A", "W2"): RUN_1, ("B", "W1"): RUN_1, ("C", "W1"): RUN_1, ("E", "W1"): RUN_1}.get(
        (sku, warehouse)
    )
    forecast = forecast_by_day(run, sku, warehouse) if run else {}
    if run:
        model, demand_sd_recent = SELECTION[(run, sku, warehouse)]
        error_sd = METRICS[(run, sku, warehouse, model)][1]
        demand_sd, sd_source = (error_sd, "backtest") if error_sd is not None else (demand_sd_recent, "recent_demand")
    else:
        demand_sd, sd_source = 0.0, "none"

    # Open PO lines: (open quantity, forecast day of the promised date; <= 0 = overdue).
    open_lines = {
        ("A", "W1"): [(30, 8), (8 - 3, -6)],
        ("A", "W2"): [(20, 10)],
        ("B", "W1"): [(40, 20)],
        ("C", "W1"): [(50, 31)],
        ("E", "W1"): [(12, 15)],
    }.get((sku, warehouse), [])
    open_po = sum(q for q, _ in open_lines)
    position = on_hand - reserved + open_po

    review_demand = sum(forecast.get(n, 0.0) for n in range(1, REVIEW_DAYS + 1))
    out = {
        "z": z,
        "demand_sd": demand_sd,
        "demand_sd_source": sd_source,
        "lead_time_days": lead,
        "lead_time_sd": lead_sd,
        "lead_time_source": lead_source,
        "on_hand_qty": on_hand,
        "reserved_qty": reserved,
        "open_po_qty": open_po,
        "inventory_position": position,
        "forecast_review_period_demand": review_demand,
        "has_forecast": bool(forecast),
        "forecast_run_id": run,
        "unit_cost": unit_cost,
        "order_multiple": pack,
        "min_order_qty": moq,
        "last_seen_date": last_seen,
        "is_stale": stale,
        "open_lines": open_lines,
    }
    if lead is None:
        out.update(
            avg_daily_forecast=None,
            safety_stock=None,
            reorder_point=None,
            order_need_qty=None,
            recommended_order_qty=None,
            recommended_order_value=None,
        )
    else:
        days = [n for n in range(1, max(1, math.ceil(lead)) + 1) if n in forecast]
        d = statistics.mean(forecast[n] for n in days) if days else 0.0
        safety = z * math.sqrt(lead * demand_sd**2 + d**2 * lead_sd**2)
        rop = d * lead + safety
        need = max(0.0, rop + review_demand - position)
        qty = placeable(need, moq, pack)
        out.update(
            avg_daily_forecast=d,
            safety_stock=safety,
            reorder_point=rop,
            order_need_qty=need,
            recommended_order_qty=qty,
            recommended_order_value=qty * unit_cost,
        )

    # Projected stock: on hand - forecast so far + open POs promised by then; the first day below 0. Not for a
    # stale position: its stock is not known today.
    stockout, cumulative = None, 0.0
    for n in sorted(forecast) if not stale else []:
        cumulative += forecast[n]
        if on_hand - cumulative + sum(q for q, due in open_lines if due <= n) < 0:
            stockout = n
            break
    out["days_until_stockout"] = stockout
    out["projected_stockout_date"] = AS_OF + timedelta(days=stockout) if stockout else None
    return out


SERIES = [("A", "W1"), ("A", "W2"), ("B", "W1"), ("B", "W2"), ("C", "W1"), ("D", "W2"), ("E", "W1")]


def _close(actual: float | None, expected: float | None, z_part: float = 0.0) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return abs(actual - expected) <= 1e-9 * max(1.0, abs(expected)) + ACKLAM * abs(z_part)


# --- the tests -------------------------------------------------------------------------------------------


def test_build_ran_the_planning_models_and_their_tests(built):
    ran = {r.node.name for r in built["results"] if str(r.node.resource_type) == "model"}
    assert {
        "int_forecast_latest_runs",
        "demand_forecast",
        "forecast_accuracy",
        "replenishment",
        "replenishment_exceptions",
        "replenishment_expedite",
    } <= ran
    unit_tests = {r.node.name for r in built["results"] if str(r.node.resource_type) == "unit_test"}
    assert {
        "replenishment_projected_stockout_date",
        "replenishment_order_rounding_and_stale_positions",
        "replenishment_exceptions_thresholds",
        "replenishment_expedite_lines",
    } <= unit_tests


def test_normal_quantile_macro_matches_python(built):
    ps = [
        1e-9,
        1e-4,
        0.01,
        0.02,
        0.02425,
        0.03,
        0.1,
        0.25,
        0.5,
        0.6,
        0.8,
        0.9,
        0.95,
        0.975,
        0.97575,
        0.98,
        0.99,
        0.999,
        1 - 1e-9,
    ]
    values = ", ".join(f"(cast({p!r} as double))" for p in ps + [0.0, 1.0])
    results = dbt(
        built["db"],
        built["tmp"],
        "compile",
        "--inline",
        f"select p, {{{{ normal_quantile('p') }}}} as z from (values {values}) as grid (p)",
    )
    sql = results[0].node.compiled_code
    with duckdb.connect() as con:
        got = dict(con.sql(sql).fetchall())
    for p in ps:
        expected = statistics.NormalDist().inv_cdf(p)
        assert abs(got[p] - expected) <= ACKLAM * abs(expected), (p, got[p], expected)
    assert got[0.5] == 0.0
    assert got[0.0] is None and got[1.0] is None


def test_each_series_comes_from_the_latest_run_that_covered_it(built):
    db = built["db"]
    runs = dict(read(db, "select sku || ' ' || warehouse_id, run_id from marts.demand_forecast group by all").rows())
    assert runs == {"A W1": RUN_2, "A W2": RUN_1, "B W1": RUN_1, "C W1": RUN_1, "E W1": RUN_1}
    # every model's rows of those runs: two models x 28 days per series
    counts = read(
        db,
        "select sku, warehouse_id, count(*) as n, count(case when is_selected then 1 end) as s "
        "from marts.demand_forecast group by all",
    ).rows()
    assert sorted(counts) == sorted(
        (sku, wh, 2 * HORIZON, HORIZON) for sku, wh in [("A", "W1"), ("A", "W2"), ("B", "W1"), ("C", "W1"), ("E", "W1")]
    )
    # run-1's forecast of A W1 is still in the forecast schema, only not shown
    kept = read(
        db, "select count(*) from forecast.forecasts where run_id = 'run-1' and sku = 'A' and warehouse_id = 'W1'"
    ).item()
    assert kept == 2 * HORIZON
    a_w1 = _row(built, "intermediate.int_forecast_latest_runs", "A", "W1")
    assert (a_w1["run_id"], a_w1["cutoff_date"], a_w1["selected_model"]) == (RUN_2, AS_OF, "moving_average")
    keys = read(
        db,
        "select distinct category, product_key = '-1' or warehouse_key = '-1' as unknown "
        "from marts.demand_forecast order by 1",
    ).rows()
    assert keys == [("Garden", False), ("Tools", False)]


def test_forecast_accuracy_marks_the_selected_model_of_the_latest_run(built):
    rows = read(built["db"], "select * from marts.forecast_accuracy order by sku, warehouse_id, model")
    got = {(r["sku"], r["warehouse_id"], r["model"]): r for r in rows.iter_rows(named=True)}
    expected_keys = {k[1:] for k in METRICS if k[0] == (RUN_2 if k[1:3] == ("A", "W1") else RUN_1)}
    assert set(got) == expected_keys
    for (sku, wh, model), row in got.items():
        run = RUN_2 if (sku, wh) == ("A", "W1") else RUN_1
        wape, error_sd, recent = METRICS[(run, sku, wh, model)]
        assert row["run_id"] == run and row["cutoff_date"] == CUTOFF[run]
        assert row["is_selected"] == (SELECTION[(run, sku, wh)][0] == model)
        assert (row["wape"], row["error_sd"], row["recent_wape"]) == (wape, error_sd, recent)
        assert row["category"] == ("Tools" if sku in "ABE" else "Garden")
        assert row["warehouse_name"] == {"W1": "North", "W2": "South"}[wh]


def test_replenishment_has_one_row_per_inventory_position(built):
    rows = read(built["db"], "select sku, warehouse_id from marts.replenishment order by 1, 2").rows()
    assert rows == SERIES


@pytest.mark.parametrize("series", SERIES, ids=[f"{s}-{w}" for s, w in SERIES])
def test_replenishment_numbers_agree_with_the_hand_computation(built, series):
    row, expected = _row(built, "replenishment", *series), hand(*series)
    safety = expected["safety_stock"] or 0.0
    z_parts = {
        "z": expected["z"],
        "safety_stock": safety,
        "reorder_point": safety,
        "order_need_qty": safety if expected["order_need_qty"] else 0.0,
    }
    problems = [
        f"{col}: replenishment {row[col]!r}, by hand {expected[col]!r}"
        for col in COMPARED
        if not _close(row[col], expected[col], z_parts.get(col, 0.0))
    ]
    for col in (
        "last_seen_date",
        "is_stale",
        "demand_sd_source",
        "lead_time_source",
        "has_forecast",
        "forecast_run_id",
        "projected_stockout_date",
        "days_until_stockout",
    ):
        if row[col] != expected[col]:
            problems.append(f"{col}: replenishment {row[col]!r}, by hand {expected[col]!r}")
    assert not problems, f"{series}:\n" + "\n".join(problems)
    assert row["as_of_date"] == AS_OF and row["service_level"] == SERVICE_LEVEL
    assert row["review_period_days"] == REVIEW_DAYS


def test_the_fallbacks_and_the_cases_that_matter(built):
    a_w1, b_w1, b_w2 = (_row(built, "replenishment", *s) for s in [("A", "W1"), ("B", "W1"), ("B", "W2")])
    c_w1, d_w2 = _row(built, "replenishment", "C", "W1"), _row(built, "replenishment", "D", "W2")
    # A W1: S1's five lines in the window, from run-2 (its cut-off is the as-of date)
    assert a_w1["lead_time_days"] == 10.6 and a_w1["selected_model"] == "moving_average"
    assert a_w1["forecast_cutoff_date"] == AS_OF and a_w1["recommended_order_qty"] > 0
    # B W1: no backtest error: the recent demand's standard deviation; a single line: sigma_L = 0
    assert (b_w1["demand_sd_source"], b_w1["demand_sd"], b_w1["lead_time_sd"]) == ("recent_demand", 1.2, 0.0)
    # C W1: the contracted lead time (30 days) is longer than the 26 forecast days after the as-of date
    assert (c_w1["lead_time_source"], c_w1["lead_time_days"], c_w1["lead_time_sd"]) == ("contracted", 30.0, 0.0)
    assert c_w1["forecast_cutoff_date"] == CUTOFF[RUN_1]
    # B W2: no forecast
    assert (b_w2["has_forecast"], b_w2["avg_daily_forecast"], b_w2["demand_sd_source"]) == (False, 0.0, "none")
    assert b_w2["forecast_run_id"] is None and b_w2["recommended_order_qty"] == 0.0
    # D W2: no primary supplier: no lead time and nothing that needs it
    assert d_w2["primary_supplier_id"] is None and d_w2["lead_time_source"] is None
    assert d_w2["safety_stock"] is None and d_w2["recommended_order_qty"] is None
    # the clamp at 0: A W2 holds more than it needs
    assert _row(built, "replenishment", "A", "W2")["recommended_order_qty"] == 0.0


def test_exceptions(built):
    rows = read(built["db"], "select * from marts.replenishment_exceptions order by sku, warehouse_id, exception_type")
    got = {(r["sku"], r["warehouse_id"], r["exception_type"]): r for r in rows.iter_rows(named=True)}
    expected = {
        ("A", "W1", "stockout_within_lead_time"): (5.0, 11.0),
        ("C", "W1", "stockout_within_lead_time"): (23.0, 30.0),
        ("B", "W2", "excess_stock"): (10 / (1 / 28), 90.0),
        ("D", "W2", "excess_stock"): (None, 90.0),
        ("C", "W1", "forecast_error_jump"): (0.9, 2.0 * 0.3),
    }
    assert set(got) == set(expected)
    for key, (value, threshold) in expected.items():
        row = got[key]
        assert _close(row["value"], value) and _close(row["threshold"], threshold), (key, row)
        assert row["as_of_date"] == AS_OF and row["detail"]
    # the stockout exceptions agree with replenishment's projected dates, worked out by hand
    assert hand("A", "W1")["days_until_stockout"] == 5 and hand("C", "W1")["days_until_stockout"] == 23
    assert hand("B", "W1")["days_until_stockout"] == 19  # after its 12-day lead time: no exception


def test_order_quantity_macro_rounds_as_the_definition_says(built):
    # (need, min_order_qty, order_multiple) -> what a buyer places, by hand
    cases = {
        (0.2, 0, 6): 6,  # up to a whole pack
        (13.1, 20, 12): 24,  # 14 units, the MOQ of 20, then two packs of 12
        (0.0, 20, 12): 0,  # no need: no order, whatever the MOQ
        (0.2, 0, 1): 1,  # no pack: whole units
        (13.1, 0, 1): 14,
        (24.0, 20, 12): 24,  # already a whole number of packs above the MOQ
        (12.000000000001, 0, 1): 12,  # float noise on a whole need costs no extra unit
        (5.0, 7, 3): 9,  # the MOQ is not a multiple of the pack: the pack wins
    }
    # needs are doubles, as replenishment's order_need_qty is
    values = ", ".join(f"(cast({need!r} as double), {moq}, {pack})" for need, moq, pack in cases)
    results = dbt(
        built["db"],
        built["tmp"],
        "compile",
        "--inline",
        "select need, moq, pack, {{ order_quantity('need', 'moq', 'pack') }} as qty "
        f"from (values {values}, (cast(null as double), 0, 1)) as grid (need, moq, pack)",
    )
    with duckdb.connect() as con:
        got = {(need, moq, pack): qty for need, moq, pack, qty in con.sql(results[0].node.compiled_code).fetchall()}
    assert got.pop((None, 0, 1)) is None
    assert got == cases
    assert all(placeable(*case) == qty for case, qty in cases.items())


def test_recommended_orders_are_whole_packs_of_at_least_the_moq(built):
    rows = {s: _row(built, "replenishment", *s) for s in SERIES}
    for series, row in rows.items():
        expected = hand(*series)
        assert (row["order_multiple"], row["min_order_qty"]) == PACKS[series[0]], series
        assert row["recommended_order_qty"] == expected["recommended_order_qty"], series
        if row["recommended_order_qty"]:
            assert row["recommended_order_qty"] % row["order_multiple"] == 0
            assert row["recommended_order_qty"] >= max(row["min_order_qty"], row["order_need_qty"])
    # the value is of the rounded quantity
    a_w1 = rows[("A", "W1")]
    assert a_w1["recommended_order_value"] == a_w1["recommended_order_qty"] * 10.0
    # C's file has no pack columns: whole units, the need rounded up by less than one
    c_w1 = rows[("C", "W1")]
    assert 0 <= c_w1["recommended_order_qty"] - c_w1["order_need_qty"] < 1 or c_w1["order_need_qty"] == 0
    # no need, no order: B W2 and A W2
    assert rows[("B", "W2")]["recommended_order_qty"] == 0 == rows[("A", "W2")]["recommended_order_qty"]
    assert rows[("D", "W2")]["recommended_order_qty"] is None  # no supplier: no lead time
    dims = read(built["db"], "select sku, order_multiple, min_order_qty from marts.dim_product order by sku").rows()
    assert dims == [(sku, *PACKS.get(sku, (1, 0))) for sku in ["A", "B", "C", "D", "E", "unknown"]]


def test_a_stale_position_gets_no_projected_stockout(built):
    e_w1, d_w2 = _row(built, "replenishment", "E", "W1"), _row(built, "replenishment", "D", "W2")
    assert (e_w1["last_seen_date"], e_w1["is_stale"]) == (date(2024, 3, 27), True)
    assert (d_w2["last_seen_date"], d_w2["is_stale"]) == (date(2024, 3, 28), False)  # exactly 3 days: not stale
    assert not any(_row(built, "replenishment", *s)["is_stale"] for s in SERIES if s != ("E", "W1"))
    # E's last-seen 3 units would run out on day 4 (3 - 4 x 1 < 0, within its 11-day lead time): not shown
    assert e_w1["projected_stockout_date"] is None and e_w1["days_until_stockout"] is None
    # its order is still worked out, from the last-seen stock and its open PO of 12, in packs of 5 (MOQ 10)
    assert (
        e_w1["inventory_position"] == 3 + 12
        and e_w1["recommended_order_qty"] == hand("E", "W1")["recommended_order_qty"]
    )
    assert e_w1["recommended_order_qty"] >= 10 and e_w1["recommended_order_qty"] % 5 == 0
    exceptions = read(built["db"], "select * from marts.replenishment_exceptions where sku = 'E'")
    assert exceptions.is_empty()


def test_expedite_lists_open_pos_promised_after_a_stockout_within_the_lead_time(built):
    rows = read(built["db"], "select * from marts.replenishment_expedite order by sku, warehouse_id, po_id").rows(
        named=True
    )
    got = [
        (r["sku"], r["warehouse_id"], r["po_id"], r["line_number"], r["supplier_id"], r["projected_stockout_date"])
        + (r["promised_date"], r["open_qty"], r["days_at_risk"])
        for r in rows
    ]
    # A W1 runs out on 04-05 (day 5 of an 11-day lead time): P10's 30 units come on 04-08, 3 days late; P11
    # (overdue, 5 open) is already counted from day 1. C W1 on 04-23 (day 23 of 30): P17's 50 on 05-01.
    assert got == [
        ("A", "W1", "P10", 1, "S1", date(2024, 4, 5), date(2024, 4, 8), 30, 3),
        ("C", "W1", "P17", 1, "S3", date(2024, 4, 23), date(2024, 5, 1), 50, 8),
    ]
    # the same by hand from the projected stockouts: within the lead time, lines promised after it
    expected = []
    for sku, wh in SERIES:
        h = hand(sku, wh)
        if h["days_until_stockout"] and h["days_until_stockout"] <= math.ceil(h["lead_time_days"]):
            expected += [
                (sku, q, due - h["days_until_stockout"]) for q, due in h["open_lines"] if due > h["days_until_stockout"]
            ]
    assert expected == [(r[0], r[7], r[8]) for r in got]
    keys = read(
        built["db"],
        "select count(*) from marts.replenishment_expedite e join marts.fct_purchase_order_lines p using (po_line_key) "
        "where p.po_id = e.po_id and p.line_number = e.line_number",
    ).item()
    assert keys == len(got)
