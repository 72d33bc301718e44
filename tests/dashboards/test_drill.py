"""Every kind of drill-down through AppTest on the fixture's warehouse: opened by its URL (?drill=) under a filter,
the page shows as many rows as the tile's count for the same filter, read here from the KPI's own mart with
plain SQL, and the CSV of those rows has them all under plain headers. Filters in the URL: a new session starts
from them, and writes them back."""

from __future__ import annotations

import io
import re

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import drill, filters, queries_drill
from dashboards.kpis import fmt
from tests.dashboards.test_pages import APP, busiest_warehouse, default_last_month, metrics

pytestmark = pytest.mark.slow


def open_app(page: str | None = None, **params: str) -> AppTest:
    """A new session opened at a URL with these query parameters (the drill-down and the filters), on `page`."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_rows(at: AppTest) -> int:
    """The drill-down's row count as its caption says it, and its table (the first of the page: the section comes
    before any other) holding that many rows; with none, the section says so instead of a table."""
    (title,) = [s.value for s in at.subheader if s.proto.anchor == "drill"]
    assert title
    counts = [int(m[1].replace(",", "")) for c in at.caption if (m := re.match(r"([\d,]+) rows\.", c.value))]
    assert len(counts) == 1, [c.value for c in at.caption]
    if counts[0]:
        assert len(at.dataframe[0].value) == counts[0]
    else:
        assert "No rows for this selection." in [m.value for m in at.success]
    return counts[0]


def month_params(month) -> dict[str, str]:
    """The URL's month range of one month."""
    return {"from": f"{month:%Y-%m}", "to": f"{month:%Y-%m}"}


def csv_rows(frame: pl.DataFrame, codes: dict[str, str] | None = None) -> pl.DataFrame:
    written = pl.read_csv(io.StringIO(drill.csv(frame, codes)), infer_schema=False)
    assert all("_" not in header for header in written.columns), written.columns  # plain headers, no column names
    return written


def top_category(marts) -> str:
    return marts.one(
        "select category from marts.dim_product where not is_unknown group by 1 order by count(*) desc, 1 limit 1"
    )


@pytest.mark.parametrize(
    ("miss", "missed"),
    [
        ("not_otif", "sum(due_lines) - sum(otif_lines)"),
        ("late", "sum(due_lines) - sum(on_time_lines)"),
        ("short", "sum(due_lines) - sum(in_full_lines)"),
        ("backorder", "sum(backorder_lines)"),
        ("delivered", "sum(delivered_lines)"),  # what order to delivery is the mean over
    ],
)
def test_fulfilment_lines_that_miss_are_the_tiles_count(data_env, marts, miss, missed):
    warehouse = busiest_warehouse(marts)
    # The month with the most such lines, so that the comparison is not of zeros.
    month, expected = marts.one(
        f"select month, {missed} from marts.kpi_fulfilment_monthly where warehouse_id = $w and month <= $m "
        "group by month order by 2 desc, month desc limit 1",
        w=warehouse,
        m=default_last_month(marts),
    )
    at = open_app("fulfilment", drill=miss, warehouse=warehouse, **month_params(month))
    assert at.selectbox(key=filters.WAREHOUSE_KEY).value == warehouse
    assert shown_rows(at) == expected
    rows = queries_drill.order_lines(str(marts.path), miss, month, month, None, warehouse, None)
    assert len(csv_rows(rows, {"channel": "channel"})) == expected
    if miss in ("late", "not_otif", "delivered"):
        assert expected > 0  # the world has late lines
    if miss == "delivered":
        days = marts.one(
            "select sum(order_to_delivery_days_sum) from marts.kpi_fulfilment_monthly where warehouse_id = $w "
            "and month = $m",
            w=warehouse,
            m=month,
        )
        assert rows["order_to_delivery_days"].sum() == pytest.approx(days)


def test_overview_orders_not_otif_are_the_tiles_count(data_env, marts):
    last = default_last_month(marts)
    due, otif = marts.one(
        "select denominator, numerator from marts.kpi_monthly where kpi = 'otif_rate' and month = $m", m=last
    )
    at = open_app(drill="orders_not_otif")
    assert shown_rows(at) == due - otif > 0
    assert len(csv_rows(queries_drill.orders(str(marts.path), "not_otif", last, last))) == due - otif


