{#
    Per sku and warehouse on the as-of date (kpi-definitions.md, Inventory): the latest snapshot on
    or before the as-of date (snapshot_date says which; it is the as-of date when the feed is
    current), available_qty = on_hand_qty - reserved_qty, avg_daily_demand_28d = units ordered on
    non-cancelled lines for the sku from the warehouse with order date in the 28 days ending on the
    as-of date / 28, days_of_supply = available_qty / avg_daily_demand_28d (null without demand),
    and the stockout days (on_hand_qty = 0) in the same 28 days. is_stale: the latest snapshot is more
    than var `stale_position_days` days before the as-of date (the warehouse stopped sending the sku):
    its stock today is not known, so it is not out of stock now, and not in stock either.
#}
with

inventory as not materialized (

    select * from {{ ref('fct_inventory_daily') }}

),

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

warehouses as not materialized (

    select * from {{ ref('dim_warehouse') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

demand_window as (

    select
        cast({{ dbt.dateadd('day', -27, 'as_of_date') }} as date) as window_start,
        as_of_date as window_end
    from as_of

),

latest_dates as (

    -- The latest snapshot date per sku and warehouse: a grouped max, not a window over every
    -- snapshot row (the inventory fact is the largest table; sorting all of it took most of the model).
    select
        inventory.sku,
        inventory.warehouse_id,
        max(inventory.snapshot_date) as snapshot_date
    from inventory
    cross join as_of
    where inventory.snapshot_date <= as_of.as_of_date
    group by 1, 2

),

latest_snapshots as (

    select inventory.*
    from inventory
    inner join latest_dates
        on inventory.sku = latest_dates.sku
        and inventory.warehouse_id = latest_dates.warehouse_id
        and inventory.snapshot_date = latest_dates.snapshot_date

),

demand as (

    select
        order_lines.sku,
        order_lines.warehouse_id,
        cast(sum(order_lines.quantity_ordered) as bigint) as units_ordered_28d
    from order_lines
    cross join demand_window
    where not order_lines.is_cancelled
        and order_lines.order_date between demand_window.window_start and demand_window.window_end
    group by 1, 2

),

stockouts as (

    select
        inventory.sku,
        inventory.warehouse_id,
        count(case when inventory.is_stockout then 1 end) as stockout_days_28d
    from inventory
    cross join demand_window
    where inventory.snapshot_date between demand_window.window_start and demand_window.window_end
    group by 1, 2

),

joined as (

    select
        latest_snapshots.inventory_key,
        latest_snapshots.product_key,
        latest_snapshots.warehouse_key,
        latest_snapshots.sku,
        latest_snapshots.warehouse_id,
        products.product_name,
        products.category,
        warehouses.warehouse_name,
        as_of.as_of_date,
        latest_snapshots.snapshot_date,
        {{ whole_days('latest_snapshots.snapshot_date', 'as_of.as_of_date') }}
            > {{ var('stale_position_days') }} as is_stale,
        latest_snapshots.on_hand_qty,
        latest_snapshots.reserved_qty,
        latest_snapshots.available_qty,
        products.unit_cost,
        latest_snapshots.on_hand_qty * products.unit_cost as stock_value,
        coalesce(demand.units_ordered_28d, 0) as units_ordered_28d,
        coalesce(demand.units_ordered_28d, 0) / 28.0 as avg_daily_demand_28d,
        coalesce(stockouts.stockout_days_28d, 0) as stockout_days_28d
    from latest_snapshots
    inner join products
        on latest_snapshots.product_key = products.product_key
    inner join warehouses
        on latest_snapshots.warehouse_key = warehouses.warehouse_key
    cross join as_of
    left join demand
        on latest_snapshots.sku = demand.sku
        and latest_snapshots.warehouse_id = demand.warehouse_id
    left join stockouts
        on latest_snapshots.sku = stockouts.sku
        and latest_snapshots.warehouse_id = stockouts.warehouse_id

),

final as (

    select
        *,
        case
            when avg_daily_demand_28d > 0 then available_qty / avg_daily_demand_28d
        end as days_of_supply
    from joined

)

select * from final
