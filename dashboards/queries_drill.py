"""The rows behind a tile: the order lines, orders, stock positions, PO lines, returns and exceptions that a
KPI's count is made of, under the same filters as the tile. The conventions of dashboards/queries.py hold
(snapshot file first, `$name` filter parameters, cached results).

Each query selects rows by the marts' own flags, the ones the KPI counts (fct_order_lines' is_due, is_on_time,
is_in_full, is_on_time_in_full and is_backorder; fct_orders' is_due, is_on_time_in_full and is_perfect_order;
fct_inventory_daily's is_stockout; fct_purchase_order_lines' is_received, is_on_time and is_in_full;
kpi_open_purchase_orders' is_late; fct_returns' is_quality_return), and by the month and members the KPI's
mart is grouped by: a drill-down's row count is the tile's count. No rule is spelled here: a due line is
fct_order_lines.is_due, the flag kpi_fulfilment_monthly selects its lines by.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dashboards.queries import _CATEGORY, _CHANNEL, _WAREHOUSE, _cached, _frame

# Which due lines a drill-down shows: those that miss the KPI's flag, or (delivered) those a mean is taken over.
LINE_MISSES = {
    "not_otif": "not l.is_on_time_in_full",
    "late": "not l.is_on_time",
    "short": "not l.is_in_full",
    "backorder": "l.is_backorder",
    "delivered": "l.order_to_delivery_days is not null",
}
ORDER_MISSES = {"not_otif": "not o.is_on_time_in_full", "not_perfect": "not o.is_perfect_order"}
# Which received PO lines: late, short, all of them (the lead time's mean), those with units rejected (the defects).
RECEIVED_MISSES = {
    "late": "not l.is_on_time",
    "short": "not l.is_in_full",
    "received": "true",
    "rejected": "l.quantity_rejected > 0",
}

_MONTHS = "cast(date_trunc('month', {col}) as date) between $first_month and $last_month"


@_cached
def order_lines(
    path: str,
    miss: str,
    first_month: date,
    last_month: date,
    category: str | None,
    warehouse: str | None,
    channel: str | None,
) -> pl.DataFrame:
    """Due lines promised in the months that miss `miss` (LINE_MISSES), the earliest promised first."""
    return _frame(
        path,
        f"""
        select l.order_id, l.line_number, l.order_date, l.promised_date, l.shipped_date, l.delivered_date,
               l.sku, p.product_name, p.category, w.warehouse_name, l.channel, l.carrier,
               l.quantity_ordered, l.quantity_shipped, l.ordered_value::double as ordered_value,
               l.is_on_time, l.is_in_full, l.order_to_delivery_days
        from marts.fct_order_lines l
        join marts.dim_product p on p.product_key = l.product_key
        join marts.dim_warehouse w on w.warehouse_key = l.warehouse_key
        where l.is_due
          and {_MONTHS.format(col="l.promised_date")}
          and {_CATEGORY.format(col="p.category")}
          and {_WAREHOUSE.format(col="w.warehouse_id")}
          and {_CHANNEL.format(col="l.channel")}
          and {LINE_MISSES[miss]}
        order by l.promised_date, l.order_id, l.line_number
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
        channel=channel,
    )


@_cached
def orders(path: str, miss: str, first_month: date, last_month: date) -> pl.DataFrame:
    """Due orders (network-wide, as the order-level KPIs are) promised in the months that miss `miss`
    (ORDER_MISSES), the earliest promised first."""
    return _frame(
        path,
        f"""
        select o.order_id, o.customer_id, o.channel, o.order_date, o.promised_date, o.last_delivered_ts,
               o.line_count, o.units_ordered, o.units_shipped, o.units_returned, o.has_quality_return,
               o.revenue::double as ordered_value
        from marts.fct_orders o
        where o.is_due and {_MONTHS.format(col="o.promised_date")} and {ORDER_MISSES[miss]}
        order by o.promised_date, o.order_id
    """,
        first_month=first_month,
        last_month=last_month,
    )


