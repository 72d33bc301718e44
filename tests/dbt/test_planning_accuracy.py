"""Safety stock from the lead-time quantile and the accuracy marts, on test_replenishment's tiny world.

The same landing files and forecasting runs as test_replenishment.py (A W1 from run-2; A W2, B W1, C W1
from run-1; B W2 and D W2 without a forecast), as the rebuilt forecasting hands them over: every series
with a demand class and a reason, backtest metrics with RMSSE, each run's backtest forecasts and its
lead-time error quantiles.

Lead-time errors (demand class, lead days, probability -> relative error, level floor):
  run-2  smooth 11 0.95 -> 0.25, 3.0 (A W1: L = ceil(10.6) = 11; its D_L = 26.5 is below 3 x 11 = 33, the
         floor counts); smooth 11 0.90 (another service level) and smooth 12 0.95 (another lead time): unused
  run-1  smooth 12 0.95 -> 0.4, 0.1 (B W1: L = 12); smooth 28 0.95 -> 0.3, 0.2 (C W1: L̄ = 30 > 28, scaled by
         sqrt(30 / 28)); smooth 11 0.95 -> 9.0, 0.1 (E W1; A W1 takes run-2's); erratic 12 0.95 (A W2 is
         erratic but its L is 11: the normal formula)
So A W1, B W1, C W1 and E W1 use the quantile, A W2, B W2 (no run, no class) the normal formula, D W2 none.

Backtest forecasts: two cut-offs per run (28 and 56 days before its cut-off), 28 days each; the actual is
censored on the 13th of a month; B W1's selected model is seasonal naive, so it has one set of rows.
The expected values are computed here from the rows written, with plain loops.
"""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from tests.dbt.test_replenishment import (
    CREATED,
    CUTOFF,
    RUN_1,
    RUN_2,
    SELECTION,
    SERIES,
    SERVICE_LEVEL,
    _close,
    _forecast_run,
    _ingest,
    _write_landing,
    dbt,
    forecast_by_day,
    hand,
    placeable,
    read,
)

pytestmark = pytest.mark.slow

MAX_DAYS = 28
DEMAND_CLASS = {
    (RUN_1, "A", "W1"): "smooth",
    (RUN_1, "A", "W2"): "erratic",
    (RUN_1, "B", "W1"): "smooth",
    (RUN_1, "C", "W1"): "smooth",
    (RUN_1, "E", "W1"): "smooth",
    (RUN_2, "A", "W1"): "smooth",
}
LEAD_TIME_ERRORS = {
    RUN_2: [("smooth", 11, 0.95, 0.25, 3.0), ("smooth", 11, 0.90, 9.0, 3.0), ("smooth", 12, 0.95, 9.0, 3.0)],
    RUN_1: [
        ("smooth", 12, 0.95, 0.4, 0.1),
        ("smooth", 28, 0.95, 0.3, 0.2),
        ("smooth", 11, 0.95, 9.0, 0.1),
        ("erratic", 12, 0.95, 9.0, 0.1),
    ],
}
# The selected model's backtest RMSSE per (run, sku, warehouse); the other model's is 2.0.
RMSSE = {
    (RUN_1, "A", "W1"): 0.5,
    (RUN_1, "A", "W2"): 0.75,
    (RUN_1, "B", "W1"): 1.25,
    (RUN_1, "C", "W1"): 0.5,
    (RUN_1, "E", "W1"): 0.5,
}
RMSSE[(RUN_2, "A", "W1")] = 0.8
BACKTEST_SERIES = [(RUN_1, "A", "W1"), (RUN_1, "A", "W2"), (RUN_1, "B", "W1"), (RUN_1, "C", "W1"), (RUN_2, "A", "W1")]
CATEGORY = {"A": "Tools", "B": "Tools", "C": "Garden", "D": "Garden"}


def _actual(day: date, sku: str) -> float | None:
    if day.day == 13:
        return None  # censored: out of stock that day
    return float((day.day * (2 if sku == "C" else 1)) % 5)


def _yhat(model: str, k: int, sku: str) -> float:
    if model == "seasonal_naive":
        return 2.0 + (k % 7 == 0)
    return 1.5 + 0.5 * (k % 3) + (sku == "C")


