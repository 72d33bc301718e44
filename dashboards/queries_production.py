"""The SQL of the Production page: the Make KPIs of kpi_production_monthly by month and over the range (numerators
and denominators summed under the filters, divided once), scrap by reason, capacity by work center and week
(kpi_work_center_weekly), the late and at-risk work orders (fct_work_orders), the component shortages that hold
work orders up (work_order_shortages), and the work orders behind a tile. The conventions of dashboards/queries.py
hold (snapshot file first, `$name` parameters, cached results); its connection and cache are reused.

Filters: the category is the made sku's; the warehouse is the work center's site (dim_work_center), so a work
order is under the warehouse whose stock its center consumes and stocks. Production has no channel.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dashboards.queries import _CATEGORY, _WAREHOUSE, _cached, _frame
from pipelines.feeds import contract

# kpi_production_monthly's scrap columns, units_scrapped_<reason>: the feed's reasons, and 'no_reason' for scrap
# sent without one.
SCRAP_REASONS = (*contract.SCRAP_REASONS, "no_reason")

# The warehouse of a mart row with a work_center_key: its work center's site (the unknown center has none, so its
# rows are only under All), as the work order lists below take it.
_SITE = "(select warehouse_id from marts.dim_work_center c where c.work_center_key = {key})"

_MONTHLY_SUMS = """
        sum(due_work_orders)::bigint as due_work_orders,
        sum(due_on_schedule_work_orders)::bigint as due_on_schedule_work_orders,
        sum(due_on_schedule_work_orders) / nullif(sum(due_work_orders), 0) as schedule_adherence_rate,
        sum(due_units_produced)::double as due_units_produced,
        sum(due_units_planned)::double as due_units_planned,
        sum(due_units_produced) / nullif(sum(due_units_planned), 0) as production_attainment_rate,
        sum(completed_work_orders)::bigint as completed_work_orders,
        sum(units_produced)::double as units_produced,
        sum(units_scrapped)::double as units_scrapped,
        sum(units_started)::double as units_started,
        sum(units_produced) / nullif(sum(units_started), 0) as first_pass_yield,
        sum(cycle_time_days_sum)::double as cycle_time_days_sum,
        sum(cycle_time_work_orders)::bigint as cycle_time_work_orders,
        sum(cycle_time_days_sum) / nullif(sum(cycle_time_work_orders), 0) as manufacturing_cycle_time_days,
        sum(labor_hours)::double as labor_hours,
        sum(units_scrapped_component_defect)::double as units_scrapped_component_defect,
        sum(units_scrapped_component_defect) / nullif(sum(units_scrapped), 0) as component_defect_scrap_share
"""
_MONTHLY_WHERE = f"""
        month between $first_month and $last_month
        and {_CATEGORY.format(col="category")}
        and {_WAREHOUSE.format(col=_SITE.format(key="p.work_center_key"))}
