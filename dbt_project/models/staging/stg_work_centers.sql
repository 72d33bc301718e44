{# The current version of each work center (feed contract: latest updated_at, then the later delivery). Empty for a business that sends no Make feeds. #}
with

source as not materialized (

    select * from {{ source('raw', 'work_centers') }}

),

ranked as (

    select
        *,
        {{ version_rank(['work_center_id']) }} as version_rank
    from source

),

final as (

    select
        work_center_id,
        work_center_name,
        warehouse_id,
        capacity_hours_per_day,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
