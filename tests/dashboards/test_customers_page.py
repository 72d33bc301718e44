"""The Customers & Finance page through AppTest on the fixture's warehouse: its tiles are the marts' months, its
range figures the marts' rows summed here by hand (numerators and denominators apart, divided once), its customer
figures follow the channel filter, and its segment shares are dim_customer's revenue summed per segment. And the
dbt exposures are the app's pages, each naming the marts its page's queries read."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest
import yaml

from dashboards import filters, labels, queries_customers
from dashboards.kpis import KPIS, fmt, fmt_delta
from tests.dashboards.test_pages import default_last_month, metrics, run_app

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboards" / "app.py"
EXPOSURES = ROOT / "dbt_project" / "models" / "exposures.yml"
DIM_CUSTOMER = ROOT / "dbt_project" / "models" / "marts" / "core" / "dim_customer.yml"

# Tile label -> (kpi of kpi_monthly, its column that the tile shows).
FINANCE_TILES = {
    "Revenue": ("revenue", "value"),
    "Gross margin": ("gross_margin_rate", "numerator"),
    "Gross margin rate": ("gross_margin_rate", "value"),
    "Cash-to-cash": ("cash_to_cash_days", "value"),
    "Days inventory (DIO)": ("days_inventory_outstanding", "value"),
    "Days sales (DSO)": ("dso_days", "value"),
    "Days payable (DPO)": ("dpo_days", "value"),
}
TILE_KPI = {"Gross margin": "gross_margin"}
CUSTOMER_TILES = {
    "Active customers": "active_customers",
    "New customers": "new_customers",
    "Repeat customers": "repeat_customers",
    "Repeat customer rate": "repeat_customer_rate",
    "Average order value": "average_order_value",
}


def latest_two(rows: list[tuple]) -> tuple[float, float | None]:
    """The last value of (month, value) rows in month order, and the one before it."""
    values = [v for _, v in rows if v is not None]
    return values[-1], (values[-2] if len(values) > 1 else None)


def finance_rows(marts, first, last) -> dict[str, list[tuple]]:
    rows = marts.rows(
        "select kpi, month, value, numerator, denominator from marts.kpi_monthly "
        "where month between $first and $last order by month",
        first=first,
        last=last,
    )
    by_kpi: dict[str, list[tuple]] = {}
    for kpi, month, value, numerator, denominator in rows:
        by_kpi.setdefault(kpi, []).append((month, {"value": value, "numerator": numerator, "denominator": denominator}))
    return by_kpi


def customer_rows(marts, first, last, channel: str) -> list[dict]:
    columns = ["month", *CUSTOMER_TILES.values(), "orders"]
    rows = marts.rows(
        f"select {', '.join(columns)} from marts.kpi_customers_monthly "
        "where channel = $channel and month between $first and $last order by month",
        channel=channel,
        first=first,
        last=last,
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


def assert_finance(shown, marts, first, last):
    by_kpi = finance_rows(marts, first, last)
    for label, (kpi, column) in FINANCE_TILES.items():
        value, previous = latest_two([(m, parts[column]) for m, parts in by_kpi[kpi]])
        unit = KPIS[TILE_KPI.get(label, kpi)].unit
        assert shown[label].value == fmt(value, unit), label
        assert shown[label].delta == str(fmt_delta(value, previous, unit)), label
    # Over the range: the months' revenue summed; the margin's numerators and denominators summed, divided once.
    revenue = sum(float(parts["value"]) for _, parts in by_kpi["revenue"])
    margin = sum(parts["numerator"] for _, parts in by_kpi["gross_margin_rate"])
    shipped = sum(parts["denominator"] for _, parts in by_kpi["gross_margin_rate"])
    assert shown["Revenue over the range"].value == fmt(revenue, "money")
    assert shown["Gross margin over the range"].value == fmt(margin, "money")
    assert shown["Gross margin rate over the range"].value == fmt(margin / shipped, "rate")


def assert_customers(shown, marts, first, last, channel: str):
    rows = customer_rows(marts, first, last, channel)
    for label, kpi in CUSTOMER_TILES.items():
        value, previous = latest_two([(r["month"], r[kpi]) for r in rows])
        assert shown[label].value == fmt(value, KPIS[kpi].unit), label
        assert shown[label].delta == str(fmt_delta(value, previous, KPIS[kpi].unit)), label
    # New customers add up over months (each customer's first month is one month); active ones do not.
    assert shown["New customers over the range"].value == f"{sum(r['new_customers'] for r in rows):,}"
    assert shown["Orders over the range"].value == f"{sum(r['orders'] for r in rows):,}"


@pytest.mark.slow
def test_the_page_shows_the_marts_for_the_default_range(data_env, marts):
    at = run_app("customers")
    assert at.title[0].value == "Customers & Finance"
    first, last = at.select_slider(key=filters.MONTHS_KEY).value
    assert last == default_last_month(marts)
    shown = metrics(at)
    assert_finance(shown, marts, first, last)
    assert_customers(shown, marts, first, last, "all")

    # The segments: dim_customer's customers and revenue, summed per segment and over all known customers.
    customers = marts.rows("select rfm_segment, revenue from marts.dim_customer where not is_unknown")
    total = sum(float(r) for _, r in customers)
    for segment in ("champions", "at_risk"):
        revenue = sum(float(r) for s, r in customers if s == segment)
        label = f"{labels.RFM_SEGMENTS[segment]}: revenue share"
        assert shown[label].value == fmt(revenue / total, "rate"), segment
    assert shown["Customers"].value == f"{len(customers):,}"
    table = at.dataframe[-1].value
    counts = {labels.RFM_SEGMENTS[s]: sum(1 for c, _ in customers if c == s) for s, _ in customers}
    assert dict(zip(table["rfm_segment"], table["customers"], strict=True)) == counts
    shares = dict(zip(table["rfm_segment"], table["revenue_share"], strict=True))
    assert sum(shares.values()) == pytest.approx(1)


def drill_rows(at, column: str):
    """The drill-down's table: the one frame on the page with `column`."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


