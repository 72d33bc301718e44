{#
    One row per customer any version of the orders feed names, with what dim_customer and
    kpi_customers_monthly need of their current lines: how many lines they have, the month of their
    first non-cancelled line (any date), and their non-cancelled lines ordered on or before the as-of
    date (first and last date, orders, units, revenue). A customer whose lines were all corrected to
    another customer keeps a row with no lines (dim_customer leaves it out), so a customer never drops
    out of the table and a full and an incremental build hold the same rows.

    Incremental (delete+insert on customer_id): a run recomputes the customers that any version of an
    order with new versions names (macro touched_order_versions), before the correction and after it,
    and the customers the as-of date has moved across: those with a line after it, when it moved back,
    and those with a line between the latest order date taken and it, when it moved on.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        on_schema_change='fail'
    )
}}

with

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

order_versions as not materialized (

    select * from {{ ref('stg_orders__versions') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

{% if is_incremental() -%}
{{ touched_order_versions('order_versions') }},

built_up_to as (

    select coalesce(max(last_order_date), cast('1900-01-01' as date)) as last_order_date
    from {{ this }}

),

customers_to_process as (

    select customer_id from touched_order_versions
    union
    select built.customer_id
    from {{ this }} as built
    cross join as_of
    where built.last_order_date > as_of.as_of_date
    union
    select order_lines.customer_id
    from order_lines
    cross join as_of
    cross join built_up_to
    where not order_lines.is_cancelled
        and order_lines.order_date > built_up_to.last_order_date
        and order_lines.order_date <= as_of.as_of_date

),
{%- else -%}
customers_to_process as (

    select distinct customer_id from order_versions

),
{%- endif %}

lines_to_process as (

    select
        order_lines.customer_id,
        order_lines.order_id,
        order_lines.order_ts,
        order_lines.order_date,
        order_lines.quantity_ordered,
        order_lines.ordered_value,
        order_lines._last_loaded_at,
        not order_lines.is_cancelled as is_active,
        not order_lines.is_cancelled and order_lines.order_date <= as_of.as_of_date as is_to_date
    from order_lines
    inner join customers_to_process
        on order_lines.customer_id = customers_to_process.customer_id
    cross join as_of

),

final as (

    select
        {{ surrogate_key(['customers_to_process.customer_id']) }} as customer_key,
        customers_to_process.customer_id,
        count(lines_to_process.customer_id) as line_count,
        min({{ month_of('lines_to_process.order_ts') }}) filter (where lines_to_process.is_active) as first_active_month,
        min(lines_to_process.order_date) filter (where lines_to_process.is_to_date) as first_order_date,
        max(lines_to_process.order_date) filter (where lines_to_process.is_to_date) as last_order_date,
        count(distinct lines_to_process.order_id) filter (where lines_to_process.is_to_date) as order_count,
        cast(sum(lines_to_process.quantity_ordered) filter (where lines_to_process.is_to_date) as bigint) as units_ordered,
        sum(lines_to_process.ordered_value) filter (where lines_to_process.is_to_date) as revenue,
        max(lines_to_process._last_loaded_at) as _last_loaded_at
    from customers_to_process
    left join lines_to_process
        on customers_to_process.customer_id = lines_to_process.customer_id
    group by customers_to_process.customer_id

)

select * from final
