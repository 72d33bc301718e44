{#
    One row per day, warehouse and sku: the current end-of-day snapshot (the later delivery wins).
    Incremental like fct_order_lines (macro versions_to_process): a run reprocesses the snapshots
    re-sent or first sent since the last build or dated in a backfill window, and those still mapped
    to an unknown product or warehouse whose master has arrived.
    Stock value (x the product's current unit_cost) is computed downstream, so a cost change needs
    no reprocessing here.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='inventory_key',
        on_schema_change='fail'
    )
}}

with

inventory_versions as not materialized (

    select * from {{ ref('stg_inventory__versions') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}
    where not is_unknown

),

warehouses as not materialized (

    select * from {{ ref('dim_warehouse') }}
    where not is_unknown

),

{{
    versions_to_process(
        'inventory_versions',
        ['snapshot_date', 'warehouse_id', 'sku'],
        'snapshot_date',
        late_masters=[
            {'key': 'product_key', 'natural_key': 'sku', 'members': 'products'},
            {'key': 'warehouse_key', 'natural_key': 'warehouse_id', 'members': 'warehouses'},
        ]
    )
}},

ranked as (

    select
        *,
        {{ version_rank(['snapshot_date', 'warehouse_id', 'sku'], version_column=none) }} as version_rank,
        max(_loaded_at) over (partition by snapshot_date, warehouse_id, sku) as _last_loaded_at
    from versions_to_process

),

current_snapshots as (

    select * from ranked
    where version_rank = 1

),

final as (

    select
        {{ surrogate_key(['current_snapshots.snapshot_date', 'current_snapshots.warehouse_id', 'current_snapshots.sku']) }} as inventory_key,
        coalesce(products.product_key, {{ unknown_key() }}) as product_key,
        coalesce(warehouses.warehouse_key, {{ unknown_key() }}) as warehouse_key,
        current_snapshots.snapshot_date,
        current_snapshots.warehouse_id,
        current_snapshots.sku,
        current_snapshots.on_hand_qty,
        current_snapshots.reserved_qty,
        current_snapshots.on_hand_qty - current_snapshots.reserved_qty as available_qty,
        current_snapshots.on_hand_qty = 0 as is_stockout,
        current_snapshots._source_file,
        current_snapshots._loaded_at,
        current_snapshots._last_loaded_at
    from current_snapshots
    left join products
        on current_snapshots.sku = products.sku
    left join warehouses
        on current_snapshots.warehouse_id = warehouses.warehouse_id

)

select * from final
