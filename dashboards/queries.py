"""Every SQL statement the dashboards run, as named functions over the published snapshot.

Conventions:
- The first argument of every query is the snapshot file (`snapshot.locate()`'s path as a string). Results are
  cached with `st.cache_data`, so the file is part of every cache key: a newly published snapshot has a new file
  name, so the next rerun queries it and never reuses an entry of the old one.
- Filter values are DuckDB `$name` parameters. "All" is None and reads `($category is null or category =
  $category)`, so one statement serves every combination.
- Numbers come from the marts as dbt built them. Where a filter needs a rate at a grain the mart supports, the
  query sums the mart's numerators and denominators and divides once (never an average of rates).
- Counts are cast to bigint and money to double: polars would otherwise get DuckDB's hugeint sums as decimals.
- The snapshot is opened the readers' one way (`snapshot.open_snapshot`: read-only, no files, no settings).
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import streamlit as st

from pipelines import snapshot

# Enough for a handful of filter combinations per page; the oldest entries go first.
MAX_ENTRIES = 64

# The headline KPIs of the Overview page, as kpi_monthly names them.
HEADLINE_KPIS = (
    "otif_rate",
    "unit_fill_rate",
    "perfect_order_rate",
    "inventory_value",
    "inventory_turns",
    "stockout_rate",
    "supplier_on_time_rate",
    "return_rate_units",
)

# The Source KPIs of the Suppliers page.
SOURCE_KPIS = ("supplier_on_time_rate", "supplier_in_full_rate", "supplier_lead_time_days", "supplier_defect_ppm")

# The same filter predicates everywhere; each names the column it filters in that query.
_CATEGORY = "($category is null or {col} = $category)"
_WAREHOUSE = "($warehouse is null or {col} = $warehouse)"
_CHANNEL = "($channel is null or {col} = $channel)"


def current_snapshot() -> tuple[str, str | None]:
    """The snapshot file to read and, when it is not the one snapshots/CURRENT names, the warning saying why;
    raises snapshot.NoSnapshot (whose message says what to do) when there is no valid snapshot at all."""
    current = snapshot.locate()
    if current.path is None:
        raise current.no_snapshot()
    return str(current.path), current.warning


@st.cache_resource(max_entries=2, show_spinner=False, on_release=lambda con: con.close())
def _database(path: str) -> duckdb.DuckDBPyConnection:
    # One read-only connection per snapshot file, kept open: opening a DuckDB file costs ~100 ms, a cursor on an
    # open one ~1 ms. The current and the previous snapshot fit; a released one is closed. Read-only never
    # blocks the pipeline, which writes warehouse.duckdb and publishes a new file rather than changing this one.
    return snapshot.open_snapshot(path)


def _frame(path: str, sql: str, **params) -> pl.DataFrame:
    # A cursor per query: Streamlit runs sessions on threads, and a DuckDB connection is not for sharing.
    with _database(path).cursor() as cur:
        return cur.sql(sql, params=params or None).pl()


def _cached(func):
    return st.cache_data(func, show_spinner=False, max_entries=MAX_ENTRIES)


# --- the frame around every page ------------------------------------------------------------------------------


@_cached
def snapshot_meta(path: str) -> dict:
    """What the snapshot is (meta.snapshot) and what landed (meta.ingest_log)."""
    meta = _frame(path, "select run_id, published_at, as_of_date from meta.snapshot").row(0, named=True)
    ingest = _frame(
        path,
        """
        select count(*) filter (where status in ('loaded', 'rejected', 'duplicate'))::bigint as files,
               count(*) filter (where status = 'rejected')::bigint as rejected_files,
               count(*) filter (where status in ('skipped', 'waiting'))::bigint as skipped_files,
               coalesce(sum(rows_quarantined), 0)::bigint as rows_quarantined,
               max(loaded_at) as last_loaded_at
        from meta.ingest_log
    """,
    ).row(0, named=True)
    return {**meta, **ingest}


@_cached
def filter_options(path: str) -> dict[str, list]:
    """What the sidebar filters offer: the months with KPIs, the known categories, warehouses and channels, and the
    as-of date (which says whether the latest month is complete)."""
    months = _frame(path, "select distinct month from marts.kpi_monthly order by month")["month"].to_list()
    categories = _frame(
        path,
        """
        select distinct category from marts.dim_product where not is_unknown order by category
    """,
    )["category"].to_list()
    warehouses = _frame(
        path,
        """
        select warehouse_id, warehouse_name from marts.dim_warehouse where not is_unknown order by warehouse_name
    """,
    ).rows()
    channels = _frame(path, "select distinct channel from marts.kpi_fulfilment_monthly order by channel")
    (as_of,) = _frame(path, "select as_of_date from meta.snapshot").row(0)
    return {
        "months": months,
        "categories": categories,
        "warehouses": warehouses,
        "channels": channels["channel"].to_list(),
        "as_of_date": as_of,
    }


# --- Overview --------------------------------------------------------------------------------------------------


@_cached
def kpi_monthly(path: str, kpis: tuple[str, ...], first_month: date, last_month: date) -> pl.DataFrame:
    """Network-wide KPIs by month, exactly as marts.kpi_monthly holds them."""
    return _frame(
        path,
        """
        select kpi, month, value, numerator, denominator
        from marts.kpi_monthly
        where list_contains($kpis, kpi) and month between $first_month and $last_month
        order by kpi, month
    """,
        kpis=list(kpis),
        first_month=first_month,
        last_month=last_month,
    )


@_cached
def forecast_wape(path: str) -> dict:
    """Forecast WAPE of the selected models: now (each series from its latest run, forecast_accuracy_by_model's
    network-wide 'selected' row) and by full run over time (forecast_accuracy_runs)."""
    current = _frame(
        path,
        """
        select max(wape) as wape, coalesce(max(n_series), 0)::bigint as series
        from marts.forecast_accuracy_by_model
        where category = 'all' and warehouse_id = 'all' and model = 'selected'
    """,
    ).row(0, named=True)
    # Runs of some categories only score a subset of the series, so the history compares full runs alone.
    history = _frame(
        path,
        """
        select run_id, created_at, cutoff_date, wape
        from marts.forecast_accuracy_runs
        where scope = 'all' and wape is not null
        order by created_at, run_id
    """,
    )
    return {**current, "history": history}


# --- Fulfilment ------------------------------------------------------------------------------------------------

_FULFILMENT_SUMS = """
        sum(due_lines)::bigint as due_lines,
        sum(on_time_lines)::bigint as on_time_lines,
        sum(in_full_lines)::bigint as in_full_lines,
        sum(otif_lines)::bigint as otif_lines,
        sum(backorder_lines)::bigint as backorder_lines,
        sum(units_ordered)::bigint as units_ordered,
        sum(units_shipped)::bigint as units_shipped,
        sum(delivered_lines)::bigint as delivered_lines,
        sum(otif_lines) / sum(due_lines) as line_otif_rate,
        sum(on_time_lines) / sum(due_lines) as line_on_time_rate,
        sum(in_full_lines) / sum(due_lines) as line_in_full_rate,
        sum(backorder_lines) / sum(due_lines) as backorder_rate,
        sum(units_shipped) / nullif(sum(units_ordered), 0) as unit_fill_rate,
        sum(order_to_delivery_days_sum) / nullif(sum(delivered_lines), 0) as order_to_delivery_days
