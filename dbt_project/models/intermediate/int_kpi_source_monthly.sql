{#
    Source KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Source"): received PO lines
    (status `received`, with a received_date) by the month of received_date.
    supplier_defect_ppm: value = numerator / denominator x 1,000,000 (numerator = units rejected,
    denominator = units received).
    supplier_lead_time_stddev_days: the sample standard deviation. kpi-definitions.md: "for a mean or
    a standard deviation, numerator is the sum and denominator the count (null for the standard
    deviation)", read literally: numerator = the sum of the lead times, denominator null. With a
    single received line the sample standard deviation is undefined (n - 1 = 0): that month has no
    row, as a month with a zero denominator has none.
#}
with

po_lines as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

received_months as (

    select
        {{ month_of('received_date') }} as month,
        count(*) as received_lines,
        count(case when is_on_time then 1 end) as on_time_lines,
        count(case when is_in_full then 1 end) as in_full_lines,
        sum(lead_time_days) as lead_time_days,
        stddev_samp(lead_time_days) as lead_time_stddev_days,
        cast(sum(coalesce(quantity_rejected, 0)) as bigint) as units_rejected,
        cast(sum(coalesce(quantity_received, 0)) as bigint) as units_received
    from po_lines
    where is_received
    group by 1

),

final as (

    {{ kpi_ratio('supplier_on_time_rate', 'received_months', 'on_time_lines', 'received_lines') }}
    union all
    {{ kpi_ratio('supplier_in_full_rate', 'received_months', 'in_full_lines', 'received_lines') }}
    union all
    {{ kpi_ratio('supplier_lead_time_days', 'received_months', 'lead_time_days', 'received_lines') }}
    union all
    select
        month,
        'supplier_lead_time_stddev_days' as kpi,
        cast(lead_time_stddev_days as double precision) as value,
        cast(lead_time_days as double precision) as numerator,
        cast(null as double precision) as denominator
    from received_months
    where received_lines > 1
    union all
    {{ kpi_ratio('supplier_defect_ppm', 'received_months', 'units_rejected', 'units_received', scale=1000000) }}

)

select * from final
