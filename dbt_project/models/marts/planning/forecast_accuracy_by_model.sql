{#
    Backtest accuracy of every model and of each series' selected one (model 'selected') by product
    category and warehouse, with 'all' in category, warehouse_id or both for the totals, over each
    series' latest forecasting run (int_forecast_latest_runs, the run the other planning marts show).
    A WAPE, bias or forecast value added over many series is a sum over their backtest days divided by
    the summed actuals (kpi-definitions.md, Plan), never a mean of the series' ratios:

    - 'selected': the scored days of forecast_accuracy_daily, so its sums are forecast_accuracy_rollup's
      summed over runs: wape_numerator = Σ |forecast - actual|, wape_denominator = Σ actual,
      bias_numerator = Σ (forecast - actual), seasonal_naive_wape_numerator = Σ |seasonal naive - actual|
      on the same days;
    - every model: the backtest only keeps the daily forecasts of the selected model and seasonal naive,
      so a model's sums come from its per-series metrics (forecast_accuracy), the series' own sums
      recovered from them: wape x actual_total = Σ |forecast - actual|, bias x actual_total, and
      (wape + fva) x actual_total = seasonal naive's Σ |error| (no value added where fva is missing).
      Series without a WAPE (no demand in the backtest) have no errors to weigh and are left out;
    - wape = wape_numerator / wape_denominator, bias = bias_numerator / wape_denominator,
      forecast_value_added = (seasonal_naive_wape_numerator - wape_numerator) / wape_denominator,
      each null when the denominator is 0.

    A dashboard reads the one row of its selection and model.
#}
with

accuracy as not materialized (

    select * from {{ ref('forecast_accuracy') }}

),

daily as not materialized (

    select * from {{ ref('forecast_accuracy_daily') }}

),

model_series as (

    select
        sku,
        warehouse_id,
        category,
        model,
        actual_total as wape_denominator,
        wape * actual_total as wape_numerator,
        bias * actual_total as bias_numerator,
        (wape + coalesce(fva, 0)) * actual_total as seasonal_naive_wape_numerator
    from accuracy
    where wape is not null

),

selected_series as (

    select
        sku,
        warehouse_id,
        category,
        'selected' as model,
        sum(actual) as wape_denominator,
        sum(abs_error) as wape_numerator,
        sum(error) as bias_numerator,
        sum(seasonal_naive_abs_error) as seasonal_naive_wape_numerator
    from daily
    where is_scored
    group by 1, 2, 3, 4

),

series as (

    select * from model_series
    union all
    select * from selected_series

),

levels as (

    select *
    from (values (false, false), (false, true), (true, false), (true, true)) as levels (all_categories, all_warehouses)

),

rolled_up as (

    select
        case when levels.all_categories then 'all' else series.category end as category,
        case when levels.all_warehouses then 'all' else series.warehouse_id end as warehouse_id,
        series.model,
        count(*) as n_series,
        sum(series.wape_numerator) as wape_numerator,
        sum(series.wape_denominator) as wape_denominator,
        sum(series.bias_numerator) as bias_numerator,
        sum(series.seasonal_naive_wape_numerator) as seasonal_naive_wape_numerator
    from series
    cross join levels
    group by 1, 2, 3

),

final as (

    select
        category,
        warehouse_id,
        model,
        n_series,
        wape_numerator,
        wape_denominator,
        bias_numerator,
        seasonal_naive_wape_numerator,
        case when wape_denominator > 0 then wape_numerator / wape_denominator end as wape,
        case when wape_denominator > 0 then bias_numerator / wape_denominator end as bias,
        case when wape_denominator > 0 then seasonal_naive_wape_numerator / wape_denominator end
            as seasonal_naive_wape,
        case
            when wape_denominator > 0 then (seasonal_naive_wape_numerator - wape_numerator) / wape_denominator
        end as forecast_value_added
    from rolled_up

)

select * from final