"""
_FULFILMENT_WHERE = f"""
        month between $first_month and $last_month
        and {_CATEGORY.format(col="category")}
        and {_WAREHOUSE.format(col="warehouse_id")}
        and {_CHANNEL.format(col="channel")}
"""


@_cached
def fulfilment_monthly(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None, channel: str | None
) -> pl.DataFrame:
    """Line fulfilment by month of the promised date, summed over kpi_fulfilment_monthly under the filters."""
    return _frame(
        path,
        f"""
        select month, {_FULFILMENT_SUMS}
        from marts.kpi_fulfilment_monthly
        where {_FULFILMENT_WHERE}
        group by month
        order by month
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
        channel=channel,
    )


@_cached
def fulfilment_breakdown(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None, channel: str | None
) -> pl.DataFrame:
    """The same sums over the whole range, by warehouse, carrier, channel and category (one grouping set each)."""
    return _frame(
        path,
        f"""
        select case when grouping(warehouse_name) = 0 then 'warehouse'
                    when grouping(carrier) = 0 then 'carrier'
                    when grouping(channel) = 0 then 'channel'
                    else 'category' end as dimension,
               coalesce(warehouse_name, carrier, channel, category) as member,
               {_FULFILMENT_SUMS}
        from marts.kpi_fulfilment_monthly
        where {_FULFILMENT_WHERE}
        group by grouping sets ((warehouse_name), (carrier), (channel), (category))
        order by dimension, due_lines desc
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
        channel=channel,
    )


# --- Inventory -------------------------------------------------------------------------------------------------

# The marts' rows for a selection: 'all' where a filter is off.
_LEVEL = "{col} = coalesce(${name}, 'all')"


@_cached
def stock_daily(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None
) -> pl.DataFrame:
    """End-of-day stock value (on hand x the product's current unit cost, as inventory_value uses) and stockouts,
    summed over kpi_inventory_daily under the filters."""
    return _frame(
        path,
        f"""
        select snapshot_date,
               sum(stock_value)::double as stock_value,
               sum(snapshot_rows)::bigint as positions,
               sum(stockout_rows)::bigint as stockouts
        from marts.kpi_inventory_daily
        where month between $first_month and $last_month
          and {_CATEGORY.format(col="category")}
          and {_WAREHOUSE.format(col="warehouse_id")}
        group by snapshot_date
        order by snapshot_date
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
    )


@_cached
def inventory_monthly(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None
) -> pl.DataFrame:
    """inventory_value and stockout_rate by month for the category and warehouse filters, as
    kpi_inventory_monthly holds them (its 'all' rows where a filter is off are kpi_monthly's figures)."""
    return _frame(
        path,
        f"""
        select month, inventory_value::double as inventory_value, stockout_rate,
               stockout_rows::bigint as stockouts, snapshot_rows::bigint as positions
        from marts.kpi_inventory_monthly
        where month between $first_month and $last_month
          and {_LEVEL.format(col="category", name="category")}
          and {_LEVEL.format(col="warehouse_id", name="warehouse")}
        order by month
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
    )


@_cached
def inventory_position(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """Per sku and warehouse on the as-of date (kpi_inventory_position)."""
    return _frame(
        path,
        f"""
        select sku, product_name, category, warehouse_id, warehouse_name, snapshot_date, is_stale,
               on_hand_qty, reserved_qty, available_qty, unit_cost, stock_value::double as stock_value,
               units_ordered_28d, avg_daily_demand_28d, stockout_days_28d, days_of_supply
        from marts.kpi_inventory_position
        where {_CATEGORY.format(col="category")} and {_WAREHOUSE.format(col="warehouse_id")}
        order by stock_value desc nulls last, sku, warehouse_id
    """,
        category=category,
        warehouse=warehouse,
    )


@_cached
def stock_by_cover(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """Stock value on the as-of date by days of supply, the oldest (slowest-moving) stock last, and the positions the
    inventory feed stopped reporting (is_stale) apart: their stock today is not known."""
    return _frame(
        path,
        f"""
        with banded as (
            select stock_value, on_hand_qty,
                   case when is_stale then 9
                        when on_hand_qty = 0 then 0
                        when days_of_supply is null then 8
                        when days_of_supply <= 7 then 1
                        when days_of_supply <= 14 then 2
                        when days_of_supply <= 30 then 3
                        when days_of_supply <= 60 then 4
                        when days_of_supply <= 90 then 5
                        when days_of_supply <= 180 then 6
                        else 7 end as band
            from marts.kpi_inventory_position
            where {_CATEGORY.format(col="category")} and {_WAREHOUSE.format(col="warehouse_id")}
        )
        select band,
               ['out of stock', '0-7 days', '8-14 days', '15-30 days', '31-60 days', '61-90 days',
                '91-180 days', 'over 180 days', 'no demand in 28 days', 'not reported recently'][band + 1] as cover,
               count(*)::bigint as positions,
               coalesce(sum(stock_value), 0)::double as stock_value
        from banded
        group by band
        order by band
    """,
        category=category,
        warehouse=warehouse,
    )


@_cached
def excess_stock(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """The excess_stock exceptions of replenishment_exceptions, with what the stock is worth."""
    return _frame(
        path,
        f"""
        select e.sku, i.product_name, e.category, e.warehouse_name, i.available_qty, i.units_ordered_28d,
               e.value as days_of_supply, e.threshold, i.stock_value::double as stock_value, e.detail
        from marts.replenishment_exceptions e
        join marts.kpi_inventory_position i using (sku, warehouse_id)
        where e.exception_type = 'excess_stock'
          and {_CATEGORY.format(col="e.category")} and {_WAREHOUSE.format(col="e.warehouse_id")}
        order by stock_value desc nulls last, e.sku, e.warehouse_id
    """,
        category=category,
        warehouse=warehouse,
    )


# --- Suppliers -------------------------------------------------------------------------------------------------


@_cached
def supplier_scorecard(path: str) -> pl.DataFrame:
    """kpi_supplier_scorecard: the last 90 days up to the as-of date, per supplier."""
    return _frame(
        path,
        """
        select supplier_id, supplier_name, country, window_start, window_end, received_po_lines,
               supplier_on_time_rate, supplier_in_full_rate, supplier_lead_time_days, supplier_lead_time_stddev_days,
               contracted_lead_time_days, supplier_defect_ppm, customer_defect_rate, po_lines_ordered,
               po_value::double as po_value, payment_terms_days
        from marts.kpi_supplier_scorecard
        order by po_value desc nulls last, supplier_id
    """,
    )


@_cached
def supplier_lead_times(
    path: str, first_month: date, last_month: date, category: str | None, warehouse: str | None
) -> pl.DataFrame:
    """Distribution of lead_time_days per supplier over PO lines received in the range (quantiles for a box plot)."""
    return _frame(
        path,
        f"""
        select s.supplier_name, s.contracted_lead_time_days,
               count(*)::bigint as received_lines,
               min(l.lead_time_days) as min_days,
               quantile_cont(l.lead_time_days, 0.1) as p10_days,
               quantile_cont(l.lead_time_days, 0.25) as q1_days,
               quantile_cont(l.lead_time_days, 0.5) as median_days,
               quantile_cont(l.lead_time_days, 0.75) as q3_days,
               quantile_cont(l.lead_time_days, 0.9) as p90_days,
               max(l.lead_time_days) as max_days,
               avg(l.lead_time_days) as mean_days,
               stddev_samp(l.lead_time_days) as stddev_days
        from marts.fct_purchase_order_lines l
        join marts.dim_supplier s using (supplier_key)
        join marts.dim_product p using (product_key)
        where l.is_received
          and l.received_date between $first_month and last_day($last_month)
          and {_CATEGORY.format(col="p.category")} and {_WAREHOUSE.format(col="l.warehouse_id")}
        group by all
        order by median_days desc, s.supplier_name
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
        warehouse=warehouse,
    )


@_cached
def open_purchase_orders(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """Open PO lines on the as-of date (kpi_open_purchase_orders), the latest first; days_late > 0 when late."""
    return _frame(
        path,
        f"""
        select po_id, line_number, supplier_name, sku, product_name, category, warehouse_id, order_date,
               promised_date, days_late::bigint as days_late, open_qty, ordered_value::double as ordered_value
        from marts.kpi_open_purchase_orders
        where {_CATEGORY.format(col="category")} and {_WAREHOUSE.format(col="warehouse_id")}
        order by days_late desc, po_id, line_number
    """,
        category=category,
        warehouse=warehouse,
    )


# --- Returns ---------------------------------------------------------------------------------------------------


@_cached
def return_rates_monthly(path: str, first_month: date, last_month: date, category: str | None) -> pl.DataFrame:
    """return_rate_units and return_value_rate by the month of the returned line's order (kpi_return_rates_monthly
    summed over categories)."""
    return _frame(
        path,
        f"""
        select month,
               sum(units_returned)::bigint as units_returned, sum(units_shipped)::bigint as units_shipped,
               sum(units_returned) / nullif(sum(units_shipped), 0) as return_rate_units,
               sum(refund_amount) / nullif(sum(shipped_value), 0) as return_value_rate
        from marts.kpi_return_rates_monthly
        where month between $first_month and $last_month and {_CATEGORY.format(col="category")}
        group by month
        order by month
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
    )


@_cached
def return_rates_by_category(path: str, first_month: date, last_month: date, category: str | None) -> pl.DataFrame:
    return _frame(
        path,
        f"""
        select category,
               sum(units_returned)::bigint as units_returned, sum(units_shipped)::bigint as units_shipped,
               sum(units_returned) / nullif(sum(units_shipped), 0) as return_rate_units,
               sum(refund_amount) / nullif(sum(shipped_value), 0) as return_value_rate
        from marts.kpi_return_rates_monthly
        where month between $first_month and $last_month and {_CATEGORY.format(col="category")}
        group by category
        order by return_rate_units desc nulls last, category
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
    )


@_cached
def returns_breakdown(path: str, first_month: date, last_month: date, category: str | None) -> pl.DataFrame:
    """Returns requested in the range by reason and by disposition (kpi_returns_monthly), largest first."""
    return _frame(
        path,
        f"""
        select case when grouping(reason_code) = 0 then 'reason' else 'disposition' end as dimension,
               coalesce(reason_code, disposition) as member,
               case when grouping(reason_code) = 0 then bool_or(is_quality_reason) end as is_quality_reason,
               sum(return_count)::bigint as returns,
               sum(units_returned)::bigint as units_returned,
               sum(refund_amount)::double as refund_amount
        from marts.kpi_returns_monthly
        where month between $first_month and $last_month and {_CATEGORY.format(col="category")}
        group by grouping sets ((reason_code), (disposition))
        order by dimension, units_returned desc, member
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
    )


@_cached
def returns_by_supplier(path: str, first_month: date, last_month: date, category: str | None) -> pl.DataFrame:
    """Units returned (requested in the range) of the skus each supplier is the primary supplier of, by reason."""
    return _frame(
        path,
        f"""
        select s.supplier_name, r.reason_code, sum(r.quantity_returned)::bigint as units_returned
        from marts.fct_returns r
        join marts.dim_product p using (product_key)
        join marts.dim_supplier s on s.supplier_key = p.primary_supplier_key
        where r.requested_date between $first_month and last_day($last_month)
          and {_CATEGORY.format(col="p.category")}
        group by all
        order by s.supplier_name, units_returned desc
    """,
        first_month=first_month,
        last_month=last_month,
        category=category,
    )


# --- Forecast --------------------------------------------------------------------------------------------------


@_cached
def forecast_series(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """The forecast series (sku and warehouse), the busiest first: what the series picker offers."""
    return _frame(
        path,
        f"""
        select a.sku, a.warehouse_id, coalesce(p.product_name, a.sku) as product_name, a.warehouse_name,
               a.category, a.model as selected_model, a.wape, a.actual_total
        from marts.forecast_accuracy a
        left join marts.dim_product p using (product_key)
        where a.is_selected
          and {_CATEGORY.format(col="a.category")} and {_WAREHOUSE.format(col="a.warehouse_id")}
        order by a.actual_total desc nulls last, a.sku, a.warehouse_id
    """,
        category=category,
        warehouse=warehouse,
    )


@_cached
def demand_history(path: str, sku: str, warehouse: str, days: int) -> pl.DataFrame:
    """Units ordered per day (non-cancelled lines, by order date) over the `days` days up to the as-of date."""
    return _frame(
        path,
        """
        with window_days as (
            select d.date_day
            from marts.dim_date d cross join meta.snapshot m
            where d.date_day between m.as_of_date - ($days - 1)::integer and m.as_of_date
        ),
        ordered as (
            select order_date, sum(quantity_ordered) as units
            from marts.fct_order_lines
            where sku = $sku and warehouse_id = $warehouse and not is_cancelled
            group by order_date
        )
        select w.date_day as day, coalesce(o.units, 0)::double as units
        from window_days w left join ordered o on o.order_date = w.date_day
        order by day
    """,
        sku=sku,
        warehouse=warehouse,
        days=days,
    )


@_cached
def series_forecast(path: str, sku: str, warehouse: str) -> pl.DataFrame:
    """The selected model's daily forecast and 80% interval for one series (demand_forecast)."""
    return _frame(
        path,
        """
        select forecast_date as day, model, yhat, yhat_lower, yhat_upper, run_id, cutoff_date
        from marts.demand_forecast
        where sku = $sku and warehouse_id = $warehouse and is_selected
        order by day
    """,
        sku=sku,
        warehouse=warehouse,
    )


@_cached
def forecast_accuracy(path: str, category: str | None, warehouse: str | None) -> pl.DataFrame:
    """Backtest accuracy per model (and `selected`, each series' pick), over the selection ('all categories') and
    by category, as forecast_accuracy_by_model holds them: WAPE and bias over many series are their summed errors
    over the summed actuals, and forecast value added is seasonal naive's WAPE minus the model's on the same
    days. Models that scored no demand in the selection are left out."""
    return _frame(
        path,
        f"""
        with selection as (
            select * from marts.forecast_accuracy_by_model
            where wape is not null and {_LEVEL.format(col="warehouse_id", name="warehouse")}
        )
        select 'all categories' as category, model, n_series::bigint as series, wape_denominator as actual_total,
               wape, bias, forecast_value_added as fva
        from selection
        where {_LEVEL.format(col="category", name="category")}
        union all
        select category, model, n_series::bigint, wape_denominator, wape, bias, forecast_value_added
        from selection
        where category <> 'all' and {_CATEGORY.format(col="category")}
        order by category, model
    """,
        category=category,
        warehouse=warehouse,
    )