def backtest_rows(run: str) -> list[dict]:
    rows = []
    for r, sku, wh in BACKTEST_SERIES:
        if r != run:
            continue
        selected = SELECTION[(run, sku, wh)][0]
        for cutoff in (CUTOFF[run] - timedelta(days=56), CUTOFF[run] - timedelta(days=28)):
            for model in dict.fromkeys((selected, "seasonal_naive")):
                for k in range(1, MAX_DAYS + 1):
                    day = cutoff + timedelta(days=k)
                    rows.append(
                        {
                            "sku": sku,
                            "warehouse_id": wh,
                            "backtest_cutoff": cutoff,
                            "forecast_date": day,
                            "model": model,
                            "yhat": _yhat(model, k, sku),
                            "actual": _actual(day, sku),
                        }
                    )
    return rows


def new_run(run_id: str):
    from forecasting import store

    run = _forecast_run(run_id)
    keys = ["sku", "warehouse_id"]
    per_series = pl.DataFrame(
        [
            {"sku": sku, "warehouse_id": wh, "demand_class": c, "_rmsse": RMSSE[(r, sku, wh)]}
            for (r, sku, wh), c in DEMAND_CLASS.items()
            if r == run_id
        ]
    )
    # test_replenishment's run carries whatever columns the forecasting code's schema has: replace them
    run.selection = (
        run.selection.drop("demand_class", "reason", strict=False)
        .join(per_series.drop("_rmsse"), on=keys)
        .with_columns(reason=pl.lit("group: lowest score"))
    )
    selected = run.selection.select(*keys, pl.col("model").alias("_selected"))
    run.metrics = (
        run.metrics.join(selected, on=keys)
        .join(per_series.select(*keys, "_rmsse"), on=keys)
        .with_columns(
            rmsse=pl.when(pl.col("model") == pl.col("_selected")).then(pl.col("_rmsse")).otherwise(2.0),
            lead_time_error=pl.lit(0.1),
        )
        .drop("_selected", "_rmsse")
    )
    run.backtest = pl.DataFrame(backtest_rows(run_id), schema=store.BACKTEST_SCHEMA)
    run.lead_time_errors = pl.DataFrame(
        [
            {"demand_class": c, "lead_days": n, "probability": p, "relative_error": e, "level_floor": f}
            for c, n, p, e, f in LEAD_TIME_ERRORS[run_id]
        ],
        schema=store.LEAD_TIME_ERROR_SCHEMA,
    )
    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    from forecasting.store import write_run

    tmp = tmp_path_factory.mktemp("planning_accuracy")
    landing, db = tmp / "landing", tmp / "warehouse.duckdb"
    _write_landing(landing)
    _ingest(landing, db)
    with duckdb.connect(str(db)) as con:
        for run, scope in ((RUN_1, "all"), (RUN_2, "Tools")):
            write_run(con, new_run(run), run, CUTOFF[run], scope, CREATED[run])
    results = dbt(db, tmp, "build", "--select", "+tag:planning", "--indirect-selection", "cautious")
    return {"tmp": tmp, "db": db, "results": results}


def _row(built: dict, table: str, where: str) -> dict:
    rows = read(built["db"], f"select * from marts.{table} where {where}")
    assert rows.height == 1, f"{table} {where}: {rows.height} rows"
    return rows.row(0, named=True)


# --- safety stock ---------------------------------------------------------------------------------------

LATEST_RUN = {("A", "W1"): RUN_2, ("A", "W2"): RUN_1, ("B", "W1"): RUN_1, ("C", "W1"): RUN_1, ("E", "W1"): RUN_1}


