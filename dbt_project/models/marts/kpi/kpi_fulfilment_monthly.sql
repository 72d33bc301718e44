{#
    Line-level fulfilment of due lines (kpi-definitions.md, Deliver) by the month of promised_date,
    warehouse, carrier, channel and category. Counts add up across any of the dimensions; summing
    a month's rows gives kpi_monthly's line_* rates, unit_fill_rate and backorder_rate.
#}
with

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

warehouses as not materialized (

    select * from {{ ref('dim_warehouse') }}

),

due_lines as (

    select
        {{ month_of('order_lines.promised_date') }} as month,
        order_lines.warehouse_key,
        warehouses.warehouse_id,
        warehouses.warehouse_name,
        coalesce(order_lines.carrier, 'none') as carrier,
        order_lines.channel,
        products.category,
        order_lines.is_on_time,
        order_lines.is_in_full,
        order_lines.is_on_time_in_full,
        order_lines.is_backorder,
        order_lines.quantity_ordered,
        coalesce(order_lines.quantity_shipped, 0) as quantity_shipped,
        order_lines.order_to_delivery_days
    from order_lines
    inner join products
        on order_lines.product_key = products.product_key
    inner join warehouses
        on order_lines.warehouse_key = warehouses.warehouse_key
    where order_lines.is_due

),

aggregated as (

    select
        month,
        warehouse_key,
        warehouse_id,
        warehouse_name,
        carrier,
        channel,
        category,
        count(*) as due_lines,
        count(case when is_on_time then 1 end) as on_time_lines,
        count(case when is_in_full then 1 end) as in_full_lines,
        count(case when is_on_time_in_full then 1 end) as otif_lines,
        count(case when is_backorder then 1 end) as backorder_lines,
        cast(sum(quantity_ordered) as bigint) as units_ordered,
        cast(sum(quantity_shipped) as bigint) as units_shipped,
        count(order_to_delivery_days) as delivered_lines,
        sum(order_to_delivery_days) as order_to_delivery_days_sum
    from due_lines
    group by 1, 2, 3, 4, 5, 6, 7

),

final as (

    select
        *,
        cast(on_time_lines as double precision) / due_lines as line_on_time_rate,
        cast(in_full_lines as double precision) / due_lines as line_in_full_rate,
        cast(otif_lines as double precision) / due_lines as line_otif_rate,
        cast(backorder_lines as double precision) / due_lines as backorder_rate,
        cast(units_shipped as double precision) / units_ordered as unit_fill_rate
    from aggregated

)

select * from final
