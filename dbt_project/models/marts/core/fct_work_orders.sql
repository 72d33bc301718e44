{#
    One row per work order, its current version (feed work_orders; none for a trading business).
    Incremental like fct_purchase_order_lines (macro versions_to_process: new versions since the last
    build, work orders planned to start in a backfill window, work orders whose work center, product or
    warehouse master has arrived since they were mapped to unknown). is_due depends on the as-of date,
    which moves between runs: a stored work order whose is_due no longer holds is reprocessed too
    (stale_keys), so the flag is always the one of this run's as-of date.

    Flags (kpi-definitions.md, Make): due = status <> 'cancelled' and planned_finish_date <= as-of date;
    completed = status 'completed' with an actual_finish_ts; on schedule = completed with
    actual_finish_ts::date <= planned_finish_date; cycle time = actual_finish_ts - actual_start_ts in
    fractional days, for completed work orders with both.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='work_order_key',
        on_schema_change='fail'
    )
}}

with

work_order_versions as not materialized (

    select * from {{ ref('stg_work_orders__versions') }}

),

work_centers as not materialized (

    select * from {{ ref('dim_work_center') }}
    where not is_unknown

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

    select work_order_id
    from {{ this }}
    cross join as_of
    where is_due is distinct from (status <> 'cancelled' and planned_finish_date <= as_of.as_of_date)

),
{%- endif %}

{{
    versions_to_process(
        'work_order_versions',
        ['work_order_id'],
        'planned_start_date',
        late_masters=[
            {'key': 'work_center_key', 'natural_key': 'work_center_id', 'members': 'work_centers'},
            {'key': 'product_key', 'natural_key': 'sku', 'members': 'products'},
            {'key': 'warehouse_key', 'natural_key': 'warehouse_id', 'members': 'warehouses'},
        ],
        stale_keys=['keys_with_stale_due'] if is_incremental() else []
    )
}},

ranked as (

    select
        *,
        {{ version_rank(['work_order_id']) }} as version_rank,
        max(_loaded_at) over (partition by work_order_id) as _last_loaded_at
    from versions_to_process

),

current_work_orders as (

    select * from ranked
    where version_rank = 1

),

flagged as (

    select
        current_work_orders.*,
        current_work_orders.status <> 'cancelled'
            and current_work_orders.planned_finish_date <= as_of.as_of_date as is_due,
        current_work_orders.status = 'completed'
            and current_work_orders.actual_finish_ts is not null as is_completed
    from current_work_orders
    cross join as_of

),

final as (

    select
        {{ surrogate_key(['flagged.work_order_id']) }} as work_order_key,
        coalesce(work_centers.work_center_key, {{ unknown_key() }}) as work_center_key,
        coalesce(products.product_key, {{ unknown_key() }}) as product_key,
        coalesce(warehouses.warehouse_key, {{ unknown_key() }}) as warehouse_key,
        flagged.work_order_id,
        flagged.sku,
        flagged.work_center_id,
        flagged.warehouse_id,
        flagged.status,
        flagged.planned_start_date,
        flagged.planned_finish_date,
        flagged.actual_start_ts,
        flagged.actual_finish_ts,
        {{ to_date('flagged.actual_finish_ts') }} as actual_finish_date,
        flagged.quantity_planned,
        flagged.quantity_produced,
        flagged.quantity_scrapped,
        cast(flagged.labor_hours as double precision) as labor_hours,
        flagged.scrap_reason,
        flagged.defect_component_sku,
        flagged.is_due,
        flagged.is_completed,
        flagged.is_completed
            and {{ to_date('flagged.actual_finish_ts') }} <= flagged.planned_finish_date as is_on_schedule,
        case
            when flagged.is_completed and flagged.actual_start_ts is not null
                then {{ fractional_days('flagged.actual_start_ts', 'flagged.actual_finish_ts') }}
        end as cycle_time_days,
        flagged.updated_at,
        flagged._source_file,
        flagged._loaded_at,
        flagged._last_loaded_at
    from flagged
    left join work_centers
        on flagged.work_center_id = work_centers.work_center_id
    left join products
        on flagged.sku = products.sku
    left join warehouses
        on flagged.warehouse_id = warehouses.warehouse_id

)

select * from final
