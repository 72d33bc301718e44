{#
    Customer KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Customer"), over current
    non-cancelled lines by the month of order_ts.
    active_customers: distinct customers (value = numerator = the count, denominator null).
    repeat_customer_rate: active customers whose first non-cancelled order is in an earlier month.
    revenue: sum of quantity_ordered x unit_price (value = numerator, denominator null).
#}
with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

active_lines as (

    select
        customer_id,
        {{ month_of('order_ts') }} as month,
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

customer_months as (

    select distinct
        active_lines.month,
        active_lines.customer_id,
        first_months.first_month < active_lines.month as is_repeat
    from active_lines
    inner join first_months
        on active_lines.customer_id = first_months.customer_id

),

activity_months as (

    select
        month,
        count(*) as active_customers,
        count(case when is_repeat then 1 end) as repeat_customers
    from customer_months
    group by 1

),

revenue_months as (

    select
        month,
        sum(ordered_value) as revenue
    from active_lines
    group by 1

),

final as (

    {{ kpi_level('active_customers', 'activity_months', 'active_customers', numerator='active_customers') }}
    union all
    {{ kpi_ratio('repeat_customer_rate', 'activity_months', 'repeat_customers', 'active_customers') }}
    union all
    {{ kpi_level('revenue', 'revenue_months', 'revenue', numerator='revenue') }}

)

select * from final
