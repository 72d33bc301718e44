"""Every page through Streamlit's AppTest on the fixture's warehouse: it renders without an exception, and the
numbers it shows are the marts' own, read here with plain SQL for the same filter (under a filter, the mart's
numerators summed and divided once)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from dashboards import filters
from dashboards.formatting import EMPTY
from dashboards.kpis import KPIS, fmt, fmt_delta

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboards" / "app.py"
EXPOSURES = ROOT / "dbt_project" / "models" / "exposures.yml"
pytestmark = pytest.mark.slow

HEADLINE = {
    "OTIF": "otif_rate",
    "Fill rate": "unit_fill_rate",
    "Perfect order rate": "perfect_order_rate",
    "Inventory value": "inventory_value",
    "Inventory turns": "inventory_turns",
    "Stockout rate": "stockout_rate",
    "Supplier on-time": "supplier_on_time_rate",
    "Return rate": "return_rate_units",
}


def run_app(page: str | None = None, months: tuple[date, date] | None = None, **selectboxes) -> AppTest:
    """Open the app, set the sidebar filters, go to `page`; fails on any exception the app shows."""
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    if months:
        at.select_slider(key=filters.MONTHS_KEY).set_range(*months)
    for key, value in selectboxes.items():
        at.selectbox(key=key).set_value(value)
    if page:
        at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, object]:
    return {m.label: m for m in at.metric}


def default_last_month(marts) -> date:
    """The as-of date's own month (the latest month with KPIs up to it): where the month slider ends by default."""
    return marts.one("""
        select max(month) from marts.kpi_monthly cross join meta.snapshot s where month <= s.as_of_date
    """)


def kpi_points(marts, kpi: str, last: date) -> list[tuple[date, float]]:
    return marts.rows(
        "select month, value from marts.kpi_monthly where kpi = $kpi and month <= $last order by month desc limit 2",
        kpi=kpi,
        last=last,
    )


def test_overview_headline_kpis_are_kpi_monthly(data_env, marts):
    at = run_app()
    assert at.title[0].value == "Overview"
    shown = metrics(at)
    last = default_last_month(marts)
    for label, kpi in HEADLINE.items():
        (month, value), (_, previous) = kpi_points(marts, kpi, last)
        assert shown[label].value == fmt(value, KPIS[kpi].unit), (label, month)
        assert shown[label].delta == str(fmt_delta(value, previous, KPIS[kpi].unit)), label
    # The selected models' WAPE over all series: sum |error| / sum actual over their scored backtest days.
    wape = marts.one("select sum(abs_error) / sum(actual) from marts.forecast_accuracy_daily where is_scored")
    assert shown["Forecast WAPE"].value == fmt(wape, "rate")
    # Sidebar freshness: the run that published the snapshot.
    run_id = marts.one("select run_id from meta.snapshot")
    assert any(run_id[:8] in m.value for m in at.sidebar.markdown)


def test_overview_month_range_up_to_the_as_of_month_shows_the_latest_month(data_env, marts):
    months = marts.rows("select distinct month from marts.kpi_monthly order by month")
    at = run_app(months=(months[0][0], months[-1][0]))
    latest = marts.one("select value from marts.kpi_monthly where kpi = 'otif_rate' order by month desc limit 1")
    assert metrics(at)["OTIF"].value == fmt(latest, "rate")


def busiest_warehouse(marts) -> str:
    return marts.one(
        "select warehouse_id from marts.kpi_fulfilment_monthly where warehouse_id <> 'unknown' "
        "group by warehouse_id order by sum(due_lines) desc limit 1"
    )


def test_fulfilment_sums_the_mart_under_a_warehouse_filter(data_env, marts):
    last = default_last_month(marts)
    network = metrics(run_app("fulfilment"))
    # Unfiltered, the summed mart is kpi_monthly's line_otif_rate.
    (_, line_otif), _ = kpi_points(marts, "line_otif_rate", last)
    assert network["Line OTIF"].value == fmt(line_otif, "rate")

    warehouse = busiest_warehouse(marts)
    shown = metrics(run_app("fulfilment", **{filters.WAREHOUSE_KEY: warehouse}))
    month, otif, on_time, fill = marts.one(
        """
        select month, sum(otif_lines) / sum(due_lines), sum(on_time_lines) / sum(due_lines),
               sum(units_shipped) / sum(units_ordered)
        from marts.kpi_fulfilment_monthly
        where warehouse_id = $w and month <= $last
        group by month order by month desc limit 1
    """,
        w=warehouse,
        last=last,
    )
    assert shown["Line OTIF"].value == fmt(otif, "rate")
    assert shown["On time"].value == fmt(on_time, "rate")
    assert shown["Fill rate"].value == fmt(fill, "rate")


