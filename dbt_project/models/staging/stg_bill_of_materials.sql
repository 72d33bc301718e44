{# The current version of each bill-of-materials row (parent_sku, component_sku): latest updated_at, then the later delivery. Empty for a business that sends no Make feeds. #}
with

source as not materialized (

    select * from {{ source('raw', 'bill_of_materials') }}

),

ranked as (

    select
        *,
        {{ version_rank(['parent_sku', 'component_sku']) }} as version_rank
    from source

),

final as (

    select
        parent_sku,
        component_sku,
        quantity_per,
        scrap_allowance,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