"""


@_cached
def has_work_orders(path: str) -> bool:
    """Whether the business sends work orders at all (a trader's marts have none)."""
    return _frame(path, "select count(*) > 0 as any from marts.fct_work_orders")["any"][0]


@_cached
def production_monthly(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None
) -> pl.DataFrame:
    """The Make KPIs by month under the filters: kpi_production_monthly's counts and sums added up over work
    centers and skus, each rate divided once. A month without a KPI's denominator has a null there."""
    return _frame(
        path,
        f"""
        select month, {_MONTHLY_SUMS}
        from marts.kpi_production_monthly p
        where {_MONTHLY_WHERE}
        group by month
        order by month
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
    )


@_cached
def production_by_work_center(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None
) -> pl.DataFrame:
    """The same sums over the whole range, one row per work center."""
    return _frame(
        path,
        f"""
        select work_center_name, {_MONTHLY_SUMS}
        from marts.kpi_production_monthly p
        where {_MONTHLY_WHERE}
        group by work_center_name
        order by work_center_name
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
    )


@_cached
def scrap_by_reason(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None
) -> pl.DataFrame:
    """Units scrapped over the range per scrap reason (the reasons add up to units_scrapped), with each one's
    share; reasons without scrap are left out."""
    columns = ", ".join(f"sum(units_scrapped_{r})::double as {r}" for r in SCRAP_REASONS)
    return _frame(
        path,
        f"""
        with sums as (
            select {columns}
            from marts.kpi_production_monthly p
            where {_MONTHLY_WHERE}
        ),
        reasons as (
            unpivot sums on {", ".join(SCRAP_REASONS)} into name scrap_reason value units_scrapped
        )
        select scrap_reason, units_scrapped,
               units_scrapped / sum(units_scrapped) over () as scrap_share
        from reasons
        where units_scrapped > 0
        order by units_scrapped desc, scrap_reason
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
    )


@_cached
def work_center_weekly(path: str, first_month: date, last_month: date, warehouse: str | None) -> pl.DataFrame:
    """Capacity utilisation by work center and week (kpi_work_center_weekly) for the weeks starting in the months,
    the centers at the warehouse; the unknown center (no capacity) is left out."""
    return _frame(
        path,
        f"""
        select week_start, work_center_id, work_center_name, warehouse_id,
               completed_work_orders::bigint as completed_work_orders, labor_hours::double as labor_hours,
               capacity_hours::double as capacity_hours, capacity_utilisation_rate
        from marts.kpi_work_center_weekly
        where week_start >= $first_month and week_start < $last_month + interval 1 month
          and capacity_hours is not null
          and {_WAREHOUSE.format(col="warehouse_id")}
        order by work_center_name, week_start
    """,
        first_month=first_month,
        last_month=last_month,
        warehouse=warehouse,
    )


# --- work orders on the as-of date ------------------------------------------------------------------------------

_WORK_ORDER_COLUMNS = """
        o.work_order_id, o.sku, p.product_name, c.work_center_name, o.status, o.planned_start_date,
        o.planned_finish_date, o.actual_start_ts, o.actual_finish_ts, o.quantity_planned::bigint as quantity_planned,
        o.quantity_produced::bigint as quantity_produced, o.quantity_scrapped::bigint as quantity_scrapped,
        o.scrap_reason
"""
_WORK_ORDER_FROM = f"""
        marts.fct_work_orders o
        join marts.dim_product p on p.product_key = o.product_key
        join marts.dim_work_center c on c.work_center_key = o.work_center_key
        cross join meta.snapshot s
        where {_CATEGORY.format(col="p.category")}
          and {_WAREHOUSE.format(col="c.warehouse_id")}
"""

# Which open work orders a list holds, on the as-of date: late ones are due (not cancelled, planned to finish by
# the as-of date) and not completed; at-risk ones have not started and are planned to finish within $days after it.
OPEN_KINDS = {
    "late": "o.is_due and not o.is_completed",
    "at_risk": "o.status in ('planned', 'released') and o.planned_finish_date > s.as_of_date "
    "and o.planned_finish_date <= s.as_of_date + cast($days as integer)",
}


@_cached
def open_work_orders(path: str, kind: str, category: str | None, warehouse: str | None, days: int = 0) -> pl.DataFrame:
    """The late or at-risk work orders (OPEN_KINDS) under the filters, the earliest planned finish first, with
    their days late (as-of date - planned finish: below 0 for the days left)."""
    return _frame(
        path,
        f"""
        select {_WORK_ORDER_COLUMNS},
               (s.as_of_date - o.planned_finish_date)::bigint as days_late
        from {_WORK_ORDER_FROM}
          and {OPEN_KINDS[kind]}
        order by o.planned_finish_date, o.work_order_id
    """,
        category=category,
        warehouse=warehouse,
        **({"days": days} if kind == "at_risk" else {}),
    )


@_cached
def shortages(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """The open work orders not started that a component holds up (work_order_shortages' short rows), one row per
    work order and component, the earliest planned start first."""
    return _frame(
        path,
        f"""
        select s.work_order_id, s.sku, p.product_name, s.work_center_id, s.status, s.planned_start_date,
               s.planned_finish_date, s.quantity_planned::bigint as quantity_planned, s.component_sku,
               s.warehouse_id, s.required_qty, s.available_qty, s.shortage_qty
        from marts.work_order_shortages s
        join marts.dim_product p on p.sku = s.sku
        where s.is_short
          and {_CATEGORY.format(col="p.category")}
          and {_WAREHOUSE.format(col="s.warehouse_id")}
        order by s.planned_start_date, s.work_order_id, s.component_sku
    """,
        category=category,
        warehouse=warehouse,
    )


# --- the rows behind the tiles (dashboards/drill.py) ------------------------------------------------------------

# A month's work orders as the tiles count them: due ones by the month of planned_finish_date (schedule adherence,
# attainment), completed ones by the month of actual_finish_ts (yield, cycle time, scrap).
MONTH_KINDS = {
    "due": "o.is_due and date_trunc('month', o.planned_finish_date) between $first_month and $last_month",
    "completed": "o.is_completed and date_trunc('month', o.actual_finish_date) between $first_month and $last_month",
}


@_cached
def month_work_orders(
    path: str,
    kind: str,
    first_month: date,
    last_month: date,
    category: str | None,
    warehouse: str | None,
    scrap_reason: str | None = None,
) -> pl.DataFrame:
    """The due or completed work orders of the months (MONTH_KINDS) under the filters, with their on-schedule
    flag and cycle time; with `scrap_reason`, the completed ones that scrapped units for it ('no_reason': without
    one). For one month, as many due rows as the month's due work orders, their produced and planned units adding
    up to attainment's numerator and denominator, and completed rows adding up to yield's."""
    reason = ""
    if scrap_reason == "no_reason":
        reason = "and o.quantity_scrapped > 0 and o.scrap_reason is null"
    elif scrap_reason is not None:
        reason = "and o.quantity_scrapped > 0 and o.scrap_reason = $scrap_reason"
    return _frame(
        path,
        f"""
        select {_WORK_ORDER_COLUMNS}, o.is_on_schedule, o.cycle_time_days, o.labor_hours::double as labor_hours
        from {_WORK_ORDER_FROM}
          and {MONTH_KINDS[kind]} {reason}
        order by o.is_on_schedule, o.planned_finish_date, o.work_order_id
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
        **({"scrap_reason": scrap_reason} if scrap_reason not in (None, "no_reason") else {}),
    )
