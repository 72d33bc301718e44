{#
    kpi_customers_monthly's rows, kept incrementally: customer KPIs (kpi-definitions.md, Customer) by
    the month of order_ts and channel over current non-cancelled lines, plus channel `all` (distinct
    counts do not add up across channels). A customer is new in the month of their first
    non-cancelled line (any channel; int_customer_orders' first_active_month), a repeat customer in
    the later months they buy in. A month whose current lines are all cancelled has an `all` row with
    null figures, so that every current line is under a row: `_last_loaded_at` (the latest load of the
    month's current lines) then tells which versions the table holds.

    Incremental (delete+insert on month: a month is rebuilt whole from its current lines). A run
    rebuilds
      - the months of every version of an order with new versions (macro touched_order_versions):
        where a changed line counts now and where it counted before;
      - for each customer those versions name whose first month the change moved, the month it was
        in and the month it is in now: the customer is new in one month only, so a back-dated first
        order makes their former first month a repeat one. The first month before the change is
        taken from the touched orders' lines as the last build had them (the current version among
        the versions loaded by its watermark) and the customer's untouched lines.
    A rebuilt month may have no line left (its lines moved to another month): each rebuilt month
    brings a placeholder row (channel and every figure null), so delete+insert clears the month
    however few rows it has now, and the post-hook drops the placeholders.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month',
        on_schema_change='fail',
        post_hook="delete from {{ this }} where channel is null"
    )
}}

with

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

customer_orders as not materialized (

    select * from {{ ref('int_customer_orders') }}

),

order_versions as not materialized (

    select * from {{ ref('stg_orders__versions') }}

),

{% if is_incremental() -%}
{{ touched_order_versions('order_versions') }},

touched_customers as (

    select distinct customer_id from touched_order_versions

),

touched_lines_before as (

    select customer_id, order_ts, status
    from touched_order_versions
    where _loaded_at <= (select loaded_at from last_build)
    qualify {{ version_rank(['order_id', 'line_number']) }} = 1

),

touched_first_before as (

    select customer_id, min({{ month_of('order_ts') }}) as first_month
    from touched_lines_before
    where not status = 'cancelled'
    group by 1

),

untouched_first as (

    select order_lines.customer_id, min({{ month_of('order_lines.order_ts') }}) as first_month
    from order_lines
    inner join touched_customers
        on order_lines.customer_id = touched_customers.customer_id
    left join touched_orders
        on order_lines.order_id = touched_orders.order_id
    where not order_lines.is_cancelled
        and touched_orders.order_id is null
    group by 1

),

moved_first_months as (

    select
        least(untouched_first.first_month, touched_first_before.first_month) as first_month_before,
        customer_orders.first_active_month as first_month_now
    from touched_customers
    inner join customer_orders
        on touched_customers.customer_id = customer_orders.customer_id
    left join untouched_first
        on touched_customers.customer_id = untouched_first.customer_id
    left join touched_first_before
        on touched_customers.customer_id = touched_first_before.customer_id
    where least(untouched_first.first_month, touched_first_before.first_month)
        is distinct from customer_orders.first_active_month

),

months_to_process as (

    select month
    from (
        select {{ month_of('order_ts') }} as month from touched_order_versions
        union
        select first_month_before from moved_first_months
        union
        select first_month_now from moved_first_months
    ) as months
    where month is not null

),

lines_to_process as (

    select order_lines.*
    from order_lines
    where order_lines.order_date >= (select min(month) from months_to_process)
        and {{ month_of('order_lines.order_ts') }} in (select month from months_to_process)

),
{%- else -%}
lines_to_process as (

    select * from order_lines

),
{%- endif %}

month_loads as (

    select
        {{ month_of('order_ts') }} as month,
        max(_last_loaded_at) as _last_loaded_at
    from lines_to_process
    group by 1

),

active_lines as (

    select
        customer_id,
        order_id,
        channel,
        {{ month_of('order_ts') }} as month,
        quantity_ordered,
        ordered_value
    from lines_to_process
    where not is_cancelled

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
        min(customer_orders.first_active_month) as first_month
    from lines_by_channel
    inner join customer_orders
        on lines_by_channel.customer_id = customer_orders.customer_id
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

month_rows as (

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

),

final as (

    select
        month_loads.month,
        coalesce(month_rows.channel, 'all') as channel,
        month_rows.active_customers,
        month_rows.new_customers,
        month_rows.repeat_customers,
        month_rows.repeat_customer_rate,
        month_rows.orders,
        month_rows.units_ordered,
        month_rows.revenue,
        month_rows.average_order_value,
        month_loads._last_loaded_at
    from month_loads
    left join month_rows
        on month_loads.month = month_rows.month

)

select * from final
{%- if is_incremental() %}
-- The placeholders: every column but month null (union by name).
union all by name
select month from months_to_process
{%- endif %}
