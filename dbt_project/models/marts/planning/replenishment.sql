{#
    Replenishment per sku and warehouse on the as-of date (kpi-definitions.md, Plan), one row per row
    of kpi_inventory_position (the latest snapshot on or before the as-of date):

    - z = Φ⁻¹(s), s = var `service_level` (macro normal_quantile).
    - The forecast: the selected model's rows of the latest run that covered the series
      (demand_forecast where is_selected), forecast days after the as-of date only (forecast day
      n = as_of + n; the run's cut-off is the as-of date in the normal case).
    - L̄, σ_L and L = least(greatest(ceil(L̄), 1), 28): int_product_lead_times (the primary
      supplier's received PO lines of the last 365 days, else its contracted lead time and 0). No
      primary supplier: null, and so is everything computed from the lead time.
    - d̄: mean selected yhat over forecast days 1 .. max(1, ceil(L̄)), those of them the forecast has;
      0 without a forecast.
    - σ_d: the selected model's backtest error_sd in that run; else the run's demand_sd (observed
      daily demand, last 90 days); else 0.
    - safety stock, method `lead_time_quantile` where the run has forecast.lead_time_errors for the
      series' demand class at lead_days = L and probability = round(s, 2): D_L = Σ selected yhat over
      forecast days 1 .. L (those the forecast has); q_L = D_L + relative_error × max(D_L,
      level_floor × L); demand_term = max(q_L - D_L, 0), × sqrt(max(L̄, 1) / L) when L̄ > 28 (the
      quantile of 28 days stretched to the lead time as a random walk would); safety_stock =
      sqrt(demand_term² + (z × d̄ × σ_L)²). Otherwise, method `normal`: z × sqrt(L̄ × σ_d² + d̄² × σ_L²).
    - reorder_point = d̄ × L̄ + safety_stock.
    - Open PO lines: current PO lines with status 'open' ordered on or before the as-of date, open
      quantity = quantity_ordered - coalesce(quantity_received, 0), for the sku at the warehouse.
    - inventory_position = on_hand_qty - reserved_qty + open PO quantity.
    - forecast_review_period_demand = Σ selected yhat over forecast days 1 .. var `review_period_days`;
      order_need_qty = max(0, reorder_point + that - inventory_position), in fractional units.
    - recommended_order_qty: the need as a buyer can place it (macro order_quantity): 0 when the need is
      0, else ceil to whole units, then greatest(.., min_order_qty), then up to a multiple of
      order_multiple (dim_product: 1 and 0 when the product feed gives none); recommended_order_value =
      that × unit_cost.
    - last_seen_date: the snapshot_date of the position's latest snapshot; is_stale as
      kpi_inventory_position has it (more than var `stale_position_days` days before the as-of date). A
      stale position's stock is not known today, so it gets no projected stockout (its last-seen stock is
      not run down by the forecast): projected_stockout_date and days_until_stockout are null. Its
      recommendation is still worked out from the last-seen stock, and is_stale marks it for a count
      before the order is placed.
    - projected_stockout_date: the first forecast day d on which on_hand_qty - Σ yhat (days 1 .. d) +
      Σ open quantity of open PO lines promised on or before d (already overdue ones from day 1) < 0;
      null when that does not happen within the forecast, and for a stale position.
#}
{%- set service_level = var('service_level') -%}
{%- set review_period_days = var('review_period_days') -%}

with

positions as (

    select * from {{ ref('kpi_inventory_position') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

lead_times as (

    select * from {{ ref('int_product_lead_times') }}

),

po_lines as (

    select * from {{ ref('fct_purchase_order_lines') }}

),

forecasts as (

    select * from {{ ref('demand_forecast') }}

),

accuracy as (

    select * from {{ ref('forecast_accuracy') }}

),

latest_runs as (

    select * from {{ ref('int_forecast_latest_runs') }}

),

lead_time_errors as (

    select * from {{ source('forecast', 'lead_time_errors') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

settings as (

    select
        cast({{ service_level }} as double precision) as service_level,
        {{ normal_quantile(service_level) }} as z,
        cast({{ review_period_days }} as integer) as review_period_days

),

open_po_lines as (

    select
        po_lines.sku,
        po_lines.warehouse_id,
        po_lines.promised_date,
        po_lines.quantity_ordered - coalesce(po_lines.quantity_received, 0) as open_qty
    from po_lines
    cross join as_of
    where po_lines.status = 'open'
        and po_lines.order_date <= as_of.as_of_date

),

open_po as (

    select
        sku,
        warehouse_id,
        cast(sum(open_qty) as bigint) as open_po_qty
    from open_po_lines
    group by 1, 2

),

selected_forecast as (

    select
        forecasts.sku,
        forecasts.warehouse_id,
        forecasts.forecast_date,
        {{ whole_days('as_of.as_of_date', 'forecasts.forecast_date') }} as forecast_day,
        forecasts.yhat
    from forecasts
    cross join as_of
    where forecasts.is_selected
        and forecasts.forecast_date > as_of.as_of_date

),

series as (

    select
        positions.sku,
        positions.warehouse_id,
        positions.product_key,
        positions.warehouse_key,
        positions.product_name,
        positions.category,
        positions.warehouse_name,
        positions.as_of_date,
        positions.snapshot_date as last_seen_date,
        positions.is_stale,
        positions.on_hand_qty,
        positions.reserved_qty,
        positions.unit_cost,
        coalesce(products.order_multiple, 1) as order_multiple,
        coalesce(products.min_order_qty, 0) as min_order_qty,
        latest_runs.run_id as forecast_run_id,
        latest_runs.cutoff_date as forecast_cutoff_date,
        latest_runs.selected_model,
        latest_runs.demand_class,
        case
            when selected_accuracy.error_sd is not null then selected_accuracy.error_sd
            when latest_runs.demand_sd is not null then latest_runs.demand_sd
            else 0
        end as demand_sd,
        case
            when selected_accuracy.error_sd is not null then 'backtest'
            when latest_runs.demand_sd is not null then 'recent_demand'
            else 'none'
        end as demand_sd_source,
        lead_times.primary_supplier_id,
        lead_times.lead_time_days,
        lead_times.lead_time_sd,
        lead_times.lead_time_source,
        lead_times.lead_days,
        greatest(1, cast(ceil(lead_times.lead_time_days) as integer)) as lead_time_forecast_days,
        coalesce(open_po.open_po_qty, 0) as open_po_qty
    from positions
    left join products
        on positions.product_key = products.product_key
    left join lead_times
        on positions.product_key = lead_times.product_key
    left join latest_runs
        on positions.sku = latest_runs.sku
        and positions.warehouse_id = latest_runs.warehouse_id
    left join accuracy as selected_accuracy
        on positions.sku = selected_accuracy.sku
        and positions.warehouse_id = selected_accuracy.warehouse_id
        and selected_accuracy.is_selected
    left join open_po
        on positions.sku = open_po.sku
        and positions.warehouse_id = open_po.warehouse_id

),

series_forecast as (

    select
        series.sku,
        series.warehouse_id,
        count(*) as forecast_days,
        avg(case when selected_forecast.forecast_day <= series.lead_time_forecast_days then selected_forecast.yhat end)
            as lead_time_avg_daily_forecast,
        sum(case when selected_forecast.forecast_day <= series.lead_days then selected_forecast.yhat end)
            as lead_days_demand,
        sum(case when selected_forecast.forecast_day <= settings.review_period_days then selected_forecast.yhat end)
            as review_period_demand
    from series
    inner join selected_forecast
        on series.sku = selected_forecast.sku
        and series.warehouse_id = selected_forecast.warehouse_id
    cross join settings
    group by 1, 2

),

cumulative_forecast as (

    select
        sku,
        warehouse_id,
        forecast_date,
        sum(yhat) over (
            partition by sku, warehouse_id
            order by forecast_date
            rows between unbounded preceding and current row
        ) as cumulative_yhat
    from selected_forecast

),

projected_stock as (

    select
        cumulative_forecast.sku,
        cumulative_forecast.warehouse_id,
        cumulative_forecast.forecast_date,
        series.on_hand_qty
            - cumulative_forecast.cumulative_yhat
            + coalesce(sum(open_po_lines.open_qty), 0) as projected_on_hand
    from cumulative_forecast
    inner join series
        on cumulative_forecast.sku = series.sku
        and cumulative_forecast.warehouse_id = series.warehouse_id
    left join open_po_lines
        on cumulative_forecast.sku = open_po_lines.sku
        and cumulative_forecast.warehouse_id = open_po_lines.warehouse_id
        and open_po_lines.promised_date <= cumulative_forecast.forecast_date
    group by 1, 2, 3, series.on_hand_qty, cumulative_forecast.cumulative_yhat

),

stockouts as (

    select
        sku,
        warehouse_id,
        min(forecast_date) as projected_stockout_date
    from projected_stock
    where projected_on_hand < 0
    group by 1, 2

),

joined as (

    select
        series.*,
        settings.service_level,
        settings.z,
        settings.review_period_days,
        coalesce(series_forecast.forecast_days, 0) > 0 as has_forecast,
        case
            when series.lead_time_days is not null
                then coalesce(series_forecast.lead_time_avg_daily_forecast, 0)
        end as avg_daily_forecast,
        coalesce(series_forecast.review_period_demand, 0) as forecast_review_period_demand,
        case
            when series.lead_days is not null then coalesce(series_forecast.lead_days_demand, 0)
        end as lead_time_demand,
        series_lead_time_errors.relative_error as lead_time_relative_error,
        series_lead_time_errors.level_floor as lead_time_level_floor,
        series.on_hand_qty - series.reserved_qty + series.open_po_qty as inventory_position,
        case when series.is_stale then null else stockouts.projected_stockout_date end as projected_stockout_date
    from series
    cross join settings
    left join series_forecast
        on series.sku = series_forecast.sku
        and series.warehouse_id = series_forecast.warehouse_id
    left join stockouts
        on series.sku = stockouts.sku
        and series.warehouse_id = stockouts.warehouse_id
    left join lead_time_errors as series_lead_time_errors
        on series.forecast_run_id = series_lead_time_errors.run_id
        and series.demand_class = series_lead_time_errors.demand_class
        and series.lead_days = series_lead_time_errors.lead_days
        and round(series_lead_time_errors.probability, 2) = round(settings.service_level, 2)

),

with_demand_term as (

    select
        *,
        case
            when lead_time_relative_error is not null
                then greatest(
                    lead_time_relative_error * greatest(lead_time_demand, lead_time_level_floor * lead_days), 0
                ) * case
                    when lead_time_days > {{ var('lead_time_error_max_days') }}
                        then sqrt(greatest(lead_time_days, 1) / lead_days)
                    else 1
                end
        end as lead_time_demand_term
    from joined

),

with_safety_stock as (

    select
        *,
        case
            when lead_time_demand_term is not null
                then sqrt(
                    lead_time_demand_term * lead_time_demand_term
                    + z * z * avg_daily_forecast * avg_daily_forecast * lead_time_sd * lead_time_sd
                )
            else z * sqrt(
                lead_time_days * demand_sd * demand_sd
                + avg_daily_forecast * avg_daily_forecast * lead_time_sd * lead_time_sd
            )
        end as safety_stock,
        case
            when lead_time_demand_term is not null then 'lead_time_quantile'
            when lead_time_days is not null then 'normal'
        end as safety_stock_method
    from with_demand_term

),

with_reorder_point as (

    select
        *,
        avg_daily_forecast * lead_time_days + safety_stock as reorder_point
    from with_safety_stock

),

with_order as (

    select
        *,
        case
            when reorder_point is not null
                then greatest(0, reorder_point + forecast_review_period_demand - inventory_position)
        end as order_need_qty
    from with_reorder_point

),

with_rounded_order as (

    select
        *,
        {{ order_quantity('order_need_qty', 'min_order_qty', 'order_multiple') }} as recommended_order_qty
    from with_order

),

final as (

    select
        sku,
        warehouse_id,
        product_key,
        warehouse_key,
        product_name,
        category,
        warehouse_name,
        as_of_date,
        last_seen_date,
        is_stale,
        forecast_run_id,
        forecast_cutoff_date,
        selected_model,
        demand_class,
        has_forecast,
        service_level,
        z,
        avg_daily_forecast,
        demand_sd,
        demand_sd_source,
        primary_supplier_id,
        lead_time_days,
        lead_time_sd,
        lead_time_source,
        lead_days,
        lead_time_demand,
        lead_time_relative_error,
        lead_time_level_floor,
        lead_time_demand_term,
        safety_stock_method,
        safety_stock,
        reorder_point,
        on_hand_qty,
        reserved_qty,
        open_po_qty,
        inventory_position,
        review_period_days,
        forecast_review_period_demand,
        order_need_qty,
        order_multiple,
        min_order_qty,
        recommended_order_qty,
        unit_cost,
        recommended_order_qty * cast(unit_cost as double precision) as recommended_order_value,
        projected_stockout_date,
        {{ whole_days('as_of_date', 'projected_stockout_date') }} as days_until_stockout
    from with_rounded_order

)

select * from final
