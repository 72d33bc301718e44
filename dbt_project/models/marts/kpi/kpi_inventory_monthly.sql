{#
    Inventory KPIs (kpi-definitions.md, Inventory) by month, product category and warehouse, with 'all'
    in category, warehouse_id or both for the totals (every snapshot row counts in four rows; the
    ('all', 'all') rows are kpi_monthly's figures). A dashboard reads the one row of its selection per
    month rather than combining rows: inventory_value is a mean over the selection's own snapshot days.

    - stockout_rate = stockout_rows / snapshot_rows;
    - inventory_value = stock_value_day_sum / snapshot_days: the mean, over the month's days with
      snapshots in the selection, of the day's stock value (on_hand_qty x current unit_cost);
    - inventory_turns = annualised_cogs / inventory_value, annualised_cogs = COGS of the month (units
      shipped x current unit_cost by shipped_ts, on the selection's lines) x 365 / calendar days of the
      month; days_inventory_outstanding = 365 / inventory_turns.
#}
with

daily as not materialized (

    select * from {{ ref('kpi_inventory_daily') }}

),

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

levels as (

    select *
    from (values (false, false), (false, true), (true, false), (true, true)) as levels (all_categories, all_warehouses)

),

daily_levels as (

    select
        daily.snapshot_date,
        daily.month,
        case when levels.all_categories then 'all' else daily.category end as category,
        case when levels.all_warehouses then 'all' else daily.warehouse_id end as warehouse_id,
        sum(daily.snapshot_rows) as snapshot_rows,
        sum(daily.stockout_rows) as stockout_rows,
        sum(daily.stock_value) as stock_value
    from daily
    cross join levels
    group by 1, 2, 3, 4

),

inventory_months as (

    select
        month,
        category,
        warehouse_id,
        count(*) as snapshot_days,
        cast(sum(snapshot_rows) as bigint) as snapshot_rows,
        cast(sum(stockout_rows) as bigint) as stockout_rows,
        sum(stock_value) as stock_value_day_sum
    from daily_levels
    group by 1, 2, 3

),

cogs_lines as (

    select
        {{ month_of('order_lines.shipped_ts') }} as month,
        products.category,
        order_lines.warehouse_id,
        coalesce(order_lines.quantity_shipped, 0) * products.unit_cost as cogs
    from order_lines
    inner join products
        on order_lines.product_key = products.product_key
    where order_lines.shipped_ts is not null
        and products.unit_cost is not null

),

cogs_months as (

    select
        cogs_lines.month,
        case when levels.all_categories then 'all' else cogs_lines.category end as category,
        case when levels.all_warehouses then 'all' else cogs_lines.warehouse_id end as warehouse_id,
        sum(cogs_lines.cogs) as cogs
    from cogs_lines
    cross join levels
    group by 1, 2, 3

),

measured as (

    select
        inventory_months.month,
        inventory_months.category,
        inventory_months.warehouse_id,
        inventory_months.snapshot_days,
        inventory_months.snapshot_rows,
        inventory_months.stockout_rows,
        inventory_months.stock_value_day_sum,
        coalesce(cogs_months.cogs, 0) * 365.0
            / {{ whole_days('inventory_months.month', dbt.dateadd('month', 1, 'inventory_months.month')) }}
            as annualised_cogs,
        cast(inventory_months.stockout_rows as double precision) / inventory_months.snapshot_rows as stockout_rate,
        inventory_months.stock_value_day_sum / inventory_months.snapshot_days as inventory_value
    from inventory_months
    left join cogs_months
        on inventory_months.month = cogs_months.month
        and inventory_months.category = cogs_months.category
        and inventory_months.warehouse_id = cogs_months.warehouse_id

),

turns as (

    select
        *,
        case when inventory_value <> 0 then annualised_cogs / inventory_value end as inventory_turns
    from measured

),

final as (

    select
        *,
        case when inventory_turns <> 0 then 365.0 / inventory_turns end as days_inventory_outstanding
    from turns

)

select * from final
