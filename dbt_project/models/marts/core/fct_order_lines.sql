{#
    One row per order line, its current version. Incremental (delete+insert on order_line_key, macro
    versions_to_process): a run reprocesses every line that got a version loaded since the last build
    or is dated in a backfill window, recomputing its current version from all its versions, plus the
    lines still mapped to an unknown product or warehouse whose master has since arrived. Flags here
    depend only on the line itself, except is_due (kpi-definitions.md: a due line is not cancelled and
    promised by the as-of date), the one home of that rule: the as-of date moves between runs, so a
    stored line whose is_due no longer holds is reprocessed too (stale_keys), like fct_work_orders.
    Anything that depends on the product's current cost is computed downstream.
#}
{#- The due-line rule over a line's is_cancelled and promised_date, spelled once for the flag and its
    staleness check. #}
{%- set due_rule = "not is_cancelled and promised_date <= as_of.as_of_date" -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_line_key',
        on_schema_change='fail'
    )
}}

with

order_versions as not materialized (

    select * from {{ ref('stg_orders__versions') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}
    where not is_unknown

),

warehouses as not materialized (

    select * from {{ ref('dim_warehouse') }}
    where not is_unknown

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

{% if is_incremental() -%}
keys_with_stale_due as (

    select order_id, line_number
    from {{ this }}
    cross join as_of
    where is_due is distinct from ({{ due_rule }})

),
{%- endif %}

{{
    versions_to_process(
        'order_versions',
        ['order_id', 'line_number'],
        'order_date',
        late_masters=[
            {'key': 'product_key', 'natural_key': 'sku', 'members': 'products'},
            {'key': 'warehouse_key', 'natural_key': 'warehouse_id', 'members': 'warehouses'},
        ],
        stale_keys=['keys_with_stale_due'] if is_incremental() else []
    )
}},

ranked as (

    select
        *,
        {{ version_rank(['order_id', 'line_number']) }} as version_rank,
        max(_loaded_at) over (partition by order_id, line_number) as _last_loaded_at
    from versions_to_process

),

current_lines as (

    select * from ranked
    where version_rank = 1

),

line_flags as (

    select
        *,
        status = 'cancelled' as is_cancelled,
        delivered_ts is not null and delivered_date <= promised_date as is_on_time,
        coalesce(quantity_shipped, 0) >= quantity_ordered as is_in_full,
        (quantity_shipped is null or quantity_shipped < quantity_ordered)
            and (shipped_ts is null or shipped_date > promised_date) as is_backorder
    from current_lines

),

flagged as (

    select
        line_flags.*,
        {{ due_rule }} as is_due
    from line_flags
    cross join as_of

),

final as (

    select
        {{ surrogate_key(['flagged.order_id', 'flagged.line_number']) }} as order_line_key,
        {{ surrogate_key(['flagged.order_id']) }} as order_key,
        {{ surrogate_key(['flagged.customer_id']) }} as customer_key,
        coalesce(products.product_key, {{ unknown_key() }}) as product_key,
        coalesce(warehouses.warehouse_key, {{ unknown_key() }}) as warehouse_key,
        flagged.order_id,
        flagged.line_number,
        flagged.customer_id,
        flagged.sku,
        flagged.warehouse_id,
        flagged.channel,
        flagged.ship_to_region,
        flagged.carrier,
        flagged.status,
        flagged.order_ts,
        flagged.order_date,
        flagged.promised_date,
        flagged.shipped_ts,
        flagged.shipped_date,
        flagged.delivered_ts,
        flagged.delivered_date,
        flagged.quantity_ordered,
        flagged.quantity_shipped,
        flagged.unit_price,
        flagged.shipping_cost,
        flagged.quantity_ordered * flagged.unit_price as ordered_value,
        coalesce(flagged.quantity_shipped, 0) * flagged.unit_price as shipped_value,
        flagged.is_cancelled,
        flagged.is_due,
        flagged.is_on_time,
        flagged.is_in_full,
        flagged.is_on_time and flagged.is_in_full as is_on_time_in_full,
        flagged.is_backorder,
        case
            when flagged.delivered_ts is not null
                then {{ fractional_days('flagged.order_ts', 'flagged.delivered_ts') }}
        end as order_to_delivery_days,
        flagged.updated_at,
        flagged._source_file,
        flagged._loaded_at,
        flagged._last_loaded_at
    from flagged
    left join products
        on flagged.sku = products.sku
    left join warehouses
        on flagged.warehouse_id = warehouses.warehouse_id

)

select * from final
