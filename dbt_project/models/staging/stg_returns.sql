{# The current version of each return. #}
with

versions as not materialized (

    select * from {{ ref('stg_returns__versions') }}

),

ranked as (

    select
        *,
        {{ version_rank(['return_id']) }} as version_rank
    from versions

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
        requested_date,
        received_ts,
        received_date,
        quantity_returned,
        refund_amount,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
