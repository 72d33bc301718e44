{# The current snapshot per day, warehouse and sku: inventory has no version column, the later delivery wins. #}
with

versions as not materialized (

    select * from {{ ref('stg_inventory__versions') }}

),

ranked as (

    select
        *,
        {{ version_rank(['snapshot_date', 'warehouse_id', 'sku'], version_column=none) }} as version_rank
    from versions

),

final as (

    select
        snapshot_date,
        warehouse_id,
        sku,
        on_hand_qty,
        reserved_qty,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
