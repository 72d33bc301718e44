with

warehouses as not materialized (

    select * from {{ ref('stg_warehouses') }}

),

known_warehouses as (

    select
        {{ surrogate_key(['warehouse_id']) }} as warehouse_key,
        warehouse_id,
        warehouse_name,
        region,
        country,
        operator,
        false as is_unknown
    from warehouses

),

unknown_warehouse as (

    select
        {{ unknown_key() }} as warehouse_key,
        'unknown' as warehouse_id,
        'Unknown warehouse' as warehouse_name,
        'unknown' as region,
        'unknown' as country,
        'unknown' as operator,
        true as is_unknown

),

final as (

    select * from known_warehouses
    union all
    select * from unknown_warehouse

)

select * from final
