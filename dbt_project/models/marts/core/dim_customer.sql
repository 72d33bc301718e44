{#
    One row per customer seen in the orders feed, with what they bought up to the as-of date
    (non-cancelled current lines ordered on or before it) and an RFM segment.

    RFM scores are quintiles 1..5 (5 best) from percent_rank, so equal values share a score and the
    result does not depend on row order: score = least(5, 1 + floor(5 * percent_rank)), ranking
    recency descending (fewer days since the last order ranks higher), frequency (orders) and
    monetary (revenue) ascending. Segments, first match wins:
      champions  r >= 4 and f >= 4 and m >= 4
      loyal      r >= 3 and f >= 3
      new        r >= 4 (and f <= 2)
      at_risk    r <= 2 and f >= 3
      lost       r <= 2 (and f <= 2)
      promising  everything else (r = 3, f <= 2)
    A customer with no non-cancelled order up to the as-of date has segment `no_orders`.

    The totals per customer are int_customer_orders' (incremental: only the customers a run touches are
    recomputed); the scores rank every customer against all the others on the day, so this small table
    is rebuilt in full.
#}
with

customer_orders as not materialized (

    select * from {{ ref('int_customer_orders') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

customers as (

    select customer_key, customer_id
    from customer_orders
    where line_count > 0

),

customer_totals as (

    select customer_key, first_order_date, last_order_date, order_count, units_ordered, revenue
    from customer_orders
    where line_count > 0
        and order_count > 0

),

recency as (

    select
        customer_totals.*,
        {{ whole_days('customer_totals.last_order_date', 'as_of.as_of_date') }} as recency_days
    from customer_totals
    cross join as_of

),

scored as (

    select
        *,
        least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc))) as recency_score,
        least(5, 1 + floor(5 * percent_rank() over (order by order_count))) as frequency_score,
        least(5, 1 + floor(5 * percent_rank() over (order by revenue))) as monetary_score
    from recency

),

segmented as (

    select
        *,
        case
            when recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4 then 'champions'
            when recency_score >= 3 and frequency_score >= 3 then 'loyal'
            when recency_score >= 4 then 'new'
            when recency_score <= 2 and frequency_score >= 3 then 'at_risk'
            when recency_score <= 2 then 'lost'
            else 'promising'
        end as rfm_segment
    from scored

),

known_customers as (

    select
        customers.customer_key,
        customers.customer_id,
        segmented.first_order_date,
        segmented.last_order_date,
        coalesce(segmented.order_count, 0) as order_count,
        coalesce(segmented.units_ordered, 0) as units_ordered,
        coalesce(segmented.revenue, 0) as revenue,
        segmented.recency_days,
        cast(segmented.recency_score as integer) as recency_score,
        cast(segmented.frequency_score as integer) as frequency_score,
        cast(segmented.monetary_score as integer) as monetary_score,
        coalesce(segmented.rfm_segment, 'no_orders') as rfm_segment,
        false as is_unknown
    from customers
    left join segmented
        on customers.customer_key = segmented.customer_key

),

unknown_customer as (

    select
        {{ unknown_key() }} as customer_key,
        'unknown' as customer_id,
        cast(null as date) as first_order_date,
        cast(null as date) as last_order_date,
        0 as order_count,
        0 as units_ordered,
        cast(0 as decimal(38, 4)) as revenue,
        cast(null as bigint) as recency_days,
        cast(null as integer) as recency_score,
        cast(null as integer) as frequency_score,
        cast(null as integer) as monetary_score,
        'unknown' as rfm_segment,
        true as is_unknown

),

all_customers as (

    select * from known_customers
    union all
    select * from unknown_customer

),

final as (

    select
        all_customers.*,
        as_of.as_of_date
    from all_customers
    cross join as_of

)

select * from final
