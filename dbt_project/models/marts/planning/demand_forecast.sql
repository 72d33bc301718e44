{#
    Every model's daily forecast (and 80% interval) for each series (sku and warehouse), from the
    latest forecasting run that covered the series (int_forecast_latest_runs): all the models the
    run fitted, with is_selected marking the one its backtest selected (the one replenishment uses).
    Rows of earlier runs are not shown here; they stay in forecast.forecasts. Keys are resolved as
    the facts resolve them: the '-1' member for a sku or warehouse the masters do not (yet) hold.
#}
with

forecasts as not materialized (

    select * from {{ source('forecast', 'forecasts') }}

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

latest_forecasts as (

    select
        forecasts.*,
        latest_runs.demand_class
    from forecasts
    inner join latest_runs
        on forecasts.run_id = latest_runs.run_id
        and forecasts.sku = latest_runs.sku
        and forecasts.warehouse_id = latest_runs.warehouse_id

),

keyed as (

    {{ with_member_keys('latest_forecasts') }}

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
        keyed.forecast_date,
        keyed.model,
        keyed.yhat,
        keyed.yhat_lower,
        keyed.yhat_upper,
        keyed.is_selected,
        keyed.demand_class
    from keyed
    inner join products
        on keyed.product_key = products.product_key

)

select * from final
