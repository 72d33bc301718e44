{#
    One row per return, its current version. Incremental like fct_order_lines (macro
    versions_to_process: new versions, returns requested in a backfill window, and returns whose
    product master has arrived since they were mapped to unknown). The returned line is referenced by
    order_line_key (computed from the natural key, so it needs no reprocessing when the line
    changes); the line's attributes are joined downstream.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='return_key',
        on_schema_change='fail'
    )
}}

with

return_versions as not materialized (

    select * from {{ ref('stg_returns__versions') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}
    where not is_unknown

),

{{
    versions_to_process(
        'return_versions',
        ['return_id'],
        'requested_date',
        late_masters=[
            {'key': 'product_key', 'natural_key': 'sku', 'members': 'products'},
        ]
    )
}},

ranked as (

    select
        *,
        {{ version_rank(['return_id']) }} as version_rank,
        max(_loaded_at) over (partition by return_id) as _last_loaded_at
    from versions_to_process

),

current_returns as (

    select * from ranked
    where version_rank = 1

),

final as (

    select
        {{ surrogate_key(['current_returns.return_id']) }} as return_key,
        {{ surrogate_key(['current_returns.order_id', 'current_returns.line_number']) }} as order_line_key,
        {{ surrogate_key(['current_returns.order_id']) }} as order_key,
        coalesce(products.product_key, {{ unknown_key() }}) as product_key,
        current_returns.return_id,
        current_returns.order_id,
        current_returns.line_number,
        current_returns.sku,
        current_returns.reason_code,
        current_returns.disposition,
        current_returns.requested_ts,
        current_returns.requested_date,
        current_returns.received_ts,
        current_returns.received_date,
        current_returns.quantity_returned,
        current_returns.refund_amount,
        current_returns.received_ts is not null as is_received,
        current_returns.reason_code in ('damaged', 'defective', 'wrong_item') as is_quality_return,
        case
            when current_returns.received_ts is not null
                then {{ fractional_days('current_returns.requested_ts', 'current_returns.received_ts') }}
        end as processing_days,
        current_returns.updated_at,
        current_returns._source_file,
        current_returns._loaded_at,
        current_returns._last_loaded_at
    from current_returns
    left join products
        on current_returns.sku = products.sku

)

select * from final
