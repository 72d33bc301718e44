{#
    Return KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Return").
    Return rates: returns by the month of the order_ts of the line they return (joined on order_id
    and line_number; a return whose line is not in the orders feed has no month and is left out),
    against the shipped units and value of the current non-cancelled lines ordered that month.
    Processing time and the return-to-vendor share: received returns by the month of received_ts.
#}
with

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

returns as not materialized (

    select * from {{ ref('fct_returns') }}

),

shipped_by_order_month as (

    select
        {{ month_of('order_ts') }} as month,
        cast(sum(coalesce(quantity_shipped, 0)) as bigint) as units_shipped,
        sum(shipped_value) as shipped_value
    from order_lines
    where not is_cancelled
    group by 1

),

returned_by_order_month as (

    select
        {{ month_of('order_lines.order_ts') }} as month,
        cast(sum(returns.quantity_returned) as bigint) as units_returned,
        sum(returns.refund_amount) as refund_amount
    from returns
    inner join order_lines
        on returns.order_line_key = order_lines.order_line_key
    group by 1

),

return_rate_months as (

    select
        shipped_by_order_month.month,
        shipped_by_order_month.units_shipped,
        shipped_by_order_month.shipped_value,
        coalesce(returned_by_order_month.units_returned, 0) as units_returned,
        coalesce(returned_by_order_month.refund_amount, 0) as refund_amount
    from shipped_by_order_month
    left join returned_by_order_month
        on shipped_by_order_month.month = returned_by_order_month.month

),

received_return_months as (

    select
        {{ month_of('received_ts') }} as month,
        count(*) as received_returns,
        sum(processing_days) as processing_days,
        count(case when disposition = 'return_to_vendor' then 1 end) as returned_to_vendor
    from returns
    where is_received
    group by 1

),

final as (

    {{ kpi_ratio('return_rate_units', 'return_rate_months', 'units_returned', 'units_shipped') }}
    union all
    {{ kpi_ratio('return_value_rate', 'return_rate_months', 'refund_amount', 'shipped_value') }}
    union all
    {{ kpi_ratio('return_processing_days', 'received_return_months', 'processing_days', 'received_returns') }}
    union all
    {{ kpi_ratio('return_to_vendor_share', 'received_return_months', 'returned_to_vendor', 'received_returns') }}

)

select * from final
