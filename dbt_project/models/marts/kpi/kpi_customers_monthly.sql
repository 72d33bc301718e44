{#
    Customer KPIs (kpi-definitions.md, Customer) by the month of order_ts and channel, over current
    non-cancelled lines, plus channel `all` (the network figures of kpi_monthly). Distinct counts do
    not add up across channels (a customer can buy through several), hence the `all` rows.
    A new customer's first non-cancelled order (any channel) is in the month; a repeat customer's
    is in an earlier month. Computed, and kept incrementally, in int_customers_monthly; a month
    without a non-cancelled line has no row here.
#}
with

customers_monthly as not materialized (

    select * from {{ ref('int_customers_monthly') }}

),

final as (

    select
        month,
        channel,
        active_customers,
        new_customers,
        repeat_customers,
        repeat_customer_rate,
        orders,
        units_ordered,
        revenue,
        average_order_value
    from customers_monthly
    where active_customers is not null

)

select * from final