@_cached
def stockout_positions(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None
) -> pl.DataFrame:
    """The sku-warehouses with days out of stock (is_stockout snapshot rows) in the months, the most days first:
    their stockout days add up to the stockout rate's numerator."""
    return _frame(
        path,
        f"""
        select i.sku, p.product_name, p.category, i.warehouse_id, w.warehouse_name,
               count(*)::bigint as stockout_days,
               min(i.snapshot_date) as first_stockout_date, max(i.snapshot_date) as last_stockout_date
        from marts.fct_inventory_daily i
        join marts.dim_product p on p.product_key = i.product_key
        left join marts.dim_warehouse w on w.warehouse_key = i.warehouse_key
        where i.is_stockout
          and {_MONTHS.format(col="i.snapshot_date")}
          and {_CATEGORY.format(col="p.category")}
          and {_WAREHOUSE.format(col="i.warehouse_id")}
        group by all
        order by stockout_days desc, i.sku, i.warehouse_id
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
    )


@_cached
def out_of_stock_now(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """Positions with nothing on hand on the as-of date that the inventory feed still reports (not is_stale)."""
    return _frame(
        path,
        f"""
        select sku, product_name, category, warehouse_id, warehouse_name, snapshot_date, on_hand_qty,
               units_ordered_28d, stockout_days_28d
        from marts.kpi_inventory_position
        where on_hand_qty = 0 and not is_stale
          and {_CATEGORY.format(col="category")} and {_WAREHOUSE.format(col="warehouse_id")}
        order by units_ordered_28d desc nulls last, sku, warehouse_id
    """,
        category=category,
        warehouse=warehouse,
    )


@_cached
def received_po_lines(path: str, miss: str, first_month: date, last_month: date) -> pl.DataFrame:
    """PO lines received in the months (network-wide, as the Source KPIs are) that miss `miss`
    (RECEIVED_MISSES), the latest against their promise first."""
    return _frame(
        path,
        f"""
        select l.po_id, l.line_number, s.supplier_name, l.sku, p.product_name, l.warehouse_id, l.order_date,
               l.promised_date, l.received_date, l.quantity_ordered, l.quantity_received, l.quantity_rejected,
               l.lead_time_days
        from marts.fct_purchase_order_lines l
        join marts.dim_supplier s on s.supplier_key = l.supplier_key
        join marts.dim_product p on p.product_key = l.product_key
        where l.is_received and {_MONTHS.format(col="l.received_date")} and {RECEIVED_MISSES[miss]}
        order by l.received_date - l.promised_date desc, l.po_id, l.line_number
    """,
        first_month=first_month,
        last_month=last_month,
    )


@_cached
def late_open_po_lines(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """Open PO lines past their promised date on the as-of date (kpi_open_purchase_orders' is_late)."""
    return _frame(
        path,
        f"""
        select po_id, line_number, supplier_name, sku, product_name, category, warehouse_id, order_date,
               promised_date, days_late::bigint as days_late, open_qty, ordered_value::double as ordered_value
        from marts.kpi_open_purchase_orders
        where is_late and {_CATEGORY.format(col="category")} and {_WAREHOUSE.format(col="warehouse_id")}
        order by days_late desc, po_id, line_number
    """,
        category=category,
        warehouse=warehouse,
    )


_RETURN_COLUMNS = """
        r.return_id, r.order_id, r.line_number, r.sku, p.product_name, p.category, r.reason_code,
        r.is_quality_return, r.disposition, r.requested_date, r.received_date, r.quantity_returned,
        r.refund_amount::double as refund_amount
"""


@_cached
def returns_requested(
    path: str,
    first_month: date,
    last_month: date,
    category: str | None,
    reason: str | None = None,
    quality_only: bool = False,
) -> pl.DataFrame:
    """Returns requested in the months (kpi_returns_monthly's month), of one reason or all, the latest first."""
    return _frame(
        path,
        f"""
        select {_RETURN_COLUMNS}
        from marts.fct_returns r
        join marts.dim_product p on p.product_key = r.product_key
        where {_MONTHS.format(col="r.requested_ts")}
          and {_CATEGORY.format(col="p.category")}
          and ($reason is null or r.reason_code = $reason)
          and (not $quality_only or r.is_quality_return)
        order by r.requested_date desc, r.return_id
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        reason=reason,
        quality_only=quality_only,
    )


@_cached
def returns_of_orders(path: str, first_month: date, last_month: date, category: str | None) -> pl.DataFrame:
    """Returns of the lines ordered in the months (the return rate's month: the returned line's order), the
    latest requested first; their units are the return rate's numerator."""
    return _frame(
        path,
        f"""
        select {_RETURN_COLUMNS}, l.order_date
        from marts.fct_returns r
        join marts.fct_order_lines l on l.order_line_key = r.order_line_key
        join marts.dim_product p on p.product_key = l.product_key
        where {_MONTHS.format(col="l.order_ts")} and {_CATEGORY.format(col="p.category")}
        order by r.requested_date desc, r.return_id
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
    )
