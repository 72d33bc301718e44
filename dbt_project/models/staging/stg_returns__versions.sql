{# Every version of every return that arrived. #}
with

source as not materialized (

    select * from {{ source('raw', 'returns') }}

),

final as (

    select
        return_id,
        order_id,
        line_number,
        sku,
        reason_code,
        disposition,
        requested_ts,
        {{ to_date('requested_ts') }} as requested_date,
        received_ts,
        {{ to_date('received_ts') }} as received_date,
        quantity_returned,
        refund_amount,
        updated_at,
        _source_file,
        _row_number,
        _file_seq,
        _load_id,
        _loaded_at
    from source

)

select * from final
