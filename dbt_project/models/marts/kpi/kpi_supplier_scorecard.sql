{#
    Per supplier, over the 90 days ending on the as-of date (as_of - 89 .. as_of, like the 28-day
    demand window): the five Source KPIs on received PO lines by received_date, the PO value, and
    the customer defect rate that closes the loop from returns (kpi-definitions.md).
    PO value: quantity_ordered x the PO line's unit_cost over non-cancelled PO lines ordered in the window.
    customer_defect_rate: units returned with reason `defective` (returns requested in the window)
    of the skus whose primary supplier it is, / units of those skus shipped in the window.
    production_defect_units: units scrapped with reason `component_defect` by work orders completed in
    the window (by actual_finish_ts) whose defect_component_sku has it as primary supplier (a component
    the product master does not hold counts for the unknown supplier, as its returns would).
#}
with

suppliers as not materialized (

    select * from {{ ref('dim_supplier') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

po_lines as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

returns as not materialized (

    select * from {{ ref('fct_returns') }}

),

work_orders as not materialized (

    select * from {{ ref('fct_work_orders') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

scorecard_window as (

    select
        cast({{ dbt.dateadd('day', -89, 'as_of_date') }} as date) as window_start,
        as_of_date as window_end
    from as_of

),

received_lines as (

    select
        supplier_key,
        count(*) as received_po_lines,
        count(case when is_on_time then 1 end) as on_time_po_lines,
        count(case when is_in_full then 1 end) as in_full_po_lines,
        avg(cast(lead_time_days as double precision)) as supplier_lead_time_days,
        stddev_samp(lead_time_days) as supplier_lead_time_stddev_days,
        cast(sum(coalesce(quantity_received, 0)) as bigint) as units_received,
        cast(sum(coalesce(quantity_rejected, 0)) as bigint) as units_rejected
    from po_lines
    cross join scorecard_window
    where is_received
        and received_date between window_start and window_end
    group by 1

),

ordered_lines as (

    select
        supplier_key,
        count(*) as po_lines_ordered,
        sum(ordered_value) as po_value
    from po_lines
    cross join scorecard_window
    where status <> 'cancelled'
        and order_date between window_start and window_end
    group by 1

),

shipped_units as (

    select
        products.primary_supplier_key as supplier_key,
        cast(sum(coalesce(order_lines.quantity_shipped, 0)) as bigint) as units_shipped
    from order_lines
    inner join products
        on order_lines.product_key = products.product_key
    cross join scorecard_window
    where {{ to_date('order_lines.shipped_ts') }} between window_start and window_end
    group by 1

),

defective_returns as (

    select
        products.primary_supplier_key as supplier_key,
        cast(sum(returns.quantity_returned) as bigint) as units_returned_defective
    from returns
    inner join products
        on returns.product_key = products.product_key
    cross join scorecard_window
    where returns.reason_code = 'defective'
        and returns.requested_date between window_start and window_end
    group by 1

),

production_defects as (

    select
        coalesce(products.primary_supplier_key, {{ unknown_key() }}) as supplier_key,
        cast(sum(coalesce(work_orders.quantity_scrapped, 0)) as bigint) as production_defect_units
    from work_orders
    left join products
        on work_orders.defect_component_sku = products.sku
        and not products.is_unknown
    cross join scorecard_window
    where work_orders.is_completed
        and work_orders.scrap_reason = 'component_defect'
        and work_orders.actual_finish_date between window_start and window_end
    group by 1

),

joined as (

    select
        suppliers.supplier_key,
        suppliers.supplier_id,
        suppliers.supplier_name,
        suppliers.country,
        suppliers.payment_terms_days,
        suppliers.contracted_lead_time_days,
        suppliers.is_unknown,
        scorecard_window.window_start,
        scorecard_window.window_end,
        coalesce(received_lines.received_po_lines, 0) as received_po_lines,
        coalesce(received_lines.on_time_po_lines, 0) as on_time_po_lines,
        coalesce(received_lines.in_full_po_lines, 0) as in_full_po_lines,
        received_lines.supplier_lead_time_days,
        received_lines.supplier_lead_time_stddev_days,
        coalesce(received_lines.units_received, 0) as units_received,
        coalesce(received_lines.units_rejected, 0) as units_rejected,
        coalesce(ordered_lines.po_lines_ordered, 0) as po_lines_ordered,
        coalesce(ordered_lines.po_value, 0) as po_value,
        coalesce(shipped_units.units_shipped, 0) as units_shipped,
        coalesce(defective_returns.units_returned_defective, 0) as units_returned_defective,
        coalesce(production_defects.production_defect_units, 0) as production_defect_units
    from suppliers
    cross join scorecard_window
    left join received_lines
        on suppliers.supplier_key = received_lines.supplier_key
    left join ordered_lines
        on suppliers.supplier_key = ordered_lines.supplier_key
    left join shipped_units
        on suppliers.supplier_key = shipped_units.supplier_key
    left join defective_returns
        on suppliers.supplier_key = defective_returns.supplier_key
    left join production_defects
        on suppliers.supplier_key = production_defects.supplier_key

),

final as (

    select
        supplier_key,
        supplier_id,
        supplier_name,
        country,
        payment_terms_days,
        contracted_lead_time_days,
        window_start,
        window_end,
        received_po_lines,
        on_time_po_lines,
        in_full_po_lines,
        case when received_po_lines > 0
            then cast(on_time_po_lines as double precision) / received_po_lines
        end as supplier_on_time_rate,
        case when received_po_lines > 0
            then cast(in_full_po_lines as double precision) / received_po_lines
        end as supplier_in_full_rate,
        supplier_lead_time_days,
        supplier_lead_time_stddev_days,
        units_received,
        units_rejected,
        case when units_received > 0
            then cast(units_rejected as double precision) / units_received * 1000000
        end as supplier_defect_ppm,
        po_lines_ordered,
        po_value,
        units_shipped,
        units_returned_defective,
        case when units_shipped > 0
            then cast(units_returned_defective as double precision) / units_shipped
        end as customer_defect_rate,
        production_defect_units
    from joined
    where not is_unknown
        or received_po_lines > 0
        or po_lines_ordered > 0
        or units_shipped > 0
        or units_returned_defective > 0
        or production_defect_units > 0

)

select * from final
