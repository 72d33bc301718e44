{#
    Every version of every order line that arrived, typed and named as the models use them.
    fct_order_lines reads this to recompute the current version of just the lines a new load touched.
#}
with

source as not materialized (

    select * from {{ source('raw', 'orders') }}

),

final as (

    select
        order_id,
        line_number,
        customer_id,
        channel,
        ship_to_region,
        sku,
        warehouse_id,
        carrier,
        status,
        order_ts,
        {{ to_date('order_ts') }} as order_date,
        promised_date,
        shipped_ts,
        {{ to_date('shipped_ts') }} as shipped_date,
        delivered_ts,
        {{ to_date('delivered_ts') }} as delivered_date,
        quantity_ordered,
        quantity_shipped,
        unit_price,
        shipping_cost,
        updated_at,
        _source_file,
        _row_number,
        _file_seq,
        _load_id,
        _loaded_at
    from source

)

select * from final
