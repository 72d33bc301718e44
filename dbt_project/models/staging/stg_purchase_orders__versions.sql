{# Every version of every purchase-order line that arrived. #}
with

source as not materialized (

    select * from {{ source('raw', 'purchase_orders') }}

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
        _row_number,
        _file_seq,
        _load_id,
        _loaded_at
    from source

)

select * from final
