{#
    Backtest WAPE of the selected models of each forecasting run (every run in the forecast schema, not
    only the latest per series): how the forecast's accuracy moved from run to run. From each run's
    model_selection and backtest_metrics, one row per series and model, so that the history stays cheap
    as runs accumulate (and covers runs written before backtest forecasts were kept). A series' own sums
    are recovered from its metrics as in forecast_accuracy_by_model: wape x actual_total =
    Σ |forecast - actual|; series without a WAPE (no demand in the backtest) are left out.
    wape = wape_numerator / wape_denominator, null when the denominator is 0. A run for some categories
    (scope) scores only their series.
#}
with

runs as not materialized (

    select * from {{ source('forecast', 'runs') }}

),

model_selection as not materialized (

    select * from {{ source('forecast', 'model_selection') }}

),

backtest_metrics as not materialized (

    select * from {{ source('forecast', 'backtest_metrics') }}

),

run_sums as (

    select
        backtest_metrics.run_id,
        count(*) as n_series,
        sum(backtest_metrics.wape * backtest_metrics.actual_total) as wape_numerator,
        sum(backtest_metrics.actual_total) as wape_denominator
    from backtest_metrics
    inner join model_selection
        on backtest_metrics.run_id = model_selection.run_id
        and backtest_metrics.sku = model_selection.sku
        and backtest_metrics.warehouse_id = model_selection.warehouse_id
        and backtest_metrics.model = model_selection.model
    where backtest_metrics.wape is not null
    group by 1

),

final as (

    select
        runs.run_id,
        runs.created_at,
        runs.cutoff_date,
        runs.scope,
        coalesce(run_sums.n_series, 0) as n_series,
        coalesce(run_sums.wape_numerator, 0) as wape_numerator,
        coalesce(run_sums.wape_denominator, 0) as wape_denominator,
        case when run_sums.wape_denominator > 0 then run_sums.wape_numerator / run_sums.wape_denominator end as wape
    from runs
    left join run_sums
        on runs.run_id = run_sums.run_id

)

select * from final
