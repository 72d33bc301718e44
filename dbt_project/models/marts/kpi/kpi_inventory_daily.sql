{#
    End-of-day stock per snapshot day, product category and warehouse (kpi-definitions.md, Inventory):
    the snapshot rows (sku, warehouse, day), those with nothing on hand, and the stock value
    (on_hand_qty x the product's current unit_cost; a sku without a cost adds nothing to it). Every
    column is a sum, so a dashboard filtering rows sums them; stockout_rate of a set of rows is
    Σ stockout_rows / Σ snapshot_rows. The monthly figures are kpi_inventory_monthly's.
#}
with

inventory as not materialized (

    select * from {{ ref('fct_inventory_daily') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

final as (

    select
        inventory.snapshot_date,
        {{ month_of('inventory.snapshot_date') }} as month,
        products.category,
        inventory.warehouse_id,
        count(*) as snapshot_rows,
        count(case when inventory.is_stockout then 1 end) as stockout_rows,
        cast(sum(inventory.on_hand_qty) as bigint) as on_hand_qty,
        coalesce(sum(inventory.on_hand_qty * products.unit_cost), 0) as stock_value
    from inventory
    inner join products
        on inventory.product_key = products.product_key
    group by 1, 2, 3, 4

)

select * from final
