{#
    Customer KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Customer"), from the network
    rows (channel `all`) of kpi_customers_monthly, the one place they are computed.
    active_customers: distinct customers (value = numerator = the count, denominator null).
    repeat_customer_rate: active customers whose first non-cancelled order is in an earlier month.
    revenue: sum of quantity_ordered x unit_price (value = numerator, denominator null).
#}
with

network_months as not materialized (

    select * from {{ ref('kpi_customers_monthly') }}
    where channel = 'all'

),

final as (

    {{ kpi_level('active_customers', 'network_months', 'active_customers', numerator='active_customers') }}
    union all
    {{ kpi_ratio('repeat_customer_rate', 'network_months', 'repeat_customers', 'active_customers') }}
    union all
    {{ kpi_level('revenue', 'network_months', 'revenue', numerator='revenue') }}

)

select * from final