@pytest.mark.slow
def test_the_revenue_and_a_segment_open_their_rows(data_env, marts):
    at = run_app("customers")
    last = default_last_month(marts)
    at.button(key="drill_open_revenue").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["drill"] == "revenue_lines"
    rows = drill_rows(at, "ordered_value")
    revenue = marts.one("select value from marts.kpi_monthly where kpi = 'revenue' and month = $m", m=last)
    assert rows["ordered_value"].sum() == pytest.approx(float(revenue))
    assert at.get("download_button"), "no CSV download"

    at.button(key="drill_open_segment_at_risk").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rows = drill_rows(at, "monetary_score")
    expected = marts.rows("select customer_id from marts.dim_customer where rfm_segment = 'at_risk' and not is_unknown")
    assert sorted(rows["customer_id"]) == sorted(c for (c,) in expected)
    assert rows["recency_score"].max() <= 2 and rows["frequency_score"].min() >= 3  # the segment's rule


@pytest.mark.slow
def test_a_channel_and_a_shorter_range_apply_to_the_customers_only(data_env, marts):
    months = [m for (m,) in marts.rows("select distinct month from marts.kpi_monthly order by month")]
    first, last = months[1], months[3]
    channel = marts.one(
        "select channel from marts.kpi_customers_monthly where channel <> 'all' "
        "group by 1 order by sum(revenue) desc limit 1"
    )
    at = run_app("customers", **{filters.CHANNEL_KEY: channel})
    # Moved on the page itself: a range set before switching pages does not reach the page's first run.
    at.select_slider(key=filters.MONTHS_KEY).set_range(first, last).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.select_slider(key=filters.MONTHS_KEY).value == (first, last)
    shown = metrics(at)
    assert_finance(shown, marts, first, last)  # network-wide whatever the channel
    assert_customers(shown, marts, first, last, channel)
    assert f"Customers, {labels.code('channel', channel)}" in [s.value for s in at.subheader]
    assert any("channel" in c.value and "finance KPIs are network-wide" in c.value for c in at.caption)
    # The channel's customers are fewer than the network's in the latest month of the range.
    (network,) = [r["active_customers"] for r in customer_rows(marts, last, last, "all")]
    assert shown["Active customers"].value != f"{network:,}"


def test_every_segment_has_a_label_and_a_place():
    accepted = next(
        test["accepted_values"]["arguments"]["values"]
        for column in yaml.safe_load(DIM_CUSTOMER.read_text())["models"][0]["columns"]
        if column["name"] == "rfm_segment"
        for test in column["data_tests"]
        if isinstance(test, dict) and "accepted_values" in test
    )
    segments = set(accepted) - {"unknown"}  # the unknown member, which the page leaves out
    assert set(labels.RFM_SEGMENTS) == segments
    assert set(queries_customers.RFM_SEGMENTS) == segments
    assert all(labels.code("segment", s) != s for s in segments)


def page_scripts() -> dict[str, str]:
    """{url_path: script} of every page the navigation shows (app.py's `st.Page(...)` calls)."""
    pages = {}
    for node in ast.walk(ast.parse(APP.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Page":
            options = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            if options.get("visibility") != "hidden":
                pages[options["url_path"]] = node.args[0].value
    return pages


def marts_read(script: str) -> set[str]:
    """The marts named in the SQL of every query function a page script calls (dashboards/queries*.py)."""
    tree = ast.parse((APP.parent / script).read_text())
    modules = {
        alias.asname or alias.name: importlib.import_module(f"dashboards.{alias.name}")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "dashboards"
        for alias in node.names
        if alias.name.startswith("queries")
    }
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in modules:
                function = getattr(modules[owner.id], node.func.attr)
                source = inspect.getsource(getattr(function, "__wrapped__", function))
                read |= set(re.findall(r"\bmarts\.(\w+)", source))
    return read


def test_the_exposures_are_the_pages_with_the_marts_they_read():
    pages = page_scripts()
    assert "customers" in pages
    exposures = {e["name"]: e for e in yaml.safe_load(EXPOSURES.read_text())["exposures"]}
    assert set(exposures) == set(pages)
    for name, script in pages.items():
        named = {re.fullmatch(r"ref\('(\w+)'\)", d)[1] for d in exposures[name]["depends_on"]}
        read = marts_read(script)
        assert named <= read, f"{name}: depends_on names marts its queries do not read: {named - read}"
        # A dimension that only names things may be left out; every other mart read is named.
        missing = {m for m in read - named if not m.startswith("dim_")}
        assert not missing, f"{name}: its queries read marts depends_on does not name: {missing}"
    assert {re.fullmatch(r"ref\('(\w+)'\)", d)[1] for d in exposures["customers"]["depends_on"]} == {
        "kpi_monthly",
        "kpi_customers_monthly",
        "dim_customer",
        "fct_order_lines",
    }
