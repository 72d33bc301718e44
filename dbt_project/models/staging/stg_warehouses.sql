with

source as not materialized (

    select * from {{ source('raw', 'warehouses') }}

),

ranked as (

    select
        *,
        {{ version_rank(['warehouse_id']) }} as version_rank
    from source

),

final as (

    select
        warehouse_id,
        warehouse_name,
        region,
        country,
        operator,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