def test_inventory_stockout_days_add_up_to_the_stockout_rate(data_env, marts):
    # The category and month with the most stockout days, so that the comparison is not of zeros.
    category, month, stockout_rows = marts.one(
        "select category, month, stockout_rows from marts.kpi_inventory_monthly where warehouse_id = 'all' "
        "and category <> 'all' and month <= $m order by stockout_rows desc, month desc, category limit 1",
        m=default_last_month(marts),
    )
    at = open_app("inventory", drill="stockout_positions", category=category, **month_params(month))
    rows = queries_drill.stockout_positions(str(marts.path), month, month, category, None)
    assert shown_rows(at) == rows.height
    # One row per sku-warehouse, its days out of stock adding up to the rate's numerator.
    assert rows.select("sku", "warehouse_id").n_unique() == rows.height
    assert rows["stockout_days"].sum() == stockout_rows > 0
    assert len(csv_rows(rows)) == rows.height


def test_inventory_out_of_stock_now_is_the_tile(data_env, marts):
    at = open_app("inventory", drill="out_of_stock_now")
    tile = metrics(at)["Out of stock now"].value
    expected = marts.one("select count(*) from marts.kpi_inventory_position where on_hand_qty = 0 and not is_stale")
    assert tile == f"{expected:,}"
    assert shown_rows(at) == expected


def test_suppliers_late_received_lines_are_the_on_time_rates_misses(data_env, marts):
    month, received, on_time = marts.one(
        "select month, denominator, numerator from marts.kpi_monthly where kpi = 'supplier_on_time_rate' "
        "and month <= $m order by month desc limit 1",
        m=default_last_month(marts),
    )
    at = open_app("suppliers", drill="po_lines_late")
    assert shown_rows(at) == received - on_time > 0
    assert len(csv_rows(queries_drill.received_po_lines(str(marts.path), "late", month, month))) == received - on_time


@pytest.mark.parametrize(
    ("kind", "kpi", "count"),
    [
        ("po_lines_short", "supplier_in_full_rate", lambda rows, n, d: (rows.height, d - n)),
        ("po_lines_received", "supplier_lead_time_days", lambda rows, n, d: (rows.height, d)),
        # Inbound defects: units rejected per million received; the lines with units rejected hold the numerator.
        ("po_lines_rejected", "supplier_defect_ppm", lambda rows, n, d: (rows["quantity_rejected"].sum(), n)),
    ],
)
def test_suppliers_received_lines_behind_each_tile(data_env, marts, kind, kpi, count):
    month, numerator, denominator = marts.one(
        "select month, numerator::double, denominator::double from marts.kpi_monthly where kpi = $k and month <= $m "
        "order by month desc limit 1",
        k=kpi,
        m=default_last_month(marts),
    )
    at = open_app("suppliers", drill=kind)
    miss = kind.removeprefix("po_lines_")
    rows = queries_drill.received_po_lines(str(marts.path), miss, month, month)
    assert shown_rows(at) == rows.height
    got, expected = count(rows, numerator, denominator)
    assert got == pytest.approx(expected)
    if kind == "po_lines_received":
        assert rows["lead_time_days"].sum() == pytest.approx(numerator)  # the lead time's sum of days
    assert len(csv_rows(rows)) == rows.height


def test_inventory_positions_add_up_to_the_stock_value_now(data_env, marts):
    category = top_category(marts)
    at = open_app("inventory", drill="positions", category=category)
    value, positions = marts.one(
        "select sum(stock_value)::double, count(*) from marts.kpi_inventory_position where category = $c", c=category
    )
    assert shown_rows(at) == positions > 0
    assert metrics(at)["Stock value now"].value == fmt(value, "money")
    assert at.dataframe[0].value["stock_value"].sum() == pytest.approx(value)


