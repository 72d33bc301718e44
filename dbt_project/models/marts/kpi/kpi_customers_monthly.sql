{#
    Customer KPIs (kpi-definitions.md, Customer) by the month of order_ts and channel, over current
    non-cancelled lines, plus channel `all` (the network figures of kpi_monthly). Distinct counts do
    not add up across channels (a customer can buy through several), hence the `all` rows.
    A new customer's first non-cancelled order (any channel) is in the month; a repeat customer's
    is in an earlier month.
#}
with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

active_lines as (

    select
        customer_id,
        order_id,
        channel,
        {{ month_of('order_ts') }} as month,
        quantity_ordered,
        ordered_value
    from order_lines
    where not is_cancelled

),

first_months as (

    select
        customer_id,
        min(month) as first_month
    from active_lines
    group by 1

),

lines_by_channel as (

    select month, channel, customer_id, order_id, quantity_ordered, ordered_value
    from active_lines
    union all
    select month, 'all' as channel, customer_id, order_id, quantity_ordered, ordered_value
    from active_lines

),

customer_months as (

    select
        lines_by_channel.month,
        lines_by_channel.channel,
        lines_by_channel.customer_id,
        min(first_months.first_month) as first_month
    from lines_by_channel
    inner join first_months
        on lines_by_channel.customer_id = first_months.customer_id
    group by 1, 2, 3

),

customer_counts as (

    select
        month,
        channel,
        count(*) as active_customers,
        count(case when first_month = month then 1 end) as new_customers,
        count(case when first_month < month then 1 end) as repeat_customers
    from customer_months
    group by 1, 2

),

sales as (

    select
        month,
        channel,
        count(distinct order_id) as orders,
        cast(sum(quantity_ordered) as bigint) as units_ordered,
        sum(ordered_value) as revenue
    from lines_by_channel
    group by 1, 2

),

final as (

    select
        customer_counts.month,
        customer_counts.channel,
        customer_counts.active_customers,
        customer_counts.new_customers,
        customer_counts.repeat_customers,
        cast(customer_counts.repeat_customers as double precision)
            / customer_counts.active_customers as repeat_customer_rate,
        sales.orders,
        sales.units_ordered,
        sales.revenue,
        sales.revenue / sales.orders as average_order_value
    from customer_counts
    inner join sales
        on customer_counts.month = sales.month
        and customer_counts.channel = sales.channel

)

select * from final
