{# The current version of each purchase-order line. #}
with

versions as not materialized (

    select * from {{ ref('stg_purchase_orders__versions') }}

),

ranked as (

    select
        *,
        {{ version_rank(['po_id', 'line_number']) }} as version_rank
    from versions

),

final as (

    select
        po_id,
        line_number,
        supplier_id,
        sku,
        warehouse_id,
        status,
        order_date,
        promised_date,
        received_date,
        quantity_ordered,
        quantity_received,
        quantity_rejected,
        unit_cost,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