def test_late_open_po_lines_follow_the_filters_on_the_overview(data_env, marts):
    warehouse = marts.one(
        "select warehouse_id from marts.kpi_open_purchase_orders where is_late group by 1 order by count(*) desc "
        "limit 1"
    )
    expected = marts.one(
        "select count(*) from marts.kpi_open_purchase_orders where is_late and warehouse_id = $w", w=warehouse
    )
    network = marts.one("select count(*) from marts.kpi_open_purchase_orders where is_late")
    at = open_app(drill="late_po_lines", warehouse=warehouse)
    assert metrics(at)["Late open PO lines"].value == f"{expected:,}"
    assert shown_rows(at) == expected
    assert len(csv_rows(queries_drill.late_open_po_lines(str(marts.path), None, warehouse))) == expected
    assert metrics(open_app())["Late open PO lines"].value == f"{network:,}"


def test_needs_a_look_exceptions_follow_the_filters(data_env, marts):
    category = marts.one(
        "select category from marts.replenishment_exceptions where exception_type = 'excess_stock' "
        "group by 1 order by count(*) desc limit 1"
    )
    expected = marts.one(
        "select count(*) from marts.replenishment_exceptions where exception_type = 'excess_stock' and category = $c",
        c=category,
    )
    at = open_app(drill="excess_stock", category=category)
    assert metrics(at)["Excess stock positions"].value == f"{expected:,}"
    assert shown_rows(at) == expected


def test_returns_of_the_rates_month_add_up_to_its_units_returned(data_env, marts):
    category = marts.one(
        "select category from marts.kpi_return_rates_monthly where category <> 'unknown' "
        "group by 1 order by sum(units_returned) desc limit 1"
    )
    month, units = marts.one(
        "select month, units_returned from marts.kpi_return_rates_monthly where category = $c and month <= $m "
        "order by month desc limit 1",
        c=category,
        m=default_last_month(marts),
    )
    at = open_app("returns", drill="returns_of_orders", category=category)
    shown = shown_rows(at)
    rows = queries_drill.returns_of_orders(str(marts.path), month, month, category)
    assert rows.height == shown
    assert rows["quantity_returned"].sum() == units > 0
    assert len(csv_rows(rows, {"reason_code": "reason"})) == shown


def test_returns_of_a_reason_are_the_reasons_count(data_env, marts):
    months = marts.rows("select distinct month from marts.kpi_returns_monthly order by month")
    first, last = months[0][0], months[-1][0]
    reason, returns = marts.one(
        "select reason_code, sum(return_count) from marts.kpi_returns_monthly group by 1 order by 2 desc limit 1"
    )
    at = open_app("returns", drill=f"reason_{reason}", **{"from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}"})
    assert at.select_slider(key=filters.MONTHS_KEY).value == (first, last)
    assert shown_rows(at) == returns > 0
    written = csv_rows(
        queries_drill.returns_requested(str(marts.path), first, last, None, reason), {"reason_code": "reason"}
    )
    assert len(written) == returns
    assert written["Reason"].unique().to_list() == [written["Reason"][0]] and "_" not in written["Reason"][0]


def test_an_unknown_drill_down_or_filter_in_the_url_shows_the_defaults(data_env, marts):
    at = open_app("fulfilment", drill="no_such_rows", category="No such category", channel="", **{"from": "1999-01"})
    assert not [s for s in at.subheader if s.proto.anchor == "drill"]
    assert at.selectbox(key=filters.CATEGORY_KEY).value is None
    assert at.select_slider(key=filters.MONTHS_KEY).value[1] == default_last_month(marts)


def test_the_filters_are_written_to_the_url(data_env, marts):
    warehouse = busiest_warehouse(marts)
    at = open_app()
    assert "warehouse" not in at.query_params
    at.selectbox(key=filters.WAREHOUSE_KEY).set_value(warehouse).run()
    assert at.query_params["warehouse"] == warehouse
    months = [m for (m,) in marts.rows("select distinct month from marts.kpi_monthly order by month")]
    at.select_slider(key=filters.MONTHS_KEY).set_range(months[-3], months[-2]).run()
    assert (at.query_params["from"], at.query_params["to"]) == (f"{months[-3]:%Y-%m}", f"{months[-2]:%Y-%m}")
    at.selectbox(key=filters.WAREHOUSE_KEY).set_value(None).run()
    assert "warehouse" not in at.query_params
