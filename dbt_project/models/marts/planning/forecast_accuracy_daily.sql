{#
    Backtest forecasts beside what happened, per series (sku and warehouse), backtest cut-off and
    forecast day: the selected model's and seasonal naive's forecasts (the FVA reference) from
    forecast.backtest_forecasts of the latest run that covered the series (int_forecast_latest_runs,
    the run demand_forecast and forecast_accuracy show). The accuracy marts aggregate these rows.

    A day is scored when its actual is known (not censored) and both forecasts exist: the errors are
    null on the other days, so sums of the error columns over any set of days compare both models on
    the same days. A series whose selected model is seasonal naive has one set of rows: both forecasts
    are that model's.
#}
with

backtest_forecasts as not materialized (

    select * from {{ source('forecast', 'backtest_forecasts') }}

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

latest_backtest as (

    select
        backtest_forecasts.run_id,
        backtest_forecasts.cutoff_date,
        backtest_forecasts.sku,
        backtest_forecasts.warehouse_id,
        latest_runs.selected_model,
        latest_runs.demand_class,
        backtest_forecasts.backtest_cutoff,
        backtest_forecasts.forecast_date,
        max(backtest_forecasts.actual) as actual,
        max(case when backtest_forecasts.model = latest_runs.selected_model then backtest_forecasts.yhat end)
            as forecast,
        max(case when backtest_forecasts.model = 'seasonal_naive' then backtest_forecasts.yhat end)
            as seasonal_naive_forecast
    from backtest_forecasts
    inner join latest_runs
        on backtest_forecasts.run_id = latest_runs.run_id
        and backtest_forecasts.sku = latest_runs.sku
        and backtest_forecasts.warehouse_id = latest_runs.warehouse_id
    where backtest_forecasts.model in (latest_runs.selected_model, 'seasonal_naive')
    group by 1, 2, 3, 4, 5, 6, 7, 8

),

member_keyed as (

    {{ with_member_keys('latest_backtest') }}

),

keyed as (

    select
        member_keyed.*,
        member_keyed.actual is not null
            and member_keyed.forecast is not null
            and member_keyed.seasonal_naive_forecast is not null as is_scored
    from member_keyed

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
        keyed.demand_class,
        keyed.selected_model,
        keyed.backtest_cutoff,
        keyed.forecast_date,
        {{ whole_days('keyed.backtest_cutoff', 'keyed.forecast_date') }} as horizon_day,
        keyed.is_scored,
        keyed.actual,
        keyed.forecast,
        keyed.seasonal_naive_forecast,
        case when keyed.is_scored then keyed.forecast - keyed.actual end as error,
        case when keyed.is_scored then abs(keyed.forecast - keyed.actual) end as abs_error,
        case when keyed.is_scored then abs(keyed.seasonal_naive_forecast - keyed.actual) end
            as seasonal_naive_abs_error
    from keyed
    inner join products
        on keyed.product_key = products.product_key
    inner join warehouses
        on keyed.warehouse_key = warehouses.warehouse_key

)

select * from final
