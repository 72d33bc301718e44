{#
    return_rate_units and return_value_rate (kpi-definitions.md, Return) by category: returns by the
    month of the order_ts of the line they return, against the shipped units and value of the
    current non-cancelled lines ordered that month, per category of the sku. Summing a month's
    rows gives kpi_monthly's network figures.
#}
with

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

returns as not materialized (

    select * from {{ ref('fct_returns') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

shipped as (

    select
        {{ month_of('order_lines.order_ts') }} as month,
        products.category,
        cast(sum(coalesce(order_lines.quantity_shipped, 0)) as bigint) as units_shipped,
        sum(order_lines.shipped_value) as shipped_value
    from order_lines
    inner join products
        on order_lines.product_key = products.product_key
    where not order_lines.is_cancelled
    group by 1, 2

),

returned as (

    select
        {{ month_of('order_lines.order_ts') }} as month,
        products.category,
        cast(sum(returns.quantity_returned) as bigint) as units_returned,
        sum(returns.refund_amount) as refund_amount
    from returns
    inner join order_lines
        on returns.order_line_key = order_lines.order_line_key
    inner join products
        on order_lines.product_key = products.product_key
    group by 1, 2

),

joined as (

    select
        coalesce(shipped.month, returned.month) as month,
        coalesce(shipped.category, returned.category) as category,
        coalesce(shipped.units_shipped, 0) as units_shipped,
        coalesce(shipped.shipped_value, 0) as shipped_value,
        coalesce(returned.units_returned, 0) as units_returned,
        coalesce(returned.refund_amount, 0) as refund_amount
    from shipped
    full outer join returned
        on shipped.month = returned.month
        and shipped.category = returned.category

),

final as (

    select
        *,
        case
            when units_shipped > 0 then cast(units_returned as double precision) / units_shipped
        end as return_rate_units,
        case
            when shipped_value > 0 then cast(refund_amount as double precision) / shipped_value
        end as return_value_rate
    from joined

)

select * from final
