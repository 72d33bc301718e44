{#
    Backtest accuracy (kpi-definitions.md, Plan: WAPE, bias, MASE, forecast value added) per series
    (sku and warehouse) and model, from the same run demand_forecast shows: the latest forecasting run
    that covered the series (int_forecast_latest_runs). is_selected marks the model that run's
    model_selection row names. error_sd (the daily backtest error's sample standard deviation) is
    replenishment's sigma_d; recent_wape (the last cut-off alone) flags a forecast error jump. The
    series' demand class and the reason for its model come from its model_selection row.
#}
with

backtest_metrics as not materialized (

    select * from {{ source('forecast', 'backtest_metrics') }}

),

latest_runs as not materialized (

    select * from {{ ref('int_forecast_latest_runs') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

warehouses as not materialized (

    select * from {{ ref('dim_warehouse') }}

),

latest_metrics as (

    select
        backtest_metrics.*,
        backtest_metrics.model = latest_runs.selected_model as is_selected,
        latest_runs.demand_class,
        latest_runs.selection_reason
    from backtest_metrics
    inner join latest_runs
        on backtest_metrics.run_id = latest_runs.run_id
        and backtest_metrics.sku = latest_runs.sku
        and backtest_metrics.warehouse_id = latest_runs.warehouse_id

),

keyed as (

    {{ with_member_keys('latest_metrics') }}

),

final as (

    select
        keyed.run_id,
        keyed.cutoff_date,
        keyed.product_key,
        keyed.warehouse_key,
        keyed.sku,
        keyed.warehouse_id,
        products.category,
        warehouses.warehouse_name,
        keyed.model,
        keyed.is_selected,
        keyed.wape,
        keyed.bias,
        keyed.mase,
        keyed.fva,
        keyed.n_cutoffs,
        keyed.actual_total,
        keyed.error_sd,
        keyed.recent_wape,
        keyed.rmsse,
        keyed.lead_time_error,
        keyed.demand_class,
        keyed.selection_reason
    from keyed
    inner join products
        on keyed.product_key = products.product_key
    inner join warehouses
        on keyed.warehouse_key = warehouses.warehouse_key

)

select * from final
