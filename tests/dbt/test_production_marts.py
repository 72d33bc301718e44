"""The detailed Make marts add up to kpi_monthly on the demo manufacturer that `scm run` builds (`built_world`):
kpi_production_monthly's numerators and denominators summed over work centers and skus are kpi_monthly's, month
by month, and kpi_work_center_weekly holds every completed work order's labor hours once, against seven days of
each work center's capacity."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

pytestmark = pytest.mark.slow

# kpi -> (numerator, denominator) as sums of kpi_production_monthly's columns
COLUMNS = {
    "schedule_adherence_rate": ("due_on_schedule_work_orders", "due_work_orders"),
    "production_attainment_rate": ("due_units_produced", "due_units_planned"),
    "first_pass_yield": ("units_produced", "units_started"),
    "manufacturing_cycle_time_days": ("cycle_time_days_sum", "cycle_time_work_orders"),
    "component_defect_scrap_share": ("units_scrapped_component_defect", "units_scrapped"),
}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def read(built_world):
    con = duckdb.connect(str(built_world.data_dir / "warehouse.duckdb"), read_only=True)
    yield lambda sql: con.sql(sql).pl()
    con.close()


@pytest.mark.parametrize("kpi", list(COLUMNS))
def test_production_mart_sums_to_kpi_monthly(read, kpi):
    numerator, denominator = COLUMNS[kpi]
    sums = read(
        f"select month, sum({numerator}) as n, sum({denominator}) as d from marts.kpi_production_monthly "
        f"group by 1 having sum({denominator}) > 0"
    )
    monthly = read(f"select month, numerator, denominator from marts.kpi_monthly where kpi = '{kpi}'")
    assert sums.height > 0 and sorted(sums["month"]) == sorted(monthly["month"])
    expected = {m: (n, d) for m, n, d in monthly.iter_rows()}
    for month, n, d in sums.iter_rows():
        assert _close(float(n), expected[month][0]) and _close(float(d), expected[month][1]), (kpi, month)


def test_scrap_by_reason_adds_up(read):
    wrong = read(
        "select * from marts.kpi_production_monthly where units_scrapped <> units_scrapped_component_defect"
        " + units_scrapped_machine + units_scrapped_operator + units_scrapped_setup + units_scrapped_other"
        " + units_scrapped_no_reason"
    )
    assert wrong.height == 0


def test_work_center_weeks_hold_every_labor_hour_once(read):
    weekly = read("select * from marts.kpi_work_center_weekly")
    labor = read(
        "select sum(labor_hours) as h from marts.fct_work_orders where is_completed and labor_hours is not null"
    )["h"][0]
    assert weekly.select(pl.struct("week_start", "work_center_key").is_unique().all()).item()
    assert _close(weekly["labor_hours"].sum(), labor)
    centers = read("select work_center_key, capacity_hours_per_day from marts.dim_work_center where not is_unknown")
    capacity = dict(centers.iter_rows())
    known = weekly.filter(pl.col("work_center_key").is_in(list(capacity)))
    assert known.height > 0
    for key, hours in known.select("work_center_key", "capacity_hours").iter_rows():
        assert _close(hours, 7 * capacity[key])
    # every known work center has every week, idle ones with 0 hours
    assert known.group_by("work_center_key").len()["len"].n_unique() == 1
