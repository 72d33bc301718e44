"""The SQL of the Customers & Finance page: the finance KPIs of kpi_monthly by month, the customer KPIs of
kpi_customers_monthly by month and channel, and the RFM segments of dim_customer. The conventions of
dashboards/queries.py hold (snapshot file first, `$name` parameters, cached results); its connection and cache are
reused."""

from __future__ import annotations

from datetime import date

import polars as pl

from dashboards.queries import _CHANNEL, _cached, _frame

# The order the segments are listed in: the best customers first, those without an order last.
RFM_SEGMENTS = ("champions", "loyal", "new", "promising", "at_risk", "lost", "no_orders")


@_cached
def finance_monthly(path: str, first_month: date, last_month: date) -> pl.DataFrame:
    """Network-wide finance KPIs by month, as kpi_monthly holds them, one column each. Gross margin is the
    numerator of gross_margin_rate and shipped revenue its denominator, so that a range sums them and divides
    once. A month without a KPI has a null there (e.g. no cash-to-cash without both DIO and DPO)."""
    return _frame(
        path,
        """
        select month,
               max(value) filter (where kpi = 'revenue') as revenue,
               max(numerator) filter (where kpi = 'gross_margin_rate') as gross_margin,
               max(denominator) filter (where kpi = 'gross_margin_rate') as shipped_revenue,
               max(value) filter (where kpi = 'gross_margin_rate') as gross_margin_rate,
               max(value) filter (where kpi = 'days_inventory_outstanding') as days_inventory_outstanding,
               max(value) filter (where kpi = 'dso_days') as dso_days,
               max(value) filter (where kpi = 'dpo_days') as dpo_days,
               max(value) filter (where kpi = 'cash_to_cash_days') as cash_to_cash_days
        from marts.kpi_monthly
        where month between $first_month and $last_month
          and kpi in ('revenue', 'gross_margin_rate', 'days_inventory_outstanding', 'dso_days', 'dpo_days',
                      'cash_to_cash_days')
        group by month
        order by month
    """,
        first_month=first_month,
        last_month=last_month,
    )


@_cached
def finance_range(path: str, first_month: date, last_month: date) -> dict:
    """Revenue and gross margin over the whole range: the months' revenue summed, and the margin's numerators and
    denominators summed and divided once."""
    return _frame(
        path,
        """
        select sum(value) filter (where kpi = 'revenue') as revenue,
               sum(numerator) filter (where kpi = 'gross_margin_rate') as gross_margin,
               sum(denominator) filter (where kpi = 'gross_margin_rate') as shipped_revenue,
               sum(numerator) filter (where kpi = 'gross_margin_rate')
                   / sum(denominator) filter (where kpi = 'gross_margin_rate') as gross_margin_rate
        from marts.kpi_monthly
        where month between $first_month and $last_month and kpi in ('revenue', 'gross_margin_rate')
    """,
        first_month=first_month,
        last_month=last_month,
    ).row(0, named=True)


@_cached
def customers_monthly(path: str, first_month: date, last_month: date, channel: str | None) -> pl.DataFrame:
    """Customer KPIs by month for one channel, or the network ('all' rows: distinct customers do not add up over
    channels, so they are never summed here), as kpi_customers_monthly holds them."""
    return _frame(
        path,
        """
        select month, active_customers::bigint as active_customers, new_customers::bigint as new_customers,
               repeat_customers::bigint as repeat_customers, repeat_customer_rate, orders::bigint as orders,
               units_ordered::bigint as units_ordered, revenue::double as revenue, average_order_value
        from marts.kpi_customers_monthly
        where month between $first_month and $last_month and channel = coalesce($channel, 'all')
        order by month
    """,
        first_month=first_month,
        last_month=last_month,
        channel=channel,
    )


@_cached
def rfm_segments(path: str) -> pl.DataFrame:
    """Customers and their revenue per RFM segment on the as-of date (dim_customer), with each segment's share of
    the customers and of the revenue, and its customers' mean recency and orders. The unknown member is left out."""
    return _frame(
        path,
        """
        with segments as (
            select rfm_segment,
                   count(*)::bigint as customers,
                   sum(revenue)::double as revenue,
                   sum(recency_days)::double as recency_days_sum,
                   count(recency_days)::bigint as scored_customers,
                   sum(order_count)::bigint as orders
            from marts.dim_customer
            where not is_unknown
            group by rfm_segment
        )
        select rfm_segment, customers,
               customers / sum(customers) over () as customer_share,
               revenue,
               revenue / nullif(sum(revenue) over (), 0) as revenue_share,
               orders,
               orders / customers as orders_per_customer,
               recency_days_sum / nullif(scored_customers, 0) as recency_days
        from segments
        order by coalesce(list_position($order, rfm_segment), 99), rfm_segment
    """,
        order=list(RFM_SEGMENTS),
    )


# --- the rows behind the tiles (dashboards/drill.py) ------------------------------------------------------------

# The month of an order line as revenue and the customer KPIs take it: the month of its order_ts.
_ORDERED_IN = "cast(date_trunc('month', l.order_ts) as date) between $first_month and $last_month"


@_cached
def ordered_lines(path: str, first_month: date, last_month: date, channel: str | None) -> pl.DataFrame:
    """The non-cancelled order lines ordered in the months (in the channel), the largest first: their ordered
    value is the revenue of those months."""
    return _frame(
        path,
        f"""
        select l.order_id, l.line_number, l.order_date, l.customer_id, l.sku, p.product_name, p.category,
               l.channel, w.warehouse_name, l.quantity_ordered, l.unit_price::double as unit_price,
               l.ordered_value::double as ordered_value
        from marts.fct_order_lines l
        join marts.dim_product p on p.product_key = l.product_key
        join marts.dim_warehouse w on w.warehouse_key = l.warehouse_key
        where not l.is_cancelled and {_ORDERED_IN} and {_CHANNEL.format(col="l.channel")}
        order by ordered_value desc nulls last, l.order_id, l.line_number
    """,
        first_month=first_month,
        last_month=last_month,
        channel=channel,
    )


@_cached
def active_customers(path: str, first_month: date, last_month: date, channel: str | None) -> pl.DataFrame:
    """The customers with a non-cancelled line ordered in the months (in the channel), one row each with their
    orders, units and revenue there and their first order date and segment; for one month, as many rows as the
    active customers tile counts."""
    return _frame(
        path,
        f"""
        select l.customer_id, c.first_order_date, c.rfm_segment,
               count(distinct l.order_id)::bigint as orders,
               sum(l.quantity_ordered)::bigint as units_ordered,
               sum(l.ordered_value)::double as revenue
        from marts.fct_order_lines l
        join marts.dim_customer c on c.customer_key = l.customer_key
        where not l.is_cancelled and {_ORDERED_IN} and {_CHANNEL.format(col="l.channel")}
        group by all
        order by revenue desc nulls last, l.customer_id
    """,
        first_month=first_month,
        last_month=last_month,
        channel=channel,
    )


@_cached
def segment_customers(path: str, segment: str) -> pl.DataFrame:
    """The customers of one RFM segment on the as-of date (dim_customer), the most revenue first."""
    return _frame(
        path,
        """
        select customer_id, first_order_date, last_order_date, order_count::bigint as orders,
               units_ordered::bigint as units_ordered, revenue::double as revenue, recency_days,
               recency_score, frequency_score, monetary_score
        from marts.dim_customer
        where not is_unknown and rfm_segment = $segment
        order by revenue desc, customer_id
    """,
        segment=segment,
    )
