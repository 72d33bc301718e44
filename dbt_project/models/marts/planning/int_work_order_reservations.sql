{#
    What open work orders not yet started reserve (kpi-definitions.md, Planning (MRP)): per component
    sku and warehouse, the units of the direct components of every current work order with status
    `planned` or `released` (production has not begun: no component has been consumed yet).
    A work order of quantity_planned good units reserves quantity_planned x quantity_per /
    (1 - coalesce(scrap_allowance, 0)) of each direct component, the planned loss included as in the
    dependent demand, summed and rounded up to whole units (stock is issued in units), at the site its work center consumes stock from (the work order's own warehouse
    while the work center is not in the master). Direct components only: a sub-assembly's own
    components are reserved by the sub-assembly's work orders. Empty for a trading business.
    Lives with the planning marts, in the intermediate schema.
#}
{{ config(schema='intermediate') }}

with

work_orders as not materialized (

    select * from {{ ref('fct_work_orders') }}

),

work_centers as not materialized (

    select * from {{ ref('dim_work_center') }}
    where not is_unknown

),

bom as not materialized (

    select * from {{ ref('stg_bill_of_materials') }}

),

not_started as (

    select
        work_orders.sku,
        coalesce(work_centers.warehouse_id, work_orders.warehouse_id) as warehouse_id,
        work_orders.quantity_planned
    from work_orders
    left join work_centers
        on work_orders.work_center_key = work_centers.work_center_key
    where work_orders.status in ('planned', 'released')

),

final as (

    select
        bom.component_sku as sku,
        not_started.warehouse_id,
        count(*) as reserving_work_orders,
        -- rounded to 6 places before ceil, so that float noise (10.000000000000002) is not a unit more
        cast(ceil(round(sum(
            not_started.quantity_planned * cast(bom.quantity_per as double precision)
            / (1 - cast(coalesce(bom.scrap_allowance, 0) as double precision))
        ), 6)) as bigint) as work_order_reserved_qty
    from not_started
    inner join bom
        on not_started.sku = bom.parent_sku
    group by 1, 2

)

select * from final
