{#
    Every version of every work order that arrived, typed and named as the models use them.
    fct_work_orders reads this to recompute the current version of just the work orders a new load touched.
    Empty for a business that sends no Make feeds.
#}
with

source as not materialized (

    select * from {{ source('raw', 'work_orders') }}

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
        _row_number,
        _file_seq,
        _load_id,
        _loaded_at
    from source

)

select * from final