def hand_quantile(sku: str, warehouse: str) -> dict:
    """hand() of test_replenishment with the safety stock of the lead-time quantile where it applies."""
    out = hand(sku, warehouse)
    lead = out["lead_time_days"]
    out["lead_days"] = None if lead is None else min(max(math.ceil(lead), 1), MAX_DAYS)
    run = LATEST_RUN.get((sku, warehouse))
    forecast = forecast_by_day(run, sku, warehouse) if run else {}
    out["lead_time_demand"] = None if lead is None else sum(v for n, v in forecast.items() if n <= out["lead_days"])
    match = [
        (e, f)
        for c, n, p, e, f in LEAD_TIME_ERRORS.get(run, [])
        if c == DEMAND_CLASS[(run, sku, warehouse)] and n == out["lead_days"] and p == SERVICE_LEVEL
    ]
    out["safety_stock_method"] = None if lead is None else ("lead_time_quantile" if match else "normal")
    if match:
        (relative_error, floor), big_l = match[0], out["lead_days"]
        d_l = out["lead_time_demand"]
        q_l = d_l + relative_error * max(d_l, floor * big_l)
        term = max(q_l - d_l, 0.0) * (math.sqrt(max(lead, 1) / big_l) if lead > MAX_DAYS else 1.0)
        safety = math.sqrt(term**2 + (out["z"] * out["avg_daily_forecast"] * out["lead_time_sd"]) ** 2)
        rop = out["avg_daily_forecast"] * lead + safety
        need = max(0.0, rop + out["forecast_review_period_demand"] - out["inventory_position"])
        qty = placeable(need, out["min_order_qty"], out["order_multiple"])
        out.update(
            lead_time_demand_term=term,
            safety_stock=safety,
            reorder_point=rop,
            order_need_qty=need,
            recommended_order_qty=qty,
            recommended_order_value=qty * out["unit_cost"],
        )
    else:
        out["lead_time_demand_term"] = None
    return out


def test_the_hand_computation_picks_each_method_where_the_world_says():
    methods = {s: hand_quantile(*s)["safety_stock_method"] for s in SERIES}
    assert methods == {
        ("A", "W1"): "lead_time_quantile",
        ("A", "W2"): "normal",
        ("B", "W1"): "lead_time_quantile",
        ("B", "W2"): "normal",
        ("C", "W1"): "lead_time_quantile",
        ("D", "W2"): None,
        ("E", "W1"): "lead_time_quantile",  # smooth in run-1, L = ceil(10.6) = 11: run-1's smooth 11 0.95
    }
    a_w1 = hand_quantile("A", "W1")  # the level floor: 0.25 x max(27.25, 3 x 11)
    assert a_w1["lead_time_demand"] == 26.5 and a_w1["lead_time_demand_term"] == 0.25 * 33
    c_w1 = hand_quantile("C", "W1")  # 26 forecast days after the as-of date, L̄ = 30 > 28
    assert c_w1["lead_days"] == 28 and c_w1["safety_stock"] == pytest.approx(
        0.3 * sum(1 + 0.125 * (n + 2) for n in range(1, 27)) * math.sqrt(30 / 28), rel=1e-12
    )


@pytest.mark.parametrize("series", SERIES, ids=[f"{s}-{w}" for s, w in SERIES])
def test_safety_stock_agrees_with_the_hand_computation(built, series):
    sku, warehouse = series
    row = _row(built, "replenishment", f"sku = '{sku}' and warehouse_id = '{warehouse}'")
    expected = hand_quantile(sku, warehouse)
    assert row["safety_stock_method"] == expected["safety_stock_method"]
    assert row["lead_days"] == expected["lead_days"]
    run = LATEST_RUN.get(series)
    assert row["demand_class"] == (DEMAND_CLASS[(run, sku, warehouse)] if run else None)
    # z enters the quantile method only through the lead-time variability term: its bound covers it
    z_part = expected["safety_stock"] or 0.0
    for col in (
        "lead_time_demand",
        "lead_time_demand_term",
        "safety_stock",
        "reorder_point",
        "order_need_qty",
        "recommended_order_qty",
        "recommended_order_value",
    ):
        scale = expected["unit_cost"] if col == "recommended_order_value" else 1.0
        assert _close(row[col], expected[col], z_part * scale), (col, row[col], expected[col])


# --- accuracy marts -------------------------------------------------------------------------------------


