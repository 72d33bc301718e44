with

source as not materialized (

    select * from {{ source('raw', 'products') }}

),

ranked as (

    select
        *,
        {{ version_rank(['sku']) }} as version_rank
    from source

),

final as (

    select
        sku,
        product_name,
        category,
        subcategory,
        unit_cost,
        list_price,
        primary_supplier_id,
        coalesce(order_multiple, 1) as order_multiple,
        coalesce(min_order_qty, 0) as min_order_qty,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
