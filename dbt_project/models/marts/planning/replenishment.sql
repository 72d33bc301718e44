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
    - MRP (kpi-definitions.md, Planning): a leaf component of a bill of materials (bridge_bom_exploded)
      also has dependent demand at the warehouse, from every parent (finished product or
      sub-assembly) with a forecast there: its daily forecast x planning_quantity_per (quantity_per /
      (1 - scrap_allowance) along the path). d̄ = the own mean above (its own orders, where it is also
      sold) + Σ over parents of the parent's mean over the same days 1 .. max(1, ceil(L̄)) (the
      component's lead time) x planning_quantity_per. The dependent daily demand adds to the own
      forecast day by day in every sum below (lead-time demand, review period, stockout projection).
      Its σ_d: sqrt(own σ_d² + Σ (planning_quantity_per x the parent's σ_d)²), the parents' errors
      taken as independent; a sku with no parent keeps its own σ_d as is. A component with dependent
      demand takes the normal safety stock: its own class' lead-time quantiles do not measure its
      parents' errors.
    - safety stock, method `lead_time_quantile` where the run has forecast.lead_time_errors for the
      series' demand class at lead_days = L and probability = round(s, 2): D_L = Σ selected yhat over
      forecast days 1 .. L (those the forecast has); q_L = D_L + relative_error × max(D_L,
      level_floor × L); demand_term = max(q_L - D_L, 0), × sqrt(max(L̄, 1) / L) when L̄ > 28 (the
      quantile of 28 days stretched to the lead time as a random walk would); safety_stock =
      sqrt(demand_term² + (z × d̄ × σ_L)²). Otherwise, method `normal`: z × sqrt(L̄ × σ_d² + d̄² × σ_L²).
    - reorder_point = d̄ × L̄ + safety_stock.
    - Open PO lines: current PO lines with status 'open' ordered on or before the as-of date, open
      quantity = quantity_ordered - coalesce(quantity_received, 0), for the sku at the warehouse.
    - inventory_position = on_hand_qty - reserved_qty + open PO quantity - work_order_reserved_qty (what
      open work orders not yet started reserve of a component: int_work_order_reservations; 0 for other skus).
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

positions as not materialized (

    select * from {{ ref('kpi_inventory_position') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

lead_times as not materialized (

    select * from {{ ref('int_product_lead_times') }}

),

po_lines as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

forecasts as not materialized (

    select * from {{ ref('demand_forecast') }}

),

accuracy as not materialized (

    select * from {{ ref('forecast_accuracy') }}

),

latest_runs as not materialized (

    select * from {{ ref('int_forecast_latest_runs') }}

),

lead_time_errors as not materialized (

    select * from {{ source('forecast', 'lead_time_errors') }}

),

bom as not materialized (

    select * from {{ ref('bridge_bom_exploded') }}

),

reservations as not materialized (

    select * from {{ ref('int_work_order_reservations') }}

),

as_of as not materialized (

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

series_demand_sd as (

    select
        series_keys.sku,
        series_keys.warehouse_id,
        case
            when selected_accuracy.error_sd is not null then selected_accuracy.error_sd
            when latest_runs.demand_sd is not null then latest_runs.demand_sd
            else 0
        end as demand_sd,
        case
            when selected_accuracy.error_sd is not null then 'backtest'
            when latest_runs.demand_sd is not null then 'recent_demand'
            else 'none'
        end as demand_sd_source
    from (
        select sku, warehouse_id from latest_runs
        union
        select sku, warehouse_id from accuracy where is_selected
    ) as series_keys
    left join latest_runs
        on series_keys.sku = latest_runs.sku
        and series_keys.warehouse_id = latest_runs.warehouse_id
    left join accuracy as selected_accuracy
        on series_keys.sku = selected_accuracy.sku
        and series_keys.warehouse_id = selected_accuracy.warehouse_id
        and selected_accuracy.is_selected

),

dependent_forecast as (

    select
        bom.component_sku as sku,
        selected_forecast.warehouse_id,
        bom.parent_sku,
        selected_forecast.forecast_date,
        selected_forecast.forecast_day,
        selected_forecast.yhat * bom.planning_quantity_per as yhat
    from selected_forecast
    inner join bom
        on selected_forecast.sku = bom.parent_sku

),

dependent_demand_sd as (

    select
        bom.component_sku as sku,
        parent_sd.warehouse_id,
        sum(
            bom.planning_quantity_per * parent_sd.demand_sd * bom.planning_quantity_per * parent_sd.demand_sd
        ) as dependent_demand_variance
    from bom
    inner join series_demand_sd as parent_sd
        on bom.parent_sku = parent_sd.sku
    group by 1, 2

),

demand_days as (

    select
        sku,
        warehouse_id,
        forecast_date,
        forecast_day,
        sum(yhat) as yhat,
        sum(case when is_own then yhat end) as own_yhat
    from (
        select sku, warehouse_id, forecast_date, forecast_day, yhat, true as is_own
        from selected_forecast
        union all
        select sku, warehouse_id, forecast_date, forecast_day, yhat, false as is_own
        from dependent_forecast
    ) as own_and_dependent
    group by 1, 2, 3, 4

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
            when dependent_demand_sd.sku is not null
                then sqrt(
                    coalesce(series_demand_sd.demand_sd, 0) * coalesce(series_demand_sd.demand_sd, 0)
                    + dependent_demand_sd.dependent_demand_variance
                )
            else coalesce(series_demand_sd.demand_sd, 0)
        end as demand_sd,
        case
            when dependent_demand_sd.sku is not null then 'dependent'
            else coalesce(series_demand_sd.demand_sd_source, 'none')
        end as demand_sd_source,
        positions.sku in (select component_sku from bom) as is_component,
        lead_times.primary_supplier_id,
        lead_times.lead_time_days,
        lead_times.lead_time_sd,
        lead_times.lead_time_source,
        lead_times.lead_days,
        greatest(1, cast(ceil(lead_times.lead_time_days) as integer)) as lead_time_forecast_days,
        coalesce(open_po.open_po_qty, 0) as open_po_qty,
        coalesce(reservations.work_order_reserved_qty, 0) as work_order_reserved_qty
    from positions
    left join products
        on positions.product_key = products.product_key
    left join lead_times
        on positions.product_key = lead_times.product_key
    left join latest_runs
        on positions.sku = latest_runs.sku
        and positions.warehouse_id = latest_runs.warehouse_id
    left join series_demand_sd
        on positions.sku = series_demand_sd.sku
        and positions.warehouse_id = series_demand_sd.warehouse_id
    left join dependent_demand_sd
        on positions.sku = dependent_demand_sd.sku
        and positions.warehouse_id = dependent_demand_sd.warehouse_id
    left join open_po
        on positions.sku = open_po.sku
        and positions.warehouse_id = open_po.warehouse_id
    left join reservations
        on positions.sku = reservations.sku
        and positions.warehouse_id = reservations.warehouse_id

),

series_forecast as (

    select
        series.sku,
        series.warehouse_id,
        count(*) as forecast_days,
        avg(case when demand_days.forecast_day <= series.lead_time_forecast_days then demand_days.own_yhat end)
            as lead_time_avg_daily_forecast,
        sum(case when demand_days.forecast_day <= series.lead_days then demand_days.yhat end)
            as lead_days_demand,
        sum(case when demand_days.forecast_day <= settings.review_period_days then demand_days.yhat end)
            as review_period_demand
    from series
    inner join demand_days
        on series.sku = demand_days.sku
        and series.warehouse_id = demand_days.warehouse_id
    cross join settings
    group by 1, 2

),

parent_lead_time_forecast as (

    select
        series.sku,
        series.warehouse_id,
        dependent_forecast.parent_sku,
        avg(dependent_forecast.yhat) as parent_avg_daily_demand
    from series
    inner join dependent_forecast
        on series.sku = dependent_forecast.sku
        and series.warehouse_id = dependent_forecast.warehouse_id
    where dependent_forecast.forecast_day <= series.lead_time_forecast_days
    group by 1, 2, 3

),

dependent_lead_time_forecast as (

    select
        sku,
        warehouse_id,
        sum(parent_avg_daily_demand) as dependent_avg_daily_forecast
    from parent_lead_time_forecast
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
    from demand_days

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
            when series.lead_time_days is not null and dependent_lead_time_forecast.sku is not null
                then coalesce(series_forecast.lead_time_avg_daily_forecast, 0)
                    + dependent_lead_time_forecast.dependent_avg_daily_forecast
            when series.lead_time_days is not null
                then coalesce(series_forecast.lead_time_avg_daily_forecast, 0)
        end as avg_daily_forecast,
        coalesce(series_forecast.lead_time_avg_daily_forecast, 0) as own_avg_daily_forecast,
        coalesce(dependent_lead_time_forecast.dependent_avg_daily_forecast, 0) as dependent_avg_daily_forecast,
        coalesce(series_forecast.review_period_demand, 0) as forecast_review_period_demand,
        case
            when series.lead_days is not null then coalesce(series_forecast.lead_days_demand, 0)
        end as lead_time_demand,
        series_lead_time_errors.relative_error as lead_time_relative_error,
        series_lead_time_errors.level_floor as lead_time_level_floor,
        series.on_hand_qty - series.reserved_qty + series.open_po_qty - series.work_order_reserved_qty
            as inventory_position,
        case when series.is_stale then null else stockouts.projected_stockout_date end as projected_stockout_date
    from series
    cross join settings
    left join series_forecast
        on series.sku = series_forecast.sku
        and series.warehouse_id = series_forecast.warehouse_id
    left join stockouts
        on series.sku = stockouts.sku
        and series.warehouse_id = stockouts.warehouse_id
    left join dependent_lead_time_forecast
        on series.sku = dependent_lead_time_forecast.sku
        and series.warehouse_id = dependent_lead_time_forecast.warehouse_id
    left join lead_time_errors as series_lead_time_errors
        on dependent_lead_time_forecast.sku is null
        and series.forecast_run_id = series_lead_time_errors.run_id
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
        is_component,
        service_level,
        z,
        avg_daily_forecast,
        own_avg_daily_forecast,
        dependent_avg_daily_forecast,
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
        work_order_reserved_qty,
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
