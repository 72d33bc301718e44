"""The Production page through AppTest on the fixture's warehouse (a manufacturer): its tiles are
kpi_production_monthly's numerators and denominators summed here by hand for the same filter and divided once, the
due work orders behind a tile add up to it, the late, at-risk and short work orders are the marts' own, and a
trader's snapshot (no work orders) shows one plain line instead of the page."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from dashboards import filters, heatmap, labels, queries_production
from dashboards.kpis import KPIS, fmt, fmt_delta
from pipelines import snapshot
from pipelines.feeds import contract
from tests.dashboards.test_drill import csv_rows, open_app
from tests.dashboards.test_pages import default_last_month, metrics, run_app

pytestmark = pytest.mark.slow

# Tile label -> (KPI, its numerator and denominator columns of kpi_production_monthly).
TILES = {
    "Schedule adherence": ("schedule_adherence_rate", "due_on_schedule_work_orders", "due_work_orders"),
    "Production attainment": ("production_attainment_rate", "due_units_produced", "due_units_planned"),
    "First-pass yield": ("first_pass_yield", "units_produced", "units_started"),
    "Cycle time": ("manufacturing_cycle_time_days", "cycle_time_days_sum", "cycle_time_work_orders"),
    "Component-defect scrap": ("component_defect_scrap_share", "units_scrapped_component_defect", "units_scrapped"),
}


def busiest_site(marts) -> str:
    """The warehouse whose work centers completed the most work orders."""
    return marts.one("""
        select c.warehouse_id from marts.kpi_production_monthly p
        join marts.dim_work_center c using (work_center_key)
        where not c.is_unknown group by 1 order by sum(p.completed_work_orders) desc, 1 limit 1
    """)


def by_hand(marts, first, last, warehouse: str | None) -> dict[str, list[tuple]]:
    """Per tile, (month, numerator / denominator) for the months with a denominator, summed by hand over the rows
    of kpi_production_monthly at the warehouse's work centers (every row without one)."""
    rows = marts.rows(
        "select p.* from marts.kpi_production_monthly p join marts.dim_work_center c using (work_center_key) "
        "where p.month between $first and $last and ($w is null or c.warehouse_id = $w) order by p.month",
        first=first,
        last=last,
        w=warehouse,
    )
    columns = [c for (c,) in marts.rows("select column_name from (describe marts.kpi_production_monthly)")]
    sums: dict[object, dict[str, float]] = {}
    for row in rows:
        named = dict(zip(columns, row, strict=True))
        month = sums.setdefault(named["month"], {})
        for _, numerator, denominator in TILES.values():
            for column in (numerator, denominator):
                month[column] = month.get(column, 0) + float(named[column] or 0)
    return {
        label: [(m, s[num] / s[den]) for m, s in sorted(sums.items()) if s[den]]
        for label, (_, num, den) in TILES.items()
    }


def assert_tiles(at, marts, warehouse: str | None):
    first, last = at.select_slider(key=filters.MONTHS_KEY).value
    shown = metrics(at)
    for label, points in by_hand(marts, first, last, warehouse).items():
        kpi = KPIS[TILES[label][0]]
        assert points, label
        value, previous = points[-1][1], (points[-2][1] if len(points) > 1 else None)
        assert shown[label].value == fmt(value, kpi.unit), label
        delta = fmt_delta(value, previous, kpi.unit)
        if delta is not None:
            assert shown[label].delta == str(delta), label
    return first, last


def test_the_tiles_are_the_mart_summed_for_the_filter(data_env, marts):
    at = run_app("production")
    assert at.title[0].value == "Production"
    _, last = assert_tiles(at, marts, None)
    assert last == default_last_month(marts)

    # Unfiltered, the summed mart is kpi_monthly's own value for the latest month with the KPI.
    for label in ("Schedule adherence", "First-pass yield"):
        value = marts.one(
            "select value from marts.kpi_monthly where kpi = $kpi and month <= $last and value is not null "
            "order by month desc limit 1",
            kpi=TILES[label][0],
            last=last,
        )
        assert metrics(at)[label].value == fmt(value, "rate"), label

    warehouse = busiest_site(marts)
    assert_tiles(run_app("production", **{filters.WAREHOUSE_KEY: warehouse}), marts, warehouse)


