{#
    Deliver KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Deliver").
    Due line: fct_order_lines.is_due (a current, non-cancelled line with promised_date <= as-of
    date); line KPIs by the month of promised_date. Due order: its promised date (latest of its non-cancelled lines) <=
    as-of date; order KPIs by the month of that date. Cycle time and cancellations by the month of
    order_ts; shipping cost per unit by the month of shipped_ts (every current line shipped then).
#}
with

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

orders as not materialized (

    select * from {{ ref('fct_orders') }}

),

due_lines as (

    select * from order_lines
    where is_due

),

due_line_months as (

    select
        {{ month_of('promised_date') }} as month,
        count(*) as due_lines,
        count(case when is_on_time then 1 end) as on_time_lines,
        count(case when is_in_full then 1 end) as in_full_lines,
        count(case when is_on_time_in_full then 1 end) as otif_lines,
        count(case when is_backorder then 1 end) as backorder_lines,
        cast(sum(coalesce(quantity_shipped, 0)) as bigint) as units_shipped,
        cast(sum(quantity_ordered) as bigint) as units_ordered
    from due_lines
    group by 1

),

due_order_months as (

    select
        {{ month_of('promised_date') }} as month,
        count(*) as due_orders,
        count(case when is_on_time_in_full then 1 end) as otif_orders,
        count(case when is_perfect_order then 1 end) as perfect_orders
    from orders
    where is_due
    group by 1

),

cycle_time_months as (

    select
        {{ month_of('order_ts') }} as month,
        count(*) as delivered_orders,
        sum(cycle_time_days) as cycle_time_days
    from orders
    where is_fully_delivered
    group by 1

),

ordered_line_months as (

    select
        {{ month_of('order_ts') }} as month,
        count(*) as lines,
        count(case when is_cancelled then 1 end) as cancelled_lines
    from order_lines
    group by 1

),

shipped_line_months as (

    select
        {{ month_of('shipped_ts') }} as month,
        sum(coalesce(shipping_cost, 0)) as shipping_cost,
        cast(sum(coalesce(quantity_shipped, 0)) as bigint) as units_shipped
    from order_lines
    where shipped_ts is not null
    group by 1

),

final as (

    {{ kpi_ratio('line_on_time_rate', 'due_line_months', 'on_time_lines', 'due_lines') }}
    union all
    {{ kpi_ratio('line_in_full_rate', 'due_line_months', 'in_full_lines', 'due_lines') }}
    union all
    {{ kpi_ratio('line_otif_rate', 'due_line_months', 'otif_lines', 'due_lines') }}
    union all
    {{ kpi_ratio('otif_rate', 'due_order_months', 'otif_orders', 'due_orders') }}
    union all
    {{ kpi_ratio('perfect_order_rate', 'due_order_months', 'perfect_orders', 'due_orders') }}
    union all
    {{ kpi_ratio('unit_fill_rate', 'due_line_months', 'units_shipped', 'units_ordered') }}
    union all
    {{ kpi_ratio('backorder_rate', 'due_line_months', 'backorder_lines', 'due_lines') }}
    union all
    {{ kpi_ratio('order_cycle_time_days', 'cycle_time_months', 'cycle_time_days', 'delivered_orders') }}
    union all
    {{ kpi_ratio('cancellation_rate', 'ordered_line_months', 'cancelled_lines', 'lines') }}
    union all
    {{ kpi_ratio('shipping_cost_per_unit', 'shipped_line_months', 'shipping_cost', 'units_shipped') }}

)

select * from final