def _scored(run: str, sku: str, wh: str) -> list[tuple[date, int, float, float, float]]:
    """(backtest cut-off, horizon day, actual, selected forecast, seasonal naive) of the scored days."""
    selected = SELECTION[(run, sku, wh)][0]
    rows = [r for r in backtest_rows(run) if (r["sku"], r["warehouse_id"]) == (sku, wh)]
    by_day: dict[tuple[date, date], dict] = {}
    for r in rows:
        by_day.setdefault((r["backtest_cutoff"], r["forecast_date"]), {"actual": r["actual"]})[r["model"]] = r["yhat"]
    return [
        (cut, (day - cut).days, v["actual"], v[selected], v["seasonal_naive"])
        for (cut, day), v in sorted(by_day.items())
        if v["actual"] is not None
    ]


def test_daily_rows_come_from_the_latest_run_and_pair_the_two_forecasts(built):
    rows = read(built["db"], "select * from marts.forecast_accuracy_daily")
    runs = dict(
        rows.group_by("sku", "warehouse_id")
        .agg(pl.col("run_id").unique())
        .select(pl.concat_str("sku", "warehouse_id", separator=" "), pl.col("run_id").list.first())
        .rows()
    )
    assert runs == {"A W1": RUN_2, "A W2": RUN_1, "B W1": RUN_1, "C W1": RUN_1}
    assert rows.height == 4 * 2 * MAX_DAYS  # series x cut-offs x days, one row per day
    censored = rows.filter(pl.col("forecast_date").dt.day() == 13)
    assert (
        censored.height > 0
        and not censored["is_scored"].any()
        and censored["abs_error"].null_count() == censored.height
    )
    b_w1 = rows.filter(pl.col("sku") == "B")  # selected seasonal naive: both forecasts are its own
    assert (b_w1["forecast"] == b_w1["seasonal_naive_forecast"]).all()
    a_w1 = rows.filter((pl.col("sku") == "A") & (pl.col("warehouse_id") == "W1"))
    assert a_w1["category"].unique().to_list() == ["Tools"] and a_w1["demand_class"].unique().to_list() == ["smooth"]
    assert sorted(a_w1["horizon_day"].unique()) == list(range(1, MAX_DAYS + 1))


def test_rollup_values_computed_by_hand(built):
    rollup = read(built["db"], "select * from marts.forecast_accuracy_rollup")
    # run-1, all categories and warehouses: A W2, B W1 and C W1 (its A W1 is run-2's)
    series = [("A", "W2"), ("B", "W1"), ("C", "W1")]
    days = [d for s in series for d in _scored(RUN_1, *s)]
    numerator = sum(abs(f - a) for _, _, a, f, _ in days)
    denominator = sum(a for _, _, a, _, _ in days)
    snaive = sum(abs(sn - a) for _, _, a, _, sn in days)
    row = rollup.filter((pl.col("run_id") == RUN_1) & (pl.col("category") == "all") & (pl.col("warehouse_id") == "all"))
    assert row.height == 1
    row = row.row(0, named=True)
    assert row["n_series"] == 3 and row["days_scored"] == len(days)
    assert _close(row["wape_numerator"], numerator) and _close(row["wape_denominator"], denominator)
    assert _close(row["seasonal_naive_wape_numerator"], snaive)
    assert _close(row["wape"], numerator / denominator)
    assert _close(row["forecast_value_added"], snaive / denominator - numerator / denominator)
    assert _close(row["rmsse_mean"], statistics.mean(RMSSE[(RUN_1, *s)] for s in series))
    # run-1, Tools at W1: B W1 alone, whose selected model is seasonal naive: no value added
    tools = rollup.filter(
        (pl.col("run_id") == RUN_1) & (pl.col("category") == "Tools") & (pl.col("warehouse_id") == "W1")
    )
    assert tools["forecast_value_added"].to_list() == [0.0] and tools["n_series"].to_list() == [1]
    # the grain: per run, every category x warehouse with series, their 'all's
    keys = set(rollup.select("run_id", "category", "warehouse_id").rows())
    assert keys == {
        (RUN_1, "Tools", "W1"),
        (RUN_1, "Tools", "W2"),
        (RUN_1, "Garden", "W1"),
        (RUN_1, "Tools", "all"),
        (RUN_1, "Garden", "all"),
        (RUN_1, "all", "W1"),
        (RUN_1, "all", "W2"),
        (RUN_1, "all", "all"),
        (RUN_2, "Tools", "W1"),
        (RUN_2, "Tools", "all"),
        (RUN_2, "all", "W1"),
        (RUN_2, "all", "all"),
    }


