{# The current version of each work order (feed contract: latest updated_at, then the later delivery). #}
with

versions as not materialized (

    select * from {{ ref('stg_work_orders__versions') }}

),

ranked as (

    select
        *,
        {{ version_rank(['work_order_id']) }} as version_rank
    from versions

),

final as (

    select
        work_order_id,
        sku,
        work_center_id,
        warehouse_id,
        planned_start_date,
        planned_finish_date,
        quantity_planned,
        status,
        actual_start_ts,
        actual_finish_ts,
        quantity_produced,
        quantity_scrapped,
        labor_hours,
        scrap_reason,
        defect_component_sku,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
