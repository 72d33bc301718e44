{#
    Work centers (current version of each), plus the "unknown" member (key '-1') that work orders of a
    work center not (yet) in the master point at.
#}
with

work_centers as not materialized (

    select * from {{ ref('stg_work_centers') }}

),

warehouses as not materialized (

    select * from {{ ref('dim_warehouse') }}
    where not is_unknown

),

known_work_centers as (

    select
        {{ surrogate_key(['work_centers.work_center_id']) }} as work_center_key,
        work_centers.work_center_id,
        work_centers.work_center_name,
        work_centers.warehouse_id,
        coalesce(warehouses.warehouse_key, {{ unknown_key() }}) as warehouse_key,
        cast(work_centers.capacity_hours_per_day as double precision) as capacity_hours_per_day,
        false as is_unknown
    from work_centers
    left join warehouses
        on work_centers.warehouse_id = warehouses.warehouse_id

),

unknown_work_center as (

    select
        {{ unknown_key() }} as work_center_key,
        'unknown' as work_center_id,
        'Unknown work center' as work_center_name,
        cast(null as {{ dbt.type_string() }}) as warehouse_id,
        {{ unknown_key() }} as warehouse_key,
        cast(null as double precision) as capacity_hours_per_day,
        true as is_unknown

),

final as (

    select * from known_work_centers
    union all
    select * from unknown_work_center

)

select * from final
