{#
    One row per order (all its current lines). An order's promised date is the latest promised date
    of its non-cancelled lines; it is due when that date is on or before the as-of date. It is OTIF
    when every non-cancelled line is on time and in full, and a perfect order when OTIF with no
    return of reason damaged, defective or wrong_item. Rebuilt in full each run (small), so it
    always reflects the incremental line facts.
#}
with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

returns as (

    select * from {{ ref('fct_returns') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

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
        count(case when not is_cancelled and not is_on_time_in_full then 1 end) as not_otif_line_count
    from order_lines
    group by order_key, order_id

),

order_returns as (

    select
        order_key,
        cast(sum(quantity_returned) as bigint) as units_returned,
        count(case when is_quality_return then 1 end) as quality_return_count
    from returns
    group by order_key

),

joined as (

    select
        order_totals.*,
        coalesce(order_returns.units_returned, 0) as units_returned,
        coalesce(order_returns.quality_return_count, 0) > 0 as has_quality_return,
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
        end as cycle_time_days
    from joined

)

select * from final