def test_inventory_matches_kpi_monthly_and_the_position_mart(data_env, marts):
    last = default_last_month(marts)
    shown = metrics(run_app("inventory"))
    for label, kpi in (("Inventory value", "inventory_value"), ("Stockout rate", "stockout_rate")):
        (_, value), _ = kpi_points(marts, kpi, last)
        assert shown[label].value == fmt(value, KPIS[kpi].unit)

    category = marts.one(
        "select category from marts.kpi_inventory_position group by 1 order by sum(stock_value) desc limit 1"
    )
    shown = metrics(run_app("inventory", **{filters.CATEGORY_KEY: category}))
    value, out = marts.one(
        "select sum(stock_value), count(*) filter (where on_hand_qty = 0 and not is_stale) "
        "from marts.kpi_inventory_position where category = $c",
        c=category,
    )
    assert shown["Stock value now"].value == fmt(value, "money")
    assert shown["Out of stock now"].value == f"{out:,}"


def test_suppliers_scorecard_and_late_purchase_orders(data_env, marts):
    at = run_app("suppliers")
    shown = metrics(at)
    (_, on_time), _ = kpi_points(marts, "supplier_on_time_rate", default_last_month(marts))
    assert shown["Supplier on-time"].value == fmt(on_time, "rate")
    late = marts.one(
        "select count(*) from marts.fct_purchase_order_lines cross join meta.snapshot s "
        "where status = 'open' and order_date <= s.as_of_date and promised_date < s.as_of_date"
    )
    assert shown["Late open PO lines"].value == f"{late:,}"
    card = at.dataframe[0].value
    expected = dict(marts.rows("select supplier_id, supplier_on_time_rate from marts.kpi_supplier_scorecard"))
    # A supplier without received lines in the window has no rate: null in the mart, NaN in the shown frame.
    shown_rates = {
        s: None if r != r else r for s, r in zip(card["supplier_id"], card["supplier_on_time_rate"], strict=True)
    }
    assert shown_rates == pytest.approx(expected)


def test_returns_under_a_category_filter_kept_across_pages(data_env, marts):
    last = default_last_month(marts)
    (_, network), _ = kpi_points(marts, "return_rate_units", last)
    assert metrics(run_app("returns"))["Return rate"].value == fmt(network, "rate")

    category = marts.one(
        "select category from marts.kpi_return_rates_monthly where category <> 'unknown' "
        "group by 1 order by sum(units_returned) desc limit 1"
    )
    # Chosen on the Fulfilment page, the filter still holds on Returns.
    at = run_app("fulfilment", **{filters.CATEGORY_KEY: category})
    at.switch_page("views/returns.py").run()
    assert not at.exception
    assert at.selectbox(key=filters.CATEGORY_KEY).value == category
    rate = marts.one(
        """
        select sum(units_returned) / sum(units_shipped) from marts.kpi_return_rates_monthly
        where category = $c and month = (select max(month) from marts.kpi_return_rates_monthly
                                          where category = $c and month <= $last)
    """,
        c=category,
        last=last,
    )
    assert metrics(at)["Return rate"].value == fmt(rate, "rate")
    # The return marts have no warehouse: the page says so instead of ignoring it.
    warehouse = busiest_warehouse(marts)
    name = marts.one("select warehouse_name from marts.dim_warehouse where warehouse_id = $w", w=warehouse)
    at = run_app("returns", **{filters.WAREHOUSE_KEY: warehouse})
    assert any(f"warehouse ({name}) filter does not apply" in c.value for c in at.caption)


def test_forecast_accuracy_is_the_summed_errors_over_the_summed_actuals(data_env, marts):
    warehouse = busiest_warehouse(marts)
    at = run_app("forecast", **{filters.WAREHOUSE_KEY: warehouse})
    wape, series = marts.one(
        """
        select sum(abs_error) / sum(actual), count(distinct sku) from marts.forecast_accuracy_daily
        where is_scored and warehouse_id = $w
    """,
        w=warehouse,
    )
    shown = metrics(at)
    assert shown["Forecast WAPE"].value == fmt(wape, "rate")
    assert shown["Series scored"].value == f"{series:,}"
    # The series picker offers this warehouse's series only, busiest first.
    busiest = marts.one(
        "select sku from marts.forecast_accuracy where is_selected and warehouse_id = $w "
        "order by actual_total desc nulls last, sku limit 1",
        w=warehouse,
    )
    assert at.selectbox(key="forecast_series").value == (busiest, warehouse)


def test_replenishment_totals_are_the_marts(data_env, marts):
    at = run_app("replenishment")
    value, units, to_order = marts.one(
        "select sum(recommended_order_value), sum(recommended_order_qty), "
        "count(*) filter (where recommended_order_qty > 0) from marts.replenishment"
    )
    shown = metrics(at)
    assert shown["Recommended order value"].value == fmt(value, "money")
    assert shown["Recommended units"].value == fmt(units, "count")
    assert len(at.dataframe[0].value) == to_order
    assert at.get("download_button"), "no CSV download"

    warehouse = busiest_warehouse(marts)
    shown = metrics(run_app("replenishment", **{filters.WAREHOUSE_KEY: warehouse}))
    value = marts.one(
        "select sum(recommended_order_value) from marts.replenishment where warehouse_id = $w", w=warehouse
    )
    assert shown["Recommended order value"].value == fmt(value, "money")