def test_lead_time_sums_cover_the_first_l_days(built):
    # A W1 (run-2): L = 11; C W1 (run-1): L̄ = 30, capped at 28
    for (run, sku, wh), big_l in (((RUN_2, "A", "W1"), 11), ((RUN_1, "C", "W1"), 28)):
        cut = CUTOFF[run] - timedelta(days=28)
        days = [d for d in _scored(run, sku, wh) if d[0] == cut and d[1] <= big_l]
        actual, forecast = sum(d[2] for d in days), sum(d[3] for d in days)
        row = _row(
            built,
            "forecast_accuracy_lead_time",
            f"sku = '{sku}' and warehouse_id = '{wh}' and backtest_cutoff = date '{cut.isoformat()}'",
        )
        assert (row["lead_days"], row["days_scored"]) == (big_l, len(days))
        assert row["all_days_scored"] == (len(days) == big_l) and len(days) < big_l  # the 13th is censored
        assert _close(row["actual"], actual) and _close(row["forecast"], forecast)
        assert _close(row["abs_error"], abs(forecast - actual))
        assert _close(row["relative_abs_error"], abs(forecast - actual) / actual)
        assert _close(row["relative_error"], (actual - forecast) / forecast)


def test_weekly_sums_by_iso_week(built):
    # A W1, run-2's first backtest cut-off (2024-02-04, a Sunday): its first ISO week is 2024-02-05 .. 02-11,
    # and 2024-02-13 (censored) falls in the second
    cut = CUTOFF[RUN_2] - timedelta(days=56)
    weekly = read(
        built["db"],
        "select * from marts.forecast_accuracy_weekly where sku = 'A' and warehouse_id = 'W1' "
        f"and backtest_cutoff = date '{cut.isoformat()}' order by week_start",
    )
    assert cut == date(2024, 2, 4) and weekly["week_start"].to_list() == [
        date(2024, 2, 5) + timedelta(weeks=w) for w in range(4)
    ]
    assert weekly["iso_week"].to_list() == ["2024-W06", "2024-W07", "2024-W08", "2024-W09"]
    second = weekly.row(1, named=True)
    days = [d for d in _scored(RUN_2, "A", "W1") if d[0] == cut and 8 <= d[1] <= 14]
    assert (second["days_in_week"], second["days_scored"]) == (7, 6) and len(days) == 6
    assert _close(second["actual"], sum(d[2] for d in days)) and _close(second["forecast"], sum(d[3] for d in days))
    assert _close(second["abs_error"], sum(abs(d[3] - d[2]) for d in days))
    assert _close(second["seasonal_naive_abs_error"], sum(abs(d[4] - d[2]) for d in days))
    assert _close(second["abs_error_of_sum"], abs(sum(d[3] - d[2] for d in days)))


def test_forecast_accuracy_shows_the_new_columns(built):
    rows = read(built["db"], "select * from marts.forecast_accuracy where sku = 'A' and warehouse_id = 'W1'")
    got = {r["model"]: r for r in rows.iter_rows(named=True)}
    assert got["moving_average"]["rmsse"] == 0.8 and got["seasonal_naive"]["rmsse"] == 2.0
    assert {r["demand_class"] for r in got.values()} == {"smooth"}
    assert {r["selection_reason"] for r in got.values()} == {"group: lowest score"}
    assert {r["lead_time_error"] for r in got.values()} == {0.1}


def test_build_ran_the_new_marts(built):
    ran = {r.node.name for r in built["results"] if str(r.node.resource_type) == "model"}
    assert {
        "int_product_lead_times",
        "forecast_accuracy_daily",
        "forecast_accuracy_weekly",
        "forecast_accuracy_lead_time",
        "forecast_accuracy_rollup",
    } <= ran
    unit_tests = {r.node.name for r in built["results"] if str(r.node.resource_type) == "unit_test"}
    assert "replenishment_lead_time_quantile" in unit_tests
