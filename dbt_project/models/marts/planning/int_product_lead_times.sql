{#
    The one place the planning marts decide a product's lead time (kpi-definitions.md, Plan), used by
    replenishment and forecast_accuracy_lead_time so that both measure the same L:

    - L̄, σ_L: mean and sample standard deviation (0 for a single line) of lead_time_days over every
      received PO line of the product's primary supplier (any sku, any warehouse) received in the
      365 days ending on the as-of date (as_of - 364 .. as_of). None: the supplier's contracted lead
      time and 0. No primary supplier (or one neither received lines nor the master know): null.
    - lead_days L = least(greatest(ceil(L̄), 1), var `lead_time_error_max_days`): the whole forecast
      days a lead time covers, capped at the longest sum forecast.lead_time_errors measures (the
      forecast horizon); null with L̄.
    Lives with the planning marts, in the intermediate schema.
#}
{{ config(schema='intermediate') }}
{%- set max_days = var('lead_time_error_max_days') -%}

with

products as not materialized (

    select * from {{ ref('dim_product') }}

),

suppliers as not materialized (

    select * from {{ ref('dim_supplier') }}

),

po_lines as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

lead_time_window as (

    select
        cast({{ dbt.dateadd('day', -364, 'as_of_date') }} as date) as window_start,
        as_of_date as window_end
    from as_of

),

supplier_lead_times as (

    select
        po_lines.supplier_id,
        avg(cast(po_lines.lead_time_days as double precision)) as lead_time_days,
        case
            when count(*) > 1 then stddev_samp(cast(po_lines.lead_time_days as double precision))
            else 0
        end as lead_time_sd
    from po_lines
    cross join lead_time_window
    where po_lines.is_received
        and po_lines.received_date between lead_time_window.window_start and lead_time_window.window_end
    group by 1

),

product_lead_times as (

    select
        products.product_key,
        products.primary_supplier_id,
        case
            when supplier_lead_times.supplier_id is not null then 'received_po_lines'
            when suppliers.contracted_lead_time_days is not null then 'contracted'
        end as lead_time_source,
        case
            when supplier_lead_times.supplier_id is not null then supplier_lead_times.lead_time_days
            else cast(suppliers.contracted_lead_time_days as double precision)
        end as lead_time_days,
        case
            when supplier_lead_times.supplier_id is not null then supplier_lead_times.lead_time_sd
            when suppliers.contracted_lead_time_days is not null then 0
        end as lead_time_sd
    from products
    left join supplier_lead_times
        on products.primary_supplier_id = supplier_lead_times.supplier_id
    left join suppliers
        on products.primary_supplier_key = suppliers.supplier_key
        and not suppliers.is_unknown

),

final as (

    select
        product_key,
        primary_supplier_id,
        lead_time_source,
        lead_time_days,
        lead_time_sd,
        -- greatest and least skip nulls in DuckDB: without a lead time there are no lead days
        case
            when lead_time_days is not null
                then least(greatest(cast(ceil(lead_time_days) as integer), 1), {{ max_days }})
        end as lead_days
    from product_lead_times

)

select * from final
