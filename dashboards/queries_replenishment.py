"""The replenishment SQL: the order advice (marts.replenishment), its exceptions (the Overview counts them
too) and the PO lines to expedite, over the published snapshot. The conventions of dashboards/queries.py hold
(snapshot file first, `$name` filter parameters, cached results); its connection, cache and filters are reused."""

from __future__ import annotations

import polars as pl

from dashboards.queries import _CATEGORY, _WAREHOUSE, _cached, _frame

_WHERE = f"""{_CATEGORY.format(col="category")} and {_WAREHOUSE.format(col="warehouse_id")}"""


@_cached
def replenishment(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """The order advice per sku and warehouse, the most urgent first; what a buyer places (whole packs, at least
    the MOQ) and whether the stock it is based on is current in the first columns (the CSV download keeps this
    order)."""
    return _frame(
        path,
        f"""
        select sku, product_name, warehouse_name,
               recommended_order_qty, order_multiple, min_order_qty, order_need_qty,
               recommended_order_value, projected_stockout_date, days_until_stockout,
               is_stale, last_seen_date,
               inventory_position, reorder_point, safety_stock, on_hand_qty, reserved_qty, open_po_qty,
               avg_daily_forecast, lead_time_days, forecast_review_period_demand, unit_cost,
               primary_supplier_id, category, warehouse_id, selected_model
        from marts.replenishment
        where {_WHERE}
        order by projected_stockout_date nulls last, recommended_order_value desc nulls last, sku, warehouse_id
    """,
        category=category,
        warehouse=warehouse,
    )


@_cached
def replenishment_totals(path: str, category: str | None, warehouse: str | None) -> dict:
    return _frame(
        path,
        f"""
        select count(*)::bigint as positions,
               count(*) filter (where recommended_order_qty > 0)::bigint as to_order,
               coalesce(sum(recommended_order_qty), 0)::double as recommended_order_qty,
               coalesce(sum(recommended_order_value), 0)::double as recommended_order_value,
               count(projected_stockout_date)::bigint as projected_stockouts,
               count(*) filter (where is_stale)::bigint as stale_positions,
               min(projected_stockout_date) as first_projected_stockout,
               any_value(as_of_date) as as_of_date,
               any_value(review_period_days) as review_period_days,
               any_value(service_level) as service_level
        from marts.replenishment
        where {_WHERE}
    """,
        category=category,
        warehouse=warehouse,
    ).row(0, named=True)


@_cached
def replenishment_exceptions(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    return _frame(
        path,
        f"""
        select exception_type, sku, category, warehouse_id, warehouse_name, value, threshold, detail
        from marts.replenishment_exceptions
        where {_WHERE}
        order by exception_type, value nulls last, sku, warehouse_id
    """,
        category=category,
        warehouse=warehouse,
    )


@_cached
def replenishment_expedite(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """marts.replenishment_expedite: open PO lines promised after a stockout within the lead time, the soonest
    stockout first, then the line that is latest against it."""
    return _frame(
        path,
        f"""
        select sku, product_name, warehouse_name, projected_stockout_date, days_until_stockout,
               po_id, line_number, supplier_id, promised_date, open_qty, days_at_risk,
               category, warehouse_id
        from marts.replenishment_expedite
        where {_WHERE}
        order by projected_stockout_date, days_at_risk desc, sku, warehouse_id, po_id, line_number
    """,
        category=category,
        warehouse=warehouse,
    )
