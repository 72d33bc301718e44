{#
    Returns by the month they were requested, reason, category (of the returned sku) and
    disposition (`pending` until received). Sums add up across the dimensions; processing days
    are summed over received returns so a mean can be taken at any grain.
#}
with

returns as not materialized (

    select * from {{ ref('fct_returns') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

enriched as (

    select
        {{ month_of('returns.requested_ts') }} as month,
        returns.reason_code,
        products.category,
        coalesce(returns.disposition, 'pending') as disposition,
        returns.is_received,
        returns.is_quality_return,
        returns.quantity_returned,
        returns.refund_amount,
        returns.processing_days
    from returns
    inner join products
        on returns.product_key = products.product_key

),

aggregated as (

    select
        month,
        reason_code,
        category,
        disposition,
        reason_code in ('damaged', 'defective', 'wrong_item') as is_quality_reason,
        count(*) as return_count,
        cast(sum(quantity_returned) as bigint) as units_returned,
        sum(refund_amount) as refund_amount,
        count(case when is_received then 1 end) as received_returns,
        sum(processing_days) as processing_days_sum
    from enriched
    group by 1, 2, 3, 4, 5

),

final as (

    select
        *,
        case
            when received_returns > 0 then processing_days_sum / received_returns
        end as return_processing_days
    from aggregated

)

select * from final
