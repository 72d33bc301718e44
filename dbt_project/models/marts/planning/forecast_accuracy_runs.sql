{#
    Backtest WAPE of the selected models of each forecasting run (every run in the forecast schema, not
    only the latest per series), over that run's own backtest forecasts and its model_selection: how
    the forecast's accuracy moved from run to run. A day is scored as in forecast_accuracy_daily (the
    actual is known and both the selected model's and seasonal naive's forecasts exist);
    wape = wape_numerator / wape_denominator = Σ |forecast - actual| / Σ actual, null when the
    denominator is 0. A run for some categories (scope) scores only their series.
#}
with

runs as (

    select * from {{ source('forecast', 'runs') }}

),

model_selection as (

    select * from {{ source('forecast', 'model_selection') }}

),

backtest_forecasts as (

    select * from {{ source('forecast', 'backtest_forecasts') }}

),

selected_days as (

    select
        backtest_forecasts.run_id,
        backtest_forecasts.sku,
        backtest_forecasts.warehouse_id,
        backtest_forecasts.backtest_cutoff,
        backtest_forecasts.forecast_date,
        max(backtest_forecasts.actual) as actual,
        max(case when backtest_forecasts.model = model_selection.model then backtest_forecasts.yhat end)
            as forecast,
        max(case when backtest_forecasts.model = 'seasonal_naive' then backtest_forecasts.yhat end)
            as seasonal_naive_forecast
    from backtest_forecasts
    inner join model_selection
        on backtest_forecasts.run_id = model_selection.run_id
        and backtest_forecasts.sku = model_selection.sku
        and backtest_forecasts.warehouse_id = model_selection.warehouse_id
    where backtest_forecasts.model in (model_selection.model, 'seasonal_naive')
    group by 1, 2, 3, 4, 5

),

run_sums as (

    select
        run_id,
        count(distinct sku || '|' || warehouse_id) as n_series,
        count(*) as days_scored,
        sum(abs(forecast - actual)) as wape_numerator,
        sum(actual) as wape_denominator
    from selected_days
    where actual is not null
        and forecast is not null
        and seasonal_naive_forecast is not null
    group by 1

),

final as (

    select
        runs.run_id,
        runs.created_at,
        runs.cutoff_date,
        runs.scope,
        coalesce(run_sums.n_series, 0) as n_series,
        coalesce(run_sums.days_scored, 0) as days_scored,
        coalesce(run_sums.wape_numerator, 0) as wape_numerator,
        coalesce(run_sums.wape_denominator, 0) as wape_denominator,
        case when run_sums.wape_denominator > 0 then run_sums.wape_numerator / run_sums.wape_denominator end as wape
    from runs
    left join run_sums
        on runs.run_id = run_sums.run_id

)

select * from final
