{#
    Backtest accuracy of the selected forecasts at the levels people decide on: per forecasting run
    (each series from the latest run that covered it), product category and warehouse, with 'all' in
    category, warehouse_id or both for the totals (every series counts in four rows). From the scored
    days of forecast_accuracy_daily:

    - wape_numerator = Σ |forecast - actual|, wape_denominator = Σ actual; wape = their ratio (null
      when the denominator is 0); seasonal_naive_wape_numerator likewise for seasonal naive, on the
      same days;
    - forecast_value_added = seasonal_naive_wape - wape;
    - rmsse_sum, rmsse_series: Σ and count of the selected model's backtest RMSSE (forecast_accuracy);
      rmsse_mean = their ratio.

    Numerators and denominators are columns, so a dashboard filtering rows sums and divides them.
#}
with

daily as not materialized (

    select * from {{ ref('forecast_accuracy_daily') }}

),

accuracy as not materialized (

    select * from {{ ref('forecast_accuracy') }}

),

series_sums as (

    select
        run_id,
        cutoff_date,
        sku,
        warehouse_id,
        category,
        count(case when is_scored then 1 end) as days_scored,
        coalesce(sum(abs_error), 0) as wape_numerator,
        coalesce(sum(case when is_scored then actual end), 0) as wape_denominator,
        coalesce(sum(seasonal_naive_abs_error), 0) as seasonal_naive_wape_numerator
    from daily
    group by 1, 2, 3, 4, 5

),

series_scores as (

    select
        series_sums.*,
        selected_accuracy.rmsse
    from series_sums
    left join accuracy as selected_accuracy
        on series_sums.sku = selected_accuracy.sku
        and series_sums.warehouse_id = selected_accuracy.warehouse_id
        and selected_accuracy.is_selected

),

levels as (

    select *
    from (values (false, false), (false, true), (true, false), (true, true)) as levels (all_categories, all_warehouses)

),

rolled_up as (

    select
        series_scores.run_id,
        series_scores.cutoff_date,
        case when levels.all_categories then 'all' else series_scores.category end as category,
        case when levels.all_warehouses then 'all' else series_scores.warehouse_id end as warehouse_id,
        count(*) as n_series,
        cast(sum(series_scores.days_scored) as bigint) as days_scored,
        sum(series_scores.wape_numerator) as wape_numerator,
        sum(series_scores.wape_denominator) as wape_denominator,
        sum(series_scores.seasonal_naive_wape_numerator) as seasonal_naive_wape_numerator,
        coalesce(sum(series_scores.rmsse), 0) as rmsse_sum,
        count(series_scores.rmsse) as rmsse_series
    from series_scores
    cross join levels
    group by 1, 2, 3, 4

),

final as (

    select
        run_id,
        cutoff_date,
        category,
        warehouse_id,
        n_series,
        days_scored,
        wape_numerator,
        wape_denominator,
        seasonal_naive_wape_numerator,
        case when wape_denominator > 0 then wape_numerator / wape_denominator end as wape,
        case when wape_denominator > 0 then seasonal_naive_wape_numerator / wape_denominator end
            as seasonal_naive_wape,
        case
            when wape_denominator > 0 then (seasonal_naive_wape_numerator - wape_numerator) / wape_denominator
        end as forecast_value_added,
        rmsse_sum,
        rmsse_series,
        case when rmsse_series > 0 then rmsse_sum / rmsse_series end as rmsse_mean
    from rolled_up

)

select * from final
