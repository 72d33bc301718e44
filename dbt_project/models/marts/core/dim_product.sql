with

products as not materialized (

    select * from {{ ref('stg_products') }}

),

suppliers as not materialized (

    select * from {{ ref('dim_supplier') }}
    where not is_unknown

),

known_products as (

    select
        {{ surrogate_key(['products.sku']) }} as product_key,
        products.sku,
        products.product_name,
        products.category,
        products.subcategory,
        products.unit_cost,
        products.list_price,
        products.primary_supplier_id,
        products.order_multiple,
        products.min_order_qty,
        coalesce(suppliers.supplier_key, {{ unknown_key() }}) as primary_supplier_key,
        false as is_unknown
    from products
    left join suppliers
        on products.primary_supplier_id = suppliers.supplier_id

),

unknown_product as (

    select
        {{ unknown_key() }} as product_key,
        'unknown' as sku,
        'Unknown product' as product_name,
        'unknown' as category,
        'unknown' as subcategory,
        cast(null as decimal(18, 4)) as unit_cost,
        cast(null as decimal(18, 4)) as list_price,
        cast(null as {{ dbt.type_string() }}) as primary_supplier_id,
        cast(1 as bigint) as order_multiple,
        cast(0 as bigint) as min_order_qty,
        {{ unknown_key() }} as primary_supplier_key,
        true as is_unknown

),

final as (

    select * from known_products
    union all
    select * from unknown_product

)

select * from final
