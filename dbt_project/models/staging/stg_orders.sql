{# The current version of each order line (feed contract: latest updated_at, then the later delivery). #}
with

versions as not materialized (

    select * from {{ ref('stg_orders__versions') }}

),

ranked as (

    select
        *,
        {{ version_rank(['order_id', 'line_number']) }} as version_rank
    from versions

),

final as (

    select
        order_id,
        line_number,
        customer_id,
        channel,
        ship_to_region,
        sku,
        warehouse_id,
        carrier,
        status,
        order_ts,
        order_date,
        promised_date,
        shipped_ts,
        shipped_date,
        delivered_ts,
        delivered_date,
        quantity_ordered,
        quantity_shipped,
        unit_price,
        shipping_cost,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
