{#
    The components that hold up open work orders: one row per work order not yet started (status
    planned or released) and direct component of its sku, with the units it needs
    (quantity_planned x quantity_per / (1 - coalesce(scrap_allowance, 0)), the planned loss included,
    as int_work_order_reservations reserves them) at the site its work center consumes stock from (the
    work order's own warehouse while the work center is not in the master).
    The stock that covers them is the component's available stock there on the as-of date
    (kpi_inventory_position: on hand - reserved for customer orders; none without a position, and a
    stale position counts as none, its stock today being unknown). Work orders draw on it in the order
    they are planned to start (then by id): the stock left after the earlier ones is what covers a
    work order, and shortage_qty is the part of its need that is left uncovered. Open purchase orders
    are not counted: they cover nothing until they are received. Empty for a trading business.
#}
with

work_orders as not materialized (

    select * from {{ ref('fct_work_orders') }}
    where status in ('planned', 'released')

),

work_centers as not materialized (

    select * from {{ ref('dim_work_center') }}
    where not is_unknown

),

bom as not materialized (

    select * from {{ ref('stg_bill_of_materials') }}

),

positions as not materialized (

    select * from {{ ref('kpi_inventory_position') }}

),

needs as (

    select
        work_orders.work_order_key,
        work_orders.work_order_id,
        work_orders.work_center_key,
        work_orders.work_center_id,
        work_orders.sku,
        work_orders.status,
        work_orders.planned_start_date,
        work_orders.planned_finish_date,
        work_orders.quantity_planned,
        bom.component_sku,
        coalesce(work_centers.warehouse_id, work_orders.warehouse_id) as warehouse_id,
        cast(bom.quantity_per as double precision) as quantity_per,
        -- rounded to 6 places so that float noise (10.000000000000002) is no shortage
        round(
            work_orders.quantity_planned * cast(bom.quantity_per as double precision)
            / (1 - cast(coalesce(bom.scrap_allowance, 0) as double precision)),
            6
        ) as required_qty
    from work_orders
    inner join bom
        on work_orders.sku = bom.parent_sku
    left join work_centers
        on work_orders.work_center_key = work_centers.work_center_key

),

covered as (

    select
        needs.*,
        case
            when positions.is_stale or positions.available_qty is null then 0
            else greatest(positions.available_qty, 0)
        end as available_qty,
        sum(needs.required_qty) over (
            partition by needs.component_sku, needs.warehouse_id
            order by needs.planned_start_date nulls last, needs.work_order_id
            rows between unbounded preceding and current row
        ) as cumulative_required_qty
    from needs
    left join positions
        on needs.component_sku = positions.sku
        and needs.warehouse_id = positions.warehouse_id

),

final as (

    select
        work_order_key,
        work_order_id,
        work_center_key,
        work_center_id,
        sku,
        status,
        planned_start_date,
        planned_finish_date,
        quantity_planned,
        component_sku,
        warehouse_id,
        quantity_per,
        required_qty,
        cast(available_qty as double precision) as available_qty,
        cumulative_required_qty,
        round(greatest(least(required_qty, cumulative_required_qty - available_qty), 0), 6) as shortage_qty,
        cumulative_required_qty > available_qty as is_short
    from covered

)

select * from final
