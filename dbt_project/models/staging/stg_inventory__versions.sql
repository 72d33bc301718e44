{# Every inventory snapshot row that arrived; a snapshot re-sent in a later delivery replaces the earlier one. #}
with

source as not materialized (

    select * from {{ source('raw', 'inventory') }}

),

final as (

    select
        snapshot_date,
        warehouse_id,
        sku,
        on_hand_qty,
        reserved_qty,
        _source_file,
        _row_number,
        _file_seq,
        _load_id,
        _loaded_at
    from source

)

select * from final
