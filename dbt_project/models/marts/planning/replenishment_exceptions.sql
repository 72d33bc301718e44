{#
    What a planner should look at, one row per sku, warehouse and exception (rows of replenishment):
    - stockout_within_lead_time: the projected stockout date is on or before as_of + ceil(L̄) (an order
      placed today would arrive too late); value = days until the stockout, threshold = ceil(L̄).
    - excess_stock: kpi_inventory_position's days_of_supply > var `excess_days_of_supply`, or no
      demand in the last 28 days (days_of_supply null) while stock is available; value = days of
      supply (null without demand), threshold = the var.
    - forecast_error_jump: the selected model's WAPE on the last backtest cut-off (recent_wape) is
      more than var `error_jump_ratio` times its backtest WAPE (which must be > 0); value =
      recent_wape, threshold = the ratio × wape.
#}
{%- set excess_days_of_supply = var('excess_days_of_supply') -%}
{%- set error_jump_ratio = var('error_jump_ratio') -%}

with

replenishment as not materialized (

    select * from {{ ref('replenishment') }}

),

positions as not materialized (

    select * from {{ ref('kpi_inventory_position') }}

),

accuracy as not materialized (

    select * from {{ ref('forecast_accuracy') }}

),

stockout_within_lead_time as (

    select
        sku,
        warehouse_id,
        category,
        warehouse_name,
        as_of_date,
        'stockout_within_lead_time' as exception_type,
        cast(days_until_stockout as double precision) as value,
        cast(ceil(lead_time_days) as double precision) as threshold,
        'projected stockout on ' || cast(projected_stockout_date as {{ dbt.type_string() }})
            || ', within the ' || cast(cast(ceil(lead_time_days) as integer) as {{ dbt.type_string() }})
            || '-day lead time' as detail
    from replenishment
    where days_until_stockout <= ceil(lead_time_days)

),

excess_stock as (

    select
        replenishment.sku,
        replenishment.warehouse_id,
        replenishment.category,
        replenishment.warehouse_name,
        replenishment.as_of_date,
        'excess_stock' as exception_type,
        positions.days_of_supply as value,
        cast({{ excess_days_of_supply }} as double precision) as threshold,
        case
            when positions.days_of_supply is null
                then cast(positions.available_qty as {{ dbt.type_string() }})
                    || ' units available and no demand in the last 28 days'
            else cast(round(positions.days_of_supply, 1) as {{ dbt.type_string() }})
                || ' days of supply, above ' || cast({{ excess_days_of_supply }} as {{ dbt.type_string() }})
        end as detail
    from replenishment
    inner join positions
        on replenishment.sku = positions.sku
        and replenishment.warehouse_id = positions.warehouse_id
    where positions.days_of_supply > {{ excess_days_of_supply }}
        or (positions.days_of_supply is null and positions.available_qty > 0)

),

forecast_error_jump as (

    select
        replenishment.sku,
        replenishment.warehouse_id,
        replenishment.category,
        replenishment.warehouse_name,
        replenishment.as_of_date,
        'forecast_error_jump' as exception_type,
        accuracy.recent_wape as value,
        {{ error_jump_ratio }} * accuracy.wape as threshold,
        'WAPE on the last backtest cut-off ' || cast(round(accuracy.recent_wape, 3) as {{ dbt.type_string() }})
            || ', over ' || cast({{ error_jump_ratio }} as {{ dbt.type_string() }})
            || ' x the backtest WAPE ' || cast(round(accuracy.wape, 3) as {{ dbt.type_string() }})
            || ' (' || accuracy.model || ')' as detail
    from replenishment
    inner join accuracy
        on replenishment.sku = accuracy.sku
        and replenishment.warehouse_id = accuracy.warehouse_id
        and accuracy.is_selected
    where accuracy.wape > 0
        and accuracy.recent_wape > {{ error_jump_ratio }} * accuracy.wape

),

final as (

    select * from stockout_within_lead_time
    union all
    select * from excess_stock
    union all
    select * from forecast_error_jump

)

select * from final