def test_a_new_snapshot_shows_on_the_next_rerun_while_a_run_holds_the_warehouse(warehouse, tmp_path, monkeypatch):
    from pipelines import snapshot

    # A copy of the fixture's warehouse, so that publishing here leaves the other tests' snapshot alone.
    shutil.copy(warehouse / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        snapshot.publish(con, "first-run")
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert any("first-ru" in m.value for m in at.sidebar.markdown)

    # The next run holds the warehouse open for writing, publishes, and keeps writing: the app reads on.
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as writer:
        snapshot.publish(writer, "second-run")
        writer.execute("create table main.scratch as select 1 as x")
        at.run()
        assert not at.exception
        assert any("second-r" in m.value for m in at.sidebar.markdown)
        assert metrics(at)["OTIF"].value != EMPTY


def test_an_unusable_pointer_shows_the_newest_valid_snapshot_with_a_warning(world_copy, marts, monkeypatch):
    # The fixture's data is years old: without this the stale-data banner would be a second warning.
    monkeypatch.setenv("SCM_STALE_DAYS", "100000")
    folder = world_copy.data_dir / "snapshots"
    (published,) = folder.glob("*.duckdb")
    # What the reported COPY ... TO '<data>/snapshots/CURRENT' left: a CSV where the pointer was.
    (folder / "CURRENT").write_text("1\n")
    at = run_app()
    assert [w.value for w in at.warning] == [
        f"{folder / 'CURRENT'} does not name a snapshot file of its folder: '1'; "
        f"reading the newest valid snapshot instead, {published.name}"
    ]
    run_id = marts.one("select run_id from meta.snapshot")  # the copy's snapshot is the built world's
    assert any(run_id[:8] in m.value for m in at.sidebar.markdown)
    assert metrics(at)["OTIF"].value != EMPTY


def registered_pages(at: AppTest) -> dict[str, dict]:
    """The pages the app declared to st.navigation in its last run (AppTest keeps them for switch_page)."""
    return at._registered_pages


def resolve(at: AppTest, url_path: str) -> dict | None:
    """The page Streamlit runs for a browser opening /<url_path>: its own resolver, given the app's pages."""
    pages = registered_pages(at)
    manager = PagesManager(str(APP))
    manager.set_script_intent("", url_path)
    default = next(h for h, info in pages.items() if info["url_pathname"] == "")
    return manager.set_pages_and_resolve(pages, fallback_page_hash=default) if url_path else pages[default]


def test_the_overview_is_at_overview_and_at_the_root(data_env):
    at = run_app()
    assert at.title[0].value == "Overview"  # the root
    for url_path in ("overview", ""):
        page = resolve(at, url_path)
        assert page is not None, f"/{url_path} is not found"
        assert page["script_path"].endswith("views/overview.py"), url_path
    assert resolve(at, "no-such-page") is None  # what Streamlit answers "Page not found" to
    # The navigation's Overview entry (the page at /overview) runs the Overview.
    at.switch_page("views/overview.py").run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert "OTIF" in metrics(at)


def test_the_dbt_exposures_are_the_apps_pages(tmp_path, monkeypatch):
    # Before any run the app still declares its navigation: no warehouse needed to read the pages.
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    pages = {info["url_pathname"]: info for info in registered_pages(at).values() if info["url_pathname"]}
    exposures = {e["name"]: e for e in yaml.safe_load(EXPOSURES.read_text())["exposures"]}
    assert set(exposures) == set(pages)
    for name, exposure in exposures.items():
        assert exposure["type"] == "dashboard"
        assert exposure["label"] == pages[name]["page_name"], name
        assert exposure["url"].rsplit("/", 1)[1] == name, name
        assert exposure["depends_on"], name


def test_the_default_months_end_with_the_as_of_month_marked_to_date(data_env, marts):
    at = run_app()
    as_of = marts.one("select as_of_date from meta.snapshot")
    slider = at.select_slider(key=filters.MONTHS_KEY)
    first, last = slider.value
    assert (last.year, last.month) == (as_of.year, as_of.month)
    months = marts.rows("select distinct month from marts.kpi_monthly order by month")
    assert first == months[max(0, len(months) - filters.DEFAULT_MONTHS)][0]
    # The fixture's as-of date is mid-month: the month is labelled to date, in the slider and on the tiles.
    assert as_of.day < 28
    assert slider.options[-1] == f"{as_of:%b %Y} (to date)"
    assert all("to date" not in option for option in slider.options[:-1])
    otif = metrics(at)["OTIF"].proto
    assert otif.delta_description.startswith("MTD vs ")
    assert f"to date (as of {as_of:%d %b %Y})" in otif.help


def test_data_older_than_the_setting_shows_a_banner(data_env, marts, monkeypatch):
    as_of = marts.one("select as_of_date from meta.snapshot")
    age = (date.today() - as_of).days
    monkeypatch.setenv("SCM_STALE_DAYS", str(age - 1))
    banners = [w.value for w in run_app().warning]
    assert banners == [
        f"The data is {age} days old: as of {as_of:%d %b %Y}, more than {age - 1} days before today. No run has "
        "published newer data since: see the latest runs and the landed feeds."
    ]
    monkeypatch.setenv("SCM_STALE_DAYS", str(age))
    assert not run_app().warning
