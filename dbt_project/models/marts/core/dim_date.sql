{#
    Every day of every calendar year that any fact's date falls in, so each fact's dates find their
    day. Read from the facts (current versions, already materialised) rather than staging, whose
    version ranking would be recomputed over every raw version. The spine is built by the date_spine macro (no dbt_utils here).
#}
with

orders as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

inventory as not materialized (

    select * from {{ ref('fct_inventory_daily') }}

),

purchase_orders as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

returns as not materialized (

    select * from {{ ref('fct_returns') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

feed_dates as (

    select min(order_date) as min_date, max(greatest(order_date, promised_date)) as max_date from orders
    union all
    select min(shipped_date), max(shipped_date) from orders
    union all
    select min(delivered_date), max(delivered_date) from orders
    union all
    select min(snapshot_date), max(snapshot_date) from inventory
    union all
    select min(order_date), max(greatest(order_date, promised_date)) from purchase_orders
    union all
    select min(received_date), max(received_date) from purchase_orders
    union all
    select min(requested_date), max(requested_date) from returns
    union all
    select min(received_date), max(received_date) from returns
    union all
    select as_of_date, as_of_date from as_of

),

bounds as (

    select
        cast({{ dbt.date_trunc('year', 'min(min_date)') }} as date) as first_day,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', 'max(max_date)'))) }} as date) as last_day
    from feed_dates

),

days as (

    {{ date_spine('(select first_day from bounds)', '(select last_day from bounds)') | indent(4) }}

),

final as (

    select
        date_day,
        extract(year from date_day) as year_number,
        extract(quarter from date_day) as quarter_number,
        {{ month_of('date_day') }} as month_start,
        extract(month from date_day) as month_number,
        extract(day from date_day) as day_of_month,
        extract(isodow from date_day) as iso_day_of_week,
        extract(isodow from date_day) in (6, 7) as is_weekend,
        {{ whole_days(month_of('date_day'), dbt.dateadd('month', 1, month_of('date_day'))) }} as days_in_month,
        date_day <= (select as_of_date from as_of) as is_on_or_before_as_of
    from days

)

select * from final
