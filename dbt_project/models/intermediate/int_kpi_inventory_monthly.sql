{#
    Inventory KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Inventory"), with the
    product's current unit_cost. A sku the product master does not hold has no cost: its stock and
    shipments are left out of inventory_value and COGS.
    inventory_value: mean over the month's snapshot days of the day's stock value
      (numerator = sum of the daily values, denominator = number of days with snapshots).
    inventory_turns: COGS of the month x (365 / calendar days in the month) / inventory_value
      (numerator = annualised COGS, denominator = inventory_value).
    days_inventory_outstanding: 365 / inventory_turns (numerator 365, denominator the turns).
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

stockout_months as (

    select
        {{ month_of('snapshot_date') }} as month,
        count(*) as snapshot_rows,
        count(case when is_stockout then 1 end) as stockout_rows
    from inventory
    group by 1

),

daily_stock_value as (

    select
        inventory.snapshot_date,
        sum(inventory.on_hand_qty * products.unit_cost) as stock_value
    from inventory
    inner join products
        on inventory.product_key = products.product_key
    group by 1

),

inventory_value_months as (

    select
        {{ month_of('snapshot_date') }} as month,
        sum(coalesce(stock_value, 0)) as stock_value_day_sum,
        count(*) as snapshot_days
    from daily_stock_value
    group by 1

),

cogs_months as (

    select
        {{ month_of('order_lines.shipped_ts') }} as month,
        sum(coalesce(order_lines.quantity_shipped, 0) * products.unit_cost) as cogs
    from order_lines
    inner join products
        on order_lines.product_key = products.product_key
    where order_lines.shipped_ts is not null
        and products.unit_cost is not null
    group by 1

),

turns_months as (

    select
        inventory_value_months.month,
        inventory_value_months.stock_value_day_sum / inventory_value_months.snapshot_days as inventory_value,
        coalesce(cogs_months.cogs, 0) * 365.0
            / {{ whole_days('inventory_value_months.month', dbt.dateadd('month', 1, 'inventory_value_months.month')) }}
            as annualised_cogs
    from inventory_value_months
    left join cogs_months
        on inventory_value_months.month = cogs_months.month

),

dio_months as (

    select
        month,
        365.0 as days_per_year,
        case when inventory_value <> 0 then annualised_cogs / inventory_value end as inventory_turns
    from turns_months

),

final as (

    {{ kpi_ratio('stockout_rate', 'stockout_months', 'stockout_rows', 'snapshot_rows') }}
    union all
    {{ kpi_ratio('inventory_value', 'inventory_value_months', 'stock_value_day_sum', 'snapshot_days') }}
    union all
    {{ kpi_ratio('inventory_turns', 'turns_months', 'annualised_cogs', 'inventory_value') }}
    union all
    {{ kpi_ratio('days_inventory_outstanding', 'dio_months', 'days_per_year', 'inventory_turns') }}

)

select * from final