def test_the_due_work_orders_behind_the_tile_add_up_to_it(data_env, marts):
    at = run_app("production")
    at.button(key="drill_open_schedule_adherence_rate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["drill"] == "due_work_orders"
    first, last = at.select_slider(key=filters.MONTHS_KEY).value
    month = marts.one(
        "select max(month) from marts.kpi_production_monthly where month between $first and $last "
        "and due_work_orders > 0",
        first=first,
        last=last,
    )
    due, on_schedule, produced, planned = marts.one(
        "select sum(due_work_orders), sum(due_on_schedule_work_orders), sum(due_units_produced), "
        "sum(due_units_planned) from marts.kpi_production_monthly where month = $m",
        m=month,
    )
    (frame,) = [d.value for d in at.dataframe if "is_on_schedule" in d.value.columns]
    assert len(frame) == due
    assert int(frame["is_on_schedule"].sum()) == on_schedule
    assert frame["quantity_produced"].fillna(0).sum() == produced
    assert frame["quantity_planned"].sum() == planned
    assert any(c.value.startswith(f"{due:,} rows.") for c in at.caption)


def test_late_at_risk_and_short_work_orders_are_the_marts(data_env, marts):
    at = run_app("production")
    as_of = marts.one("select as_of_date from meta.snapshot")
    # Late: not cancelled, planned to finish by the as-of date, not completed (written here from the columns).
    late = marts.one(
        "select count(*) from marts.fct_work_orders where status <> 'cancelled' and planned_finish_date <= $d "
        "and not (status = 'completed' and actual_finish_ts is not null)",
        d=as_of,
    )
    at_risk = marts.one(
        "select count(*) from marts.fct_work_orders where status in ('planned', 'released') "
        "and planned_finish_date > $d and planned_finish_date <= $until",
        d=as_of,
        until=as_of + timedelta(days=7),
    )
    held_up, components = marts.one(
        "select count(distinct work_order_id), count(distinct component_sku) from marts.work_order_shortages "
        "where is_short"
    )
    shown = metrics(at)
    assert shown["Late work orders"].value == f"{late:,}"
    assert shown["At-risk work orders"].value == f"{at_risk:,}"
    assert shown["Work orders held up"].value == f"{held_up:,}"
    assert shown["Components short"].value == f"{components:,}"

    # A longer horizon takes in the work orders planned to finish up to that many days after the as-of date.
    at.number_input(key="production_risk_days").set_value(30).run()
    assert not at.exception
    more = marts.one(
        "select count(*) from marts.fct_work_orders where status in ('planned', 'released') "
        "and planned_finish_date > $d and planned_finish_date <= $until",
        d=as_of,
        until=as_of + timedelta(days=30),
    )
    assert metrics(at)["At-risk work orders"].value == f"{more:,}"


def test_a_snapshot_without_work_orders_shows_the_trader_message(world_copy, monkeypatch):
    monkeypatch.setenv("SCM_STALE_DAYS", "100000")
    path = snapshot.current_path()
    with duckdb.connect(str(path)) as con:  # the copy's snapshot as a trader's: no work orders at all
        for table in ("fct_work_orders", "kpi_production_monthly", "kpi_work_center_weekly", "work_order_shortages"):
            con.execute(f"delete from marts.{table}")
    at = run_app("production")
    assert [i.value for i in at.info] == ["No production data: this business sends no work orders."]
    assert not at.metric and not at.dataframe and not at.error


def test_every_scrap_reason_and_status_has_a_label():
    assert set(queries_production.SCRAP_REASONS) == {*contract.SCRAP_REASONS, "no_reason"}
    for kind, codes in (
        ("scrap", queries_production.SCRAP_REASONS),
        ("work_order_status", contract.WORK_ORDER_STATUSES),
    ):
        assert all(labels.code(kind, c) not in (None, c) for c in codes), kind


def test_a_scrap_reason_opens_the_work_orders_scrapping_for_it(data_env, marts):
    first, last = run_app("production").select_slider(key=filters.MONTHS_KEY).value
    sums = marts.one(
        "select "
        + ", ".join(f"sum(units_scrapped_{r})" for r in queries_production.SCRAP_REASONS)
        + " from marts.kpi_production_monthly where month between $first and $last",
        first=first,
        last=last,
    )
    scrapped = {r: float(s or 0) for r, s in zip(queries_production.SCRAP_REASONS, sums, strict=True)}
    reason = max(scrapped, key=scrapped.get)
    assert scrapped[reason] > 0
    at = open_app("production", drill=f"scrap_{reason}")
    (frame,) = [d.value for d in at.dataframe if "is_on_schedule" in d.value.columns]
    assert frame["quantity_scrapped"].sum() == scrapped[reason]
    assert set(frame["scrap_reason"]) == {labels.code("scrap", reason)}
    rows = queries_production.month_work_orders(
        str(marts.path), "completed", first, last, None, None, scrap_reason=reason
    )
    written = csv_rows(rows, {"status": "work_order_status", "scrap_reason": "scrap"})
    assert len(written) == len(frame)
    assert written["Units scrapped"].cast(float).sum() == scrapped[reason]
    assert set(written["Scrap reason"]) == {labels.code("scrap", reason)}


def test_the_heat_maps_scale_runs_to_full_capacity_or_the_busiest_cell():
    def domain(rates):
        frame = pl.DataFrame({"week_start": [date(2024, 3, 4)] * len(rates), "center": ["A", "B"][: len(rates)]})
        chart = heatmap.weekly(frame.with_columns(rate=pl.Series(rates)), "week_start", "center", "rate", "rate")
        return chart.to_dict()["encoding"]["color"]["scale"]["domain"]

    assert domain([0.2, 0.6]) == [0, 1.0]  # a quiet plant is not drawn as full
    assert domain([0.5, 1.4]) == [0, 1.4]  # an overloaded center is the darkest cell
    assert domain([None, 0.3]) == [0, 1.0]
