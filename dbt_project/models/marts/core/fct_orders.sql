{#
    One row per order (all its current lines). An order's promised date is the latest promised date
    of its non-cancelled lines; it is due when that date is on or before the as-of date. It is OTIF
    when every non-cancelled line is on time and in full, and a perfect order when OTIF with no
    return of reason damaged, defective or wrong_item.

    Incremental (delete+insert on order_key): a run recomputes, from all their current lines and
    returns, the orders that got a line version loaded since the last build or are dated in a
    backfill window (macro touched_order_versions), the orders of every version of a return with a
    new version (a corrected return may name another order than before), and the orders whose due
    flag the as-of date has moved. A line never moves between orders (order_id is in its key), so no
    order disappears.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_key',
        on_schema_change='fail'
    )
}}

with

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

returns as not materialized (

    select * from {{ ref('fct_returns') }}

),

order_versions as not materialized (

    select * from {{ ref('stg_orders__versions') }}

),

return_versions as not materialized (

    select * from {{ ref('stg_returns__versions') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

{% if is_incremental() -%}
{{ touched_order_versions('order_versions') }},

touched_returns as (

    select distinct return_id
    from return_versions
    where _loaded_at > (select loaded_at from last_build)
        or {{ in_backfill_window('requested_date') }}

),

orders_to_process as (

    select order_id from touched_orders
    union
    select return_versions.order_id
    from return_versions
    inner join touched_returns
        on return_versions.return_id = touched_returns.return_id
    union
    select built.order_id
    from {{ this }} as built
    cross join as_of
    where built.active_line_count > 0
        and (built.promised_date <= as_of.as_of_date) <> built.is_due

),

lines_to_process as (

    select order_lines.*
    from order_lines
    inner join orders_to_process
        on order_lines.order_id = orders_to_process.order_id

),

returns_to_process as (

    select returns.*
    from returns
    inner join orders_to_process
        on returns.order_id = orders_to_process.order_id

),
{%- else -%}
lines_to_process as (

    select * from order_lines

),

returns_to_process as (

    select * from returns

),
{%- endif %}

order_totals as (

    select
        order_key,
        order_id,
        min(customer_id) as customer_id,
        min(channel) as channel,
        min(order_ts) as order_ts,
        count(*) as line_count,
        count(case when is_cancelled then 1 end) as cancelled_line_count,
        count(case when not is_cancelled then 1 end) as active_line_count,
        cast(sum(case when not is_cancelled then quantity_ordered else 0 end) as bigint) as units_ordered,
        cast(sum(case when not is_cancelled then coalesce(quantity_shipped, 0) else 0 end) as bigint) as units_shipped,
        sum(case when not is_cancelled then ordered_value else 0 end) as revenue,
        sum(case when not is_cancelled then shipped_value else 0 end) as shipped_value,
        sum(coalesce(shipping_cost, 0)) as shipping_cost,
        max(case when not is_cancelled then promised_date end) as promised_date,
        max(case when not is_cancelled then delivered_ts end) as last_delivered_ts,
        count(case when not is_cancelled and delivered_ts is null then 1 end) as undelivered_line_count,
        count(case when not is_cancelled and not is_on_time_in_full then 1 end) as not_otif_line_count,
        max(_last_loaded_at) as lines_loaded_at
    from lines_to_process
    group by order_key, order_id

),

order_returns as (

    select
        order_key,
        cast(sum(quantity_returned) as bigint) as units_returned,
        count(case when is_quality_return then 1 end) as quality_return_count,
        max(_last_loaded_at) as returns_loaded_at
    from returns_to_process
    group by order_key

),

joined as (

    select
        order_totals.*,
        coalesce(order_returns.units_returned, 0) as units_returned,
        coalesce(order_returns.quality_return_count, 0) > 0 as has_quality_return,
        order_returns.returns_loaded_at,
        as_of.as_of_date
    from order_totals
    left join order_returns
        on order_totals.order_key = order_returns.order_key
    cross join as_of

),

final as (

    select
        order_key,
        {{ surrogate_key(['customer_id']) }} as customer_key,
        order_id,
        customer_id,
        channel,
        order_ts,
        {{ to_date('order_ts') }} as order_date,
        promised_date,
        last_delivered_ts,
        line_count,
        cancelled_line_count,
        active_line_count,
        units_ordered,
        units_shipped,
        units_returned,
        revenue,
        shipped_value,
        shipping_cost,
        active_line_count = 0 as is_cancelled,
        active_line_count > 0 and promised_date <= as_of_date as is_due,
        active_line_count > 0 and undelivered_line_count = 0 as is_fully_delivered,
        case when active_line_count > 0 then not_otif_line_count = 0 end as is_on_time_in_full,
        has_quality_return,
        case when active_line_count > 0 then not_otif_line_count = 0 and not has_quality_return end as is_perfect_order,
        case
            when active_line_count > 0 and undelivered_line_count = 0
                then {{ fractional_days('order_ts', 'last_delivered_ts') }}
        end as cycle_time_days,
        greatest(lines_loaded_at, coalesce(returns_loaded_at, lines_loaded_at)) as _last_loaded_at
    from joined

)

select * from final
